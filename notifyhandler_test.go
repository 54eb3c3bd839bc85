package alipay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const notifyFormType = "application/x-www-form-urlencoded"

// notifyLogBuffer is a goroutine-safe log sink.
type notifyLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *notifyLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *notifyLogBuffer) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *notifyLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// notifyDebugLogger returns a JSON logger at Debug level writing to a buffer.
func notifyDebugLogger() (*slog.Logger, *notifyLogBuffer) {
	buf := &notifyLogBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// serve starts a loopback server for h.
func notifyServe(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// post sends body with the form content type and returns status and body.
func notifyPost(t *testing.T, srv *httptest.Server, body string) (int, string) {
	t.Helper()
	return notifyDo(t, srv, http.MethodPost, "", notifyFormType, body)
}

// do sends one request to srv (query appended to the URL).
func notifyDo(t *testing.T, srv *httptest.Server, method, query, contentType, body string) (int, string) {
	t.Helper()
	u := srv.URL + "/notify"
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// notifyTryPost is post for goroutines other than the test's: it reports errors
// instead of stopping the test.
func notifyTryPost(srv *httptest.Server, body string) (int, string, error) {
	resp, err := srv.Client().Post(srv.URL+"/notify", notifyFormType, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// notifyRecorder counts and keeps the notifications a handler function received.
type notifyRecorder struct {
	mu    sync.Mutex
	calls []*Notification
}

func (r *notifyRecorder) fn(ctx context.Context, n *Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, n)
	return nil
}

func (r *notifyRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func TestNotifyHandlerKAT(t *testing.T) {
	t.Parallel()
	for _, k := range loadKAT[notifyKAT](t, "notify_verify") {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			logger, logs := notifyDebugLogger()
			rec := &notifyRecorder{}
			srv := notifyServe(t, katNotifyClient(t, k, WithLogger(logger)).NotifyHandler(rec.fn))
			status, body := notifyPost(t, srv, k.RawBody)
			if k.Expect == "verified" && k.isMessage() {
				assert.Equal(t, http.StatusOK, status)
				assert.Equal(t, "success", body)
				require.Equal(t, 1, rec.count())
				assertNotificationFrom(t, k.values(), rec.calls[0])
			} else {
				assert.Equal(t, http.StatusBadRequest, status)
				assert.Equal(t, "fail", body)
				assert.Zero(t, rec.count())
				want := k.Reason
				if k.Expect == "verified" {
					want = "missing_field"
				}
				assert.Contains(t, logs.String(), `"reason":"`+want+`"`)
			}
			assertNotifyNoSecrets(t, logs.String(), k)
		})
	}
}

// assertNotifyNoSecrets checks that a log holds neither the case's signature nor
// its form nor its biz_content.
func assertNotifyNoSecrets(t *testing.T, log string, k notifyKAT) {
	t.Helper()
	if k.Sign != nil && len(*k.Sign) > 16 {
		assert.NotContains(t, log, (*k.Sign)[:16])
		assert.NotContains(t, log, url.QueryEscape(*k.Sign)[:16])
	}
	assert.NotContains(t, log, "biz_content")
	assert.NotContains(t, log, "user_app_id")
	assert.NotContains(t, log, "%7B")
}

func TestNotifyHandlerFieldChanged(t *testing.T) {
	t.Parallel()
	params := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524602001"))
	events := make(chan *AppAPIFieldChanged, 1)
	srv := notifyServe(t, newNotifyClient(t).NotifyHandler(func(ctx context.Context, n *Notification) error {
		ev, err := n.AppAPIFieldChanged()
		if err != nil {
			return err
		}
		events <- ev
		return nil
	}))
	status, body := notifyPost(t, srv, params.Encode())
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "success", body)
	ev := <-events
	assert.Equal(t, AuthFieldStatusReject, ev.Status)
	assert.Equal(t, "getPhoneNumber", ev.APIName)
	assert.Equal(t, "mobile", ev.FieldName)
	assert.Equal(t, "2021004000000002", ev.UserAppID)
}

func TestNotifyHandlerRefusesRequests(t *testing.T) {
	t.Parallel()
	key := testNotifySigner(t)
	valid := signNotification(t, key, fieldChangedParams("2024052000262171013056307524603001"))
	tampered := signNotification(t, key, fieldChangedParams("2024052000262171013056307524603002"))
	tampered.Set("app_id", "2021000000000099")
	huge := signNotification(t, key, fieldChangedParams("2024052000262171013056307524603003"))
	huge.Set("padding", strings.Repeat("x", DefaultNotifyMaxBytes))
	cases := []struct {
		name, method, query, contentType, body string
		status                                 int
	}{
		{"GET", http.MethodGet, valid.Encode(), "", "", http.StatusMethodNotAllowed},
		{"PUT", http.MethodPut, "", notifyFormType, valid.Encode(), http.StatusMethodNotAllowed},
		{"json", http.MethodPost, "", "application/json", `{"a":1}`, http.StatusUnsupportedMediaType},
		{"multipart", http.MethodPost, "", "multipart/form-data; boundary=x", valid.Encode(), http.StatusUnsupportedMediaType},
		{"no content type", http.MethodPost, "", "", valid.Encode(), http.StatusUnsupportedMediaType},
		{"bad content type", http.MethodPost, "", "application/x-www-form-urlencoded; =", valid.Encode(), http.StatusUnsupportedMediaType},
		{"oversize", http.MethodPost, "", notifyFormType, huge.Encode(), http.StatusRequestEntityTooLarge},
		{"malformed form", http.MethodPost, "", notifyFormType, valid.Encode() + "&x=%zz", http.StatusBadRequest},
		{"malformed query", http.MethodPost, "a=%zz", notifyFormType, valid.Encode(), http.StatusBadRequest},
		{"tampered", http.MethodPost, "", notifyFormType, tampered.Encode(), http.StatusBadRequest},
		{"empty", http.MethodPost, "", notifyFormType, "", http.StatusBadRequest},
		{"key in query and body", http.MethodPost, "notify_id=" + valid.Get("notify_id"), notifyFormType, valid.Encode(), http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := notifyDebugLogger()
			rec := &notifyRecorder{}
			srv := notifyServe(t, newNotifyClient(t, WithLogger(logger)).NotifyHandler(rec.fn))
			status, body := notifyDo(t, srv, tc.method, tc.query, tc.contentType, tc.body)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, "fail", body)
			assert.Zero(t, rec.count())
			assert.Contains(t, logs.String(), `"level":"WARN"`)
			assert.NotContains(t, logs.String(), valid.Get("sign")[:16])
		})
	}
}

func TestNotifyHandlerAllowHeaderAndQueryOnly(t *testing.T) {
	t.Parallel()
	valid := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524603101"))
	rec := &notifyRecorder{}
	h := newNotifyClient(t).NotifyHandler(rec.fn)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/notify", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, http.MethodPost, w.Header().Get("Allow"))
	// Java merges query and body: a message entirely in the query is accepted.
	srv := notifyServe(t, h)
	status, body := notifyDo(t, srv, http.MethodPost, valid.Encode(), notifyFormType, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "success", body)
	assert.Equal(t, 1, rec.count())
}

func TestNotifyHandlerOversizeChunked(t *testing.T) {
	t.Parallel()
	rec := &notifyRecorder{}
	h := newNotifyClient(t).NotifyHandler(rec.fn, WithNotifyMaxBytes(1024))
	req := httptest.NewRequest(http.MethodPost, "/notify", io.MultiReader(strings.NewReader("a="), strings.NewReader(strings.Repeat("b", 2000))))
	req.ContentLength = -1 // unknown length: MaxBytesReader must stop it
	req.Header.Set("Content-Type", notifyFormType)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	assert.Zero(t, rec.count())
}

func TestNotifyHandlerStale(t *testing.T) {
	t.Parallel()
	params := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524604001"))
	late := fixedTime.Add(DefaultNotifyMaxAge + time.Minute)
	rec := &notifyRecorder{}
	srv := notifyServe(t, newNotifyClient(t, WithClock(func() time.Time { return late })).NotifyHandler(rec.fn))
	status, body := notifyPost(t, srv, params.Encode())
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "fail", body)
	assert.Zero(t, rec.count())
}

func TestNotifyHandlerDeliversOnce(t *testing.T) {
	t.Parallel()
	params := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524605001"))
	rec := &notifyRecorder{}
	srv := notifyServe(t, newNotifyClient(t).NotifyHandler(rec.fn))
	for i := 0; i < 3; i++ {
		status, body := notifyPost(t, srv, params.Encode())
		assert.Equal(t, http.StatusOK, status, "delivery %d", i)
		assert.Equal(t, "success", body, "delivery %d", i)
	}
	assert.Equal(t, 1, rec.count())
}

func TestNotifyHandlerConcurrentDeliveriesOnce(t *testing.T) {
	t.Parallel()
	const n = 16
	params := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524606001"))
	var calls atomic.Int32
	var others sync.WaitGroup // deliveries that did not get the claim
	others.Add(n - 1)
	srv := notifyServe(t, newNotifyClient(t).NotifyHandler(func(ctx context.Context, _ *Notification) error {
		calls.Add(1)
		others.Wait() // hold the claim until every other delivery was answered
		return nil
	}))
	bodies := make(chan string, n)
	var all sync.WaitGroup
	for i := 0; i < n; i++ {
		all.Add(1)
		go func() {
			defer all.Done()
			status, body, err := notifyTryPost(srv, params.Encode())
			if err != nil || body != "success" {
				assert.NoError(t, err)
				assert.Equal(t, http.StatusConflict, status)
				others.Done()
			}
			bodies <- body
		}()
	}
	all.Wait()
	close(bodies)
	count := map[string]int{}
	for b := range bodies {
		count[b]++
	}
	assert.Equal(t, map[string]int{"success": 1, "fail": n - 1}, count)
	assert.Equal(t, int32(1), calls.Load())
	status, body := notifyPost(t, srv, params.Encode()) // Alipay's retry of a losing delivery
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "success", body)
	assert.Equal(t, int32(1), calls.Load())
}

func TestNotifyHandlerFnErrorRetried(t *testing.T) {
	t.Parallel()
	params := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524607001"))
	logger, logs := notifyDebugLogger()
	var calls atomic.Int32
	srv := notifyServe(t, newNotifyClient(t, WithLogger(logger)).NotifyHandler(func(ctx context.Context, n *Notification) error {
		switch calls.Add(1) {
		case 1:
			return errors.New("database down")
		case 2:
			panic("bug")
		default:
			return nil
		}
	}))
	status, body := notifyPost(t, srv, params.Encode())
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "fail", body)
	status, body = notifyPost(t, srv, params.Encode())
	assert.Equal(t, http.StatusInternalServerError, status, "a panic is answered fail")
	assert.Equal(t, "fail", body)
	status, body = notifyPost(t, srv, params.Encode())
	assert.Equal(t, http.StatusOK, status, "the retry is processed")
	assert.Equal(t, "success", body)
	status, body = notifyPost(t, srv, params.Encode())
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "success", body)
	assert.Equal(t, int32(3), calls.Load())
	out := logs.String()
	assert.Contains(t, out, "database down")
	assert.Contains(t, out, "notification function panicked")
	assert.Contains(t, out, `"panic_type":"string"`)
	assert.NotContains(t, out, params.Get("sign")[:16])
}

func TestNotifyHandlerFnContext(t *testing.T) {
	t.Parallel()
	params := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524608001"))
	deadlines := make(chan time.Duration, 1)
	h := newNotifyClient(t).NotifyHandler(func(ctx context.Context, n *Notification) error {
		d, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		deadlines <- time.Until(d)
		return nil
	}, WithNotifyLease(30*time.Second))
	status, _ := notifyPost(t, notifyServe(t, h), params.Encode())
	require.Equal(t, http.StatusOK, status)
	left := <-deadlines
	assert.LessOrEqual(t, left, 30*time.Second)
	assert.Greater(t, left, 20*time.Second)
}
