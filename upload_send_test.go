package alipay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUploadBodyOfMeasuredFile: a path is opened once; the body, and the
// body net/http's GetBody rebuilds, are the bytes of the file that was
// measured and sniffed, even when the path names another file by then.
func TestUploadBodyOfMeasuredFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "login.png")
	require.NoError(t, os.WriteFile(path, upPNG, 0o600))
	other := bytes.Repeat([]byte{0x99}, len(upPNG)) // same size, other bytes
	s := newGatewaySigner(t)
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		swap := filepath.Join(dir, "swap.png")
		require.NoError(t, os.WriteFile(swap, other, 0o600))
		require.NoError(t, os.Rename(swap, path)) // the path now names another file
		require.NotNil(t, r.GetBody)
		again, err := r.GetBody()
		require.NoError(t, err)
		rebuilt, err := io.ReadAll(again)
		require.NoError(t, err)
		sent, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		assert.Equal(t, sent, rebuilt)
		assert.True(t, bytes.Contains(sent, upPNG), "the measured file's bytes")
		assert.False(t, bytes.Contains(sent, other))
		assert.Equal(t, r.ContentLength, int64(len(sent)))
		return httpmock.NewStringResponse(http.StatusOK, s.body(methodAppAPIFieldApply, upSuccess)), nil
	})
	_, err := c.upload(context.Background(), methodAppAPIFieldApply, []param{{"auth_field_apply", "{}"}},
		[]uploadFile{{"picture_1", FileFromPath(path), MaxFieldApplyFileSize}})
	require.NoError(t, err)
}

// TestUploadBodyShapes: one function renders every body: exact length and
// GetBody when every source can be read again, exact length without GetBody
// for a sized reader, chunked (-1) for a reader of unknown size; every body
// has the same framing.
func TestUploadBodyShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		file    File
		known   bool
		getBody bool
	}{
		{"bytes", FileFromBytes("a.png", upPNG), true, true},
		{"sized reader", FileFromReader("a.png", bytes.NewReader(upPNG), int64(len(upPNG))), true, false},
		{"unknown reader", FileFromReader("a.png", bytes.NewReader(upPNG), -1), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up, err := (&Client{}).openUpload(context.Background(), methodAppAPIFieldApply,
				[]uploadFile{{"picture_1", tc.file, MaxFieldApplyFileSize}})
			require.NoError(t, err)
			defer up.close()
			b, err := up.body([]param{{"auth_field_apply", "{}"}})
			require.NoError(t, err)
			raw, err := io.ReadAll(b.body)
			require.NoError(t, err)
			assert.Equal(t, tc.getBody, b.getBody != nil)
			if tc.known {
				assert.Equal(t, int64(len(raw)), b.length)
			} else {
				assert.Equal(t, int64(-1), b.length)
			}
			assert.True(t, bytes.Contains(raw, upPNG))
			assert.Contains(t, b.contentType, "multipart/form-data; boundary=")
		})
	}
}

// TestUploadStreamsWithoutBuffering sends a generated 64 MiB file, never held
// in memory, to a loopback server that discards it, and samples the heap
// (HeapInuse after runtime.GC) every 8 MiB while the body streams: the peak
// stays within 4 MiB of the heap before the call, and the bytes allocated
// during the whole call stay bounded too. Both body shapes are covered:
// exact length and unknown length (chunked).
func TestUploadStreamsWithoutBuffering(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB over loopback")
	}
	s := newGatewaySigner(t)
	answer := s.body(methodAppAPIFieldApply, upSuccess)
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		received.Store(n)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	c, err := NewClient(testAppID, append(baseOptions(t), WithGatewayURL(srv.URL), WithHTTPClient(srv.Client()))...)
	require.NoError(t, err)
	const size = 64 << 20
	for _, known := range []bool{true, false} {
		t.Run(fmt.Sprintf("known_size=%v", known), func(t *testing.T) {
			var peak uint64
			var samples int
			var ms runtime.MemStats
			next := int64(8 << 20)
			src := &upPattern{left: size, hook: func(done int64) {
				if done >= next {
					next += 8 << 20
					runtime.GC()
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
					samples++
				}
			}}
			declared := int64(size)
			if !known {
				declared = -1
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base, allocBase := ms.HeapInuse, ms.TotalAlloc
			_, err := c.upload(context.Background(), methodAppAPIFieldApply, []param{{"auth_field_apply", "{}"}},
				[]uploadFile{{"video", FileFromReader("big.mp4", src, declared), 128 << 20}})
			require.NoError(t, err)
			runtime.ReadMemStats(&ms)
			allocated := ms.TotalAlloc - allocBase
			require.GreaterOrEqual(t, samples, 7, "the heap was sampled while the body streamed")
			assert.Greater(t, received.Load(), int64(size))
			growth := int64(peak) - int64(base)
			t.Logf("peak heap growth %.2f MiB, allocated %.2f MiB for %d MiB", float64(growth)/(1<<20), float64(allocated)/(1<<20), size>>20)
			assert.Less(t, growth, int64(4<<20), "peak heap growth")
			assert.Less(t, allocated, uint64(2<<20), "bytes allocated during the call")
		})
	}
}
