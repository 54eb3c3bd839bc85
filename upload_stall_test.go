package alipay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stalledReader yields head, then blocks in Read until release is closed,
// as a dead network stream does.
type stalledReader struct {
	mu      sync.Mutex
	head    []byte
	entered chan struct{} // closed when a Read first blocks
	once    sync.Once
	release chan struct{}
}

func newStalledReader(head []byte) *stalledReader {
	return &stalledReader{head: head, entered: make(chan struct{}), release: make(chan struct{})}
}

func (r *stalledReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	if len(r.head) > 0 {
		n := copy(p, r.head)
		r.head = r.head[n:]
		r.mu.Unlock()
		return n, nil
	}
	r.mu.Unlock()
	r.once.Do(func() { close(r.entered) })
	<-r.release
	return 0, io.ErrUnexpectedEOF
}

// TestAttackStalledUploadSource: an upload whose FileFromReader source
// stops answering (a Read that never returns) must not keep the call from
// returning after the client timeout or a cancelled ctx, whether the source
// stalls before its first bytes (while sniffed) or mid-stream, with a known
// size (exact Content-Length) or an unknown one (chunked).
func TestAttackStalledUploadSource(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // waits for a body that never ends
	}))
	t.Cleanup(srv.Close)
	png := []byte("\x89PNG\r\n\x1a\n" + "0123456789abcdef")
	for _, tc := range []struct {
		name   string
		head   []byte
		size   int64
		cancel bool
	}{
		{name: "before the first byte, timeout", size: 1 << 20},
		{name: "before the first byte, cancel", size: -1, cancel: true},
		{name: "mid-stream, known size, timeout", head: png, size: 1 << 20},
		{name: "mid-stream, known size, cancel", head: png, size: 1 << 20, cancel: true},
		{name: "mid-stream, unknown size, timeout", head: png, size: -1},
		{name: "mid-stream, unknown size, cancel", head: png, size: -1, cancel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := append(baseOptions(t), WithGatewayURL(srv.URL+"/gateway.do"))
			if !tc.cancel {
				opts = append(opts, WithTimeout(300*time.Millisecond))
			}
			c, err := NewClient(testAppID, opts...)
			require.NoError(t, err)
			src := newStalledReader(tc.head)
			defer close(src.release) // lets the abandoned Read end with the test
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				go func() {
					<-src.entered
					cancel()
				}()
			}
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				_, err := c.WithAppAuthToken(testToken).AppAPIFieldApply(ctx, &AppAPIFieldApplyRequest{
					AuthFieldApply: AuthFieldApply{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "1",
						SceneCode: "6", QPSAnswer: "10", CustomerAnswer: "有"},
					Pictures: []File{FileFromReader("login.png", src, tc.size)},
				})
				done <- err
			}()
			select {
			case err := <-done:
				require.Error(t, err)
				want := context.DeadlineExceeded
				if tc.cancel {
					want = context.Canceled
				}
				assert.True(t, errors.Is(err, want), "%v", err)
				assert.Less(t, time.Since(start), 10*time.Second)
			case <-time.After(20 * time.Second):
				t.Fatal("the call is still waiting on a Read that never returns")
			}
		})
	}
}
