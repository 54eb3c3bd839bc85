package alipay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Test files: real magic bytes followed by filler.
var (
	upPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), bytes.Repeat([]byte{0x42}, 3000)...)
	upJPG = append([]byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F'}, bytes.Repeat([]byte{0x17}, 2000)...)
	upMP4 = append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), bytes.Repeat([]byte{0x33}, 5000)...)
)

const upSuccess = `{"code":"10000","msg":"Success"}`

// upParts reads a multipart request body into name → (filename, type, bytes).
type upPart struct {
	filename, contentType string
	data                  []byte
}

func upReadParts(t testing.TB, r *http.Request) ([]string, map[string]upPart) {
	t.Helper()
	mt, ps, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/form-data", mt)
	mr := multipart.NewReader(r.Body, ps["boundary"])
	var order []string
	parts := map[string]upPart{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		data, err := io.ReadAll(p)
		require.NoError(t, err)
		order = append(order, p.FormName())
		parts[p.FormName()] = upPart{p.FileName(), p.Header.Get("Content-Type"), data}
	}
	return order, parts
}

func TestFileConstructors(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "a.png", FileFromPath("/tmp/x/a.png").Name())
	assert.Equal(t, "b.png", FileFromPath("/tmp/x/a.png").WithName("b.png").Name())
	f := FileFromReader("r.mp4", strings.NewReader("x"), -7)
	assert.Equal(t, int64(-1), f.size, "any negative size is unknown")
	assert.Equal(t, int64(3), FileFromBytes("b", []byte("abc")).size)
	assert.Equal(t, "", File{}.Name())
}

// TestUploadFileChecks drives every refusal of a file, each before anything
// is sent, with the part named.
func TestUploadFileChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.png")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	big := filepath.Join(dir, "big.png")
	require.NoError(t, os.WriteFile(big, make([]byte, MaxAppLogoSize+1), 0o600))
	cases := []struct {
		name, problem string
		file          File
		limit         int64
	}{
		{"zero", "no file given", File{}, MaxFieldApplyFileSize},
		{"nil reader", "nil reader", FileFromReader("a.png", nil, 3), MaxFieldApplyFileSize},
		{"empty path", "empty path", FileFromPath(""), MaxFieldApplyFileSize},
		{"empty bytes", "empty file", FileFromBytes("a.png", nil), MaxFieldApplyFileSize},
		{"empty reader declared", "empty file", FileFromReader("a.png", strings.NewReader(""), 0), MaxFieldApplyFileSize},
		{"empty reader unknown", "empty file", FileFromReader("a.png", strings.NewReader(""), -1), MaxFieldApplyFileSize},
		{"empty path file", "empty file", FileFromPath(empty), MaxFieldApplyFileSize},
		{"directory", "not a regular file", FileFromPath(dir).WithName("d.png"), MaxFieldApplyFileSize},
		{"declared over", "file exceeds 10 MiB", FileFromReader("a.png", strings.NewReader("x"), MaxFieldApplyFileSize+1), MaxFieldApplyFileSize},
		{"path over logo", "file exceeds 2 MiB", FileFromPath(big), MaxAppLogoSize},
		{"bytes over logo", "file exceeds 2 MiB", FileFromBytes("a.png", make([]byte, MaxAppLogoSize+1)), MaxAppLogoSize},
		{"declared short", "file has fewer than its size of 5 bytes", FileFromReader("a.png", strings.NewReader("abc"), 5), MaxFieldApplyFileSize},
		{"bad filename", "filename: name contains a control character, '\"' or '\\'", FileFromBytes("a\r\n.png", upPNG), MaxFieldApplyFileSize},
		{"no filename", "filename: empty name", FileFromBytes("", upPNG), MaxFieldApplyFileSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			_, err := c.upload(context.Background(), methodAppAPIFieldApply, []param{{"auth_field_apply", "{}"}},
				[]uploadFile{{field: "picture_2", file: tc.file, limit: tc.limit}})
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.ErrorIs(t, err, ErrInvalidRequest)
			assert.Equal(t, "picture_2", ve.Field)
			assert.Equal(t, tc.problem, ve.Problem)
			assert.Equal(t, 0, mock.GetTotalCallCount(), "nothing reaches the gateway")
		})
	}
	t.Run("missing path", func(t *testing.T) {
		c, mock := newMockClient(t)
		_, err := c.upload(context.Background(), methodAppAPIFieldApply, nil,
			[]uploadFile{{field: "video", file: FileFromPath(filepath.Join(dir, "nope.mp4")), limit: MaxFieldApplyFileSize}})
		require.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), "alipay: alipay.open.app.api.field.apply: video: open ")
		assert.Equal(t, 0, mock.GetTotalCallCount())
	})
	t.Run("reader error before sending", func(t *testing.T) {
		c, mock := newMockClient(t)
		boom := errors.New("disk on fire")
		_, err := c.upload(context.Background(), methodAppAPIFieldApply, nil,
			[]uploadFile{{field: "video", file: FileFromReader("v.mp4", errReader{boom}, -1), limit: MaxFieldApplyFileSize}})
		require.ErrorIs(t, err, boom)
		assert.Equal(t, 0, mock.GetTotalCallCount())
	})
}

// upLiar reports more bytes than it was given room for.
type upLiar struct{ extra int }

func (l upLiar) Read(p []byte) (int, error) { return len(p) + l.extra, nil }

// TestUploadBrokenReaderDoesNotPanic: a reader that reports impossible
// counts fails the call, before sending or while streaming.
func TestUploadBrokenReaderDoesNotPanic(t *testing.T) {
	t.Parallel()
	for _, size := range []int64{-1, 100} {
		c, mock := newMockClient(t)
		_, err := c.upload(context.Background(), methodAppAPIFieldApply, nil,
			[]uploadFile{{field: "video", file: FileFromReader("v.mp4", upLiar{5}, size), limit: MaxFieldApplyFileSize}})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "video: reading the file: multipart: source returned an invalid byte count")
		assert.Equal(t, 0, mock.GetTotalCallCount())
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestUploadMockWire checks the request of the upload path on httpmock:
// protocol params and sign in the query, text parts then file parts, sniffed
// types, exact Content-Length when sizes are known, and GetBody rebuilding
// the same body for sources that can be reopened.
func TestUploadMockWire(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "login.jpg")
	require.NoError(t, os.WriteFile(path, upJPG, 0o600))
	s := newGatewaySigner(t)
	for _, tc := range []struct {
		name    string
		files   []File
		known   bool
		getBody bool
	}{
		{"path and bytes", []File{FileFromPath(path), FileFromBytes("flow.mp4", upMP4)}, true, true},
		{"sized reader", []File{FileFromReader("login.jpg", bytes.NewReader(upJPG), int64(len(upJPG))), FileFromBytes("flow.mp4", upMP4)}, true, false},
		{"unknown reader", []File{FileFromPath(path), FileFromReader("flow.mp4", bytes.NewReader(upMP4), -1)}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			c = c.WithAppAuthToken(testToken)
			mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
				q := r.URL.Query()
				assert.Equal(t, methodAppAPIFieldApply, q.Get("method"))
				assert.NotEmpty(t, q.Get("sign"))
				assert.False(t, q.Has("app_auth_token") || q.Has("auth_field_apply"), "business params stay in the body")
				assert.Equal(t, userAgent, r.Header.Get("User-Agent"))
				if tc.known {
					assert.Greater(t, r.ContentLength, int64(len(upJPG)+len(upMP4)))
				} else {
					assert.Equal(t, int64(-1), r.ContentLength)
				}
				assert.Equal(t, tc.getBody, r.GetBody != nil)
				var first []byte
				if r.GetBody != nil {
					again, err := r.GetBody()
					require.NoError(t, err)
					first, err = io.ReadAll(again)
					require.NoError(t, err)
					require.NoError(t, again.Close())
				}
				raw, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				if tc.known {
					assert.Equal(t, r.ContentLength, int64(len(raw)), "exact Content-Length")
				}
				if first != nil {
					assert.Equal(t, string(raw), string(first), "GetBody rebuilds the same body")
				}
				r.Body = io.NopCloser(bytes.NewReader(raw))
				order, parts := upReadParts(t, r)
				assert.Equal(t, []string{"app_auth_token", "auth_field_apply", "picture_1", "video"}, order)
				assert.Equal(t, upPart{"", "text/plain;charset=utf-8", []byte(testToken)}, parts["app_auth_token"])
				assert.Equal(t, upPart{"login.jpg", "image/jpeg", upJPG}, parts["picture_1"])
				assert.Equal(t, upPart{"flow.mp4", "video/mp4", upMP4}, parts["video"])
				resp := httpmock.NewStringResponse(http.StatusOK, s.body(methodAppAPIFieldApply, upSuccess))
				resp.Header.Set("trace_id", "trace-up")
				return resp, nil
			})
			res, err := c.upload(context.Background(), methodAppAPIFieldApply,
				[]param{{"auth_field_apply", `{"api_name":"getPhoneNumber"}`}},
				[]uploadFile{{"picture_1", tc.files[0], MaxFieldApplyFileSize}, {"video", tc.files[1], MaxFieldApplyFileSize}})
			require.NoError(t, err)
			assert.Equal(t, "trace-up", res.traceID)
			assert.JSONEq(t, upSuccess, string(res.body))
			assert.Equal(t, 1, mock.GetTotalCallCount())
		})
	}
}

// TestUploadMockFailures covers the answers an upload can get: an API error,
// HTTP 502, a tampered body, a transport error, a cancelled ctx. None leaks
// the token or the signature, and a result never comes with an error.
func TestUploadMockFailures(t *testing.T) {
	t.Parallel()
	s := newGatewaySigner(t)
	apiErr := `{"code":"40004","msg":"Business Failed","sub_code":"AUTH_API_FIELD_IS_AUDITING","sub_msg":"该字段正在审核中"}`
	tampered := strings.Replace(s.body(methodAppAPIFieldApply, upSuccess), `"Success"`, `"Succes5"`, 1)
	cases := []struct {
		name   string
		resp   httpmock.Responder
		ctx    func() context.Context
		unsure bool // the cancellation may be seen first
		check  func(*testing.T, error)
	}{
		{"api error", httpmock.NewStringResponder(200, s.body(methodAppAPIFieldApply, apiErr)), nil, false, func(t *testing.T, err error) {
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, SubCodeAuthAPIFieldIsAuditing, ae.SubCode)
			assert.True(t, ae.Verified)
		}},
		{"http 502", httpmock.NewStringResponder(502, "<html>Bad Gateway</html>"), nil, false, func(t *testing.T, err error) {
			var re *ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, 502, re.StatusCode)
			assert.ErrorIs(t, err, ErrBadResponse)
		}},
		{"tampered", httpmock.NewStringResponder(200, tampered), nil, false, func(t *testing.T, err error) {
			var ve *VerifyError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, StepBadSignature, ve.Step)
		}},
		{"transport", httpmock.NewErrorResponder(errors.New("connection reset")), nil, false, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "connection reset")
			assert.Contains(t, err.Error(), "alipay: alipay.open.app.api.field.apply: ")
		}},
		{"cancelled", httpmock.NewStringResponder(200, s.body(methodAppAPIFieldApply, upSuccess)), func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, true, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, context.Canceled)
		}},
	}
	for _, tc := range cases {
		for _, unknown := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/exact", true: "/chunked"}[unknown]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c, mock := newMockClient(t)
				c = c.WithAppAuthToken(testToken)
				mock.RegisterResponder(http.MethodPost, testGW, tc.resp)
				ctx := context.Background()
				if tc.ctx != nil {
					ctx = tc.ctx()
				}
				size := int64(len(upPNG))
				if unknown {
					size = -1
				}
				res, err := c.upload(ctx, methodAppAPIFieldApply, []param{{"auth_field_apply", "{}"}},
					[]uploadFile{{"picture_1", FileFromReader("a.png", bytes.NewReader(upPNG), size), MaxFieldApplyFileSize}})
				require.Error(t, err)
				assert.Nil(t, res)
				tc.check(t, err)
				for _, secret := range []string{testToken, "sign="} {
					assert.NotContains(t, err.Error(), secret)
				}
			})
		}
	}
}

// TestUploadBodyNeverRead: httpmock never reads or closes the body of an
// unknown length; the call must still end (no deadlock), and the source is
// not read after it.
func TestUploadBodyNeverRead(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	s := newGatewaySigner(t)
	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(200, s.body(methodAppAPIFieldApply, upSuccess)))
	big := io.LimitReader(upZeros{}, 5<<20) // far more than any buffer holds
	_, err := c.upload(context.Background(), methodAppAPIFieldApply, []param{{"auth_field_apply", "{}"}},
		[]uploadFile{{"video", FileFromReader("v.mp4", big, -1), MaxFieldApplyFileSize}})
	require.NoError(t, err)
}

// upZeros yields zero bytes forever, holding nothing.
type upZeros struct{}

func (upZeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestUploadLoopbackCancel cancels ctx while the body streams; the gateway
// holds its answer until the client goes away, so only the cancellation can
// end the call.
func TestUploadLoopbackCancel(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	for _, known := range []bool{true, false} {
		t.Run(fmt.Sprintf("known_size=%v", known), func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(testAppID, append(baseOptions(t), WithGatewayURL(srv.URL), WithHTTPClient(srv.Client()))...)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src := &upPattern{left: 4 << 20, hook: func(done int64) {
				if done > 1<<20 {
					cancel()
				}
			}}
			size := int64(4 << 20)
			if !known {
				size = -1
			}
			res, err := c.upload(ctx, methodAppAPIFieldApply, []param{{"auth_field_apply", "{}"}},
				[]uploadFile{{"video", FileFromReader("v.mp4", src, size), MaxFieldApplyFileSize}})
			assert.Nil(t, res)
			require.ErrorIs(t, err, context.Canceled)
			assert.NotContains(t, err.Error(), "sign=")
			assert.Contains(t, err.Error(), "alipay: alipay.open.app.api.field.apply: ")
		})
	}
}
