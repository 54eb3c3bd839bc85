package alipay

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scripted is one gateway answer of a sequence: a status and body,
// or a transport error.
type scripted struct {
	status int
	body   string
	err    error
}

// scriptGateway answers the requests to the test gateway in order with
// answers (the last one repeats) and records the timestamp each request
// was signed with, checking each signature as the gateway would.
type scriptGateway struct {
	mu         sync.Mutex
	timestamps []string
	bad        []error
}

func (sg *scriptGateway) count() int {
	sg.mu.Lock()
	defer sg.mu.Unlock()
	return len(sg.timestamps)
}

func script(t *testing.T, mock *httpmock.MockTransport, answers ...scripted) *scriptGateway {
	t.Helper()
	sg := &scriptGateway{}
	appPub := parsePublicPEM(t, "keys/app_public.pem")
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		gr, err := checkGatewayRequest(r, appPub, fixedTime, time.Hour)
		sg.mu.Lock()
		n := len(sg.timestamps)
		if err != nil {
			sg.bad = append(sg.bad, err)
			sg.timestamps = append(sg.timestamps, "")
		} else {
			sg.timestamps = append(sg.timestamps, gr.Query.Get("timestamp"))
		}
		sg.mu.Unlock()
		a := answers[min(n, len(answers)-1)]
		if a.err != nil {
			return nil, a.err
		}
		return httpmock.NewStringResponse(a.status, a.body), nil
	})
	t.Cleanup(func() {
		sg.mu.Lock()
		defer sg.mu.Unlock()
		assert.Empty(t, sg.bad, "every attempt is a valid signed request")
	})
	return sg
}

// tickingClock returns a clock that moves one second per reading, so every
// attempt carries its own timestamp.
func tickingClock() func() time.Time {
	var mu sync.Mutex
	now := fixedTime
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
}

// recordSleeps replaces the pause between attempts with a recorder.
func recordSleeps(c *Client) *[]time.Duration {
	var mu sync.Mutex
	var slept []time.Duration
	c.core.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return ctx.Err()
	}
	return &slept
}

var errReset = &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}

// transientAnswers are the failures the retry rule retries.
func transientAnswers(g *gatewaySigner) map[string]scripted {
	fail := func(code, sub string) scripted {
		return scripted{status: 200, body: g.body(methodAppAPIQuery, failNode(code, "x", sub, "y"))}
	}
	return map[string]scripted{
		"reset before a status": {err: errReset},
		"HTTP 502":              {status: 502, body: "<html>502 Bad Gateway</html>"},
		"HTTP 503":              {status: 503, body: "busy"},
		"HTTP 504":              {status: 504, body: ""},
		"HTML page on 200":      {status: 200, body: "\n<!DOCTYPE html><html>服务器繁忙</html>"},
		"HTML page on 500":      {status: 500, body: "<html>error</html>"},
		"20000 isp.unknow":      fail("20000", "isp.unknow-error"),
		"20000 aop.unknow":      fail("20000", "aop.unknow-error"),
		"unsigned 20000":        {status: 200, body: `{"` + nodeKey(methodAppAPIQuery) + `":` + failNode("20000", "x", "isp.unknow-error", "y") + `}`},
		"SYSTEM_ERROR":          fail("20000", "ACQ.SYSTEM_ERROR"),
		"40005 call limit":      fail("40005", "isv.app-call-limited"),
		"method call limit":     fail("40005", "isv.method-call-limited"),
	}
}

// TestRetryReadsOnTransientFailures: a read that meets one transient failure
// succeeds on its second attempt, signed afresh with a new timestamp; a
// rate-limit answer pauses at least a second.
func TestRetryReadsOnTransientFailures(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	ok := scripted{status: 200, body: g.body(methodAppAPIQuery, nodeAPIQuery)}
	for name, failure := range transientAnswers(g) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t, WithClock(tickingClock()))
			slept := recordSleeps(c)
			sg := script(t, mock, failure, ok)
			res, err := c.WithAppAuthToken(testToken).AppAPIQuery(context.Background(), nil)
			require.NoError(t, err)
			assert.Len(t, res.APIs, 2)
			require.Equal(t, 2, sg.count())
			assert.NotEqual(t, sg.timestamps[0], sg.timestamps[1], "each attempt is signed afresh")
			require.Len(t, *slept, 1)
			d := (*slept)[0]
			if name == "40005 call limit" || name == "method call limit" {
				assert.GreaterOrEqual(t, d, time.Second, "a longer pause when throttled")
				assert.LessOrEqual(t, d, time.Second+DefaultRetryBase)
			} else {
				assert.LessOrEqual(t, d, DefaultRetryBase)
			}
			assert.True(t, IsTransient(failureError(t, g, failure)), "IsTransient is the retry rule")
		})
	}
}

// failureError returns the error a single attempt gets for answer a.
func failureError(t *testing.T, g *gatewaySigner, a scripted) error {
	t.Helper()
	c, mock := newMockClient(t, WithRetry(1, 0, 0))
	script(t, mock, a)
	_, err := c.WithAppAuthToken(testToken).AppAPIQuery(context.Background(), nil)
	require.Error(t, err)
	return err
}

// TestRetryNever: final answers and our own refusals are not retried, and
// IsTransient says so.
func TestRetryNever(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	fail := func(code, sub string) scripted {
		return scripted{status: 200, body: g.body(methodAppAPIQuery, failNode(code, "x", sub, "y"))}
	}
	for name, a := range map[string]scripted{
		"40001":                fail("40001", "isv.missing-method"),
		"40002 bad timestamp":  fail("40002", "isv.invalid-timestamp"),
		"40004":                fail("40004", "INVALID_PARAMETER"),
		"40004 SYSTEM_ERROR":   fail("40004", "SYSTEM_ERROR"),
		"40006":                fail("40006", "isv.insufficient-isv-permissions"),
		"20001":                fail("20001", "aop.invalid-app-auth-token"),
		"20000 other sub_code": fail("20000", "isp.other"),
		"quota":                fail("40005", "isv.exceed-api-balance"),
		"penalty":              fail("40005", "isv.app-api-punished"),
		"bad signature":        {status: 200, body: `{"` + nodeKey(methodAppAPIQuery) + `":` + nodeAPIQuery + `,"sign":"` + g.sign("{}") + `"}`},
		"HTTP 500 text":        {status: 500, body: "internal"},
		"HTTP 413 page":        {status: 413, body: "<html>Request Entity Too Large</html>"},
		"redirect":             {status: 307, body: "<html>moved</html>"},
		"JSON without node":    {status: 200, body: `{"other":1}`},
		"certificate":          {err: &tlsLikeError{}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			recordSleeps(c)
			sg := script(t, mock, a, scripted{status: 200, body: g.body(methodAppAPIQuery, nodeAPIQuery)})
			_, err := c.WithAppAuthToken(testToken).AppAPIQuery(context.Background(), nil)
			require.Error(t, err)
			assert.Equal(t, 1, sg.count())
			assert.False(t, IsTransient(err))
			assert.NotErrorIs(t, err, ErrOutcomeUnknown, "a read's outcome is never unknown")
		})
	}
	t.Run("validation", func(t *testing.T) {
		c, mock := newMockClient(t)
		_, err := c.WithAppAuthToken("").AppAPIQuery(context.Background(), nil)
		require.ErrorIs(t, err, ErrInvalidRequest)
		assert.False(t, IsTransient(err))
		assert.Zero(t, mock.GetTotalCallCount())
	})
	t.Run("cancelled ctx", func(t *testing.T) {
		c, mock := newMockClient(t)
		ctx, cancel := context.WithCancel(context.Background())
		mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
			cancel()
			return nil, r.Context().Err()
		})
		_, err := c.AppAPIQuery(ctx, nil)
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, IsTransient(err))
		assert.Equal(t, 1, mock.GetTotalCallCount())
	})
	assert.False(t, IsTransient(nil))
	assert.False(t, IsTransient(errors.New("other")))
}

// tlsLikeError stands for a certificate failure of the transport.
type tlsLikeError struct{}

func (*tlsLikeError) Error() string { return "x509: certificate signed by unknown authority" }
func (*tlsLikeError) Unwrap() error { return x509.UnknownAuthorityError{} }

// TestRetryAttemptsAndOverrides: 3 attempts by default; WithRetry and a
// per-call CallRetry change that; writes and unmarked Calls get one.
func TestRetryAttemptsAndOverrides(t *testing.T) {
	t.Parallel()
	bad := scripted{status: 502, body: "<html>bad gateway</html>"}
	type run func(ctx context.Context, c *Client) error
	query := func(ctx context.Context, c *Client) error { _, err := c.AppAPIFieldQuery(ctx, nil); return err }
	call := func(method string) run {
		return func(ctx context.Context, c *Client) error { _, err := c.Call(ctx, method, nil); return err }
	}
	safe := func(ctx context.Context) context.Context { return ContextWithRetry(ctx, CallRetry{Safe: true}) }
	for _, tc := range []struct {
		name     string
		opts     []Option
		ctx      func(context.Context) context.Context
		run      run
		attempts int
	}{
		{name: "default", run: query, attempts: 3},
		{name: "WithRetry 5", opts: []Option{WithRetry(5, time.Millisecond, time.Millisecond)}, run: query, attempts: 5},
		{name: "WithRetry off", opts: []Option{WithRetry(1, 0, 0)}, run: query, attempts: 1},
		{name: "per call off", ctx: func(ctx context.Context) context.Context { return ContextWithRetry(ctx, CallRetry{Attempts: 1}) }, run: query, attempts: 1},
		{name: "per call 4", ctx: func(ctx context.Context) context.Context { return ContextWithRetry(ctx, CallRetry{Attempts: 4}) }, run: query, attempts: 4},
		{name: "get is a read", run: func(ctx context.Context, c *Client) error {
			_, err := callTyped[AppAPIQueryResponse](ctx, c, "alipay.open.auth.app.aes.get", nil, nil)
			return err
		}, attempts: 3},
		{name: "Call unmarked", run: call(methodAppAPIQuery), attempts: 1},
		{name: "Call marked safe", ctx: safe, run: call(methodAppAPIQuery), attempts: 3},
		{name: "Call write marked safe", ctx: safe, run: call("alipay.open.auth.token.app"), attempts: 1},
		{name: "Call aes.set marked safe", ctx: safe, run: call("alipay.open.auth.app.aes.set"), attempts: 1},
		{name: "Call invite.create marked safe", ctx: safe, run: call(methodAuthAppAuthInviteCreate), attempts: 1},
		{name: "baseinfo.modify", ctx: safe, run: func(ctx context.Context, c *Client) error {
			_, err := c.MiniBaseInfoModify(ctx, &MiniBaseInfoModifyRequest{MiniCategoryIDs: "XS1011_XS2089"})
			return err
		}, attempts: 1},
		{name: "field.apply", ctx: safe, run: func(ctx context.Context, c *Client) error {
			_, err := c.AppAPIFieldApply(ctx, &AppAPIFieldApplyRequest{AuthFieldApply: testApplication(),
				Pictures: []File{FileFromBytes("login.png", []byte("\x89PNG\r\n\x1a\nfake"))}})
			return err
		}, attempts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t, tc.opts...)
			recordSleeps(c)
			mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(bad.status, bad.body))
			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx(ctx)
			}
			err := tc.run(ctx, c.WithAppAuthToken(testToken))
			var re *ResponseError
			require.ErrorAs(t, err, &re, "the last attempt's error")
			assert.Equal(t, 502, re.StatusCode)
			assert.Equal(t, tc.attempts, mock.GetTotalCallCount())
		})
	}
}

func testApplication() AuthFieldApply {
	return AuthFieldApply{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "1",
		SceneCode: "6", QPSAnswer: "10", CustomerAnswer: "有"}
}

// TestRetryBackoff: full jitter within base·2ⁿ⁻¹ capped at maxDelay, plus a
// second when throttled.
func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	p := retryPolicy{attempts: 10, base: 100 * time.Millisecond, maxDelay: time.Second}
	for i := 0; i < 200; i++ {
		for n, limit := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 40: time.Second} {
			d := p.delay(n, transient)
			assert.True(t, d >= 0 && d <= limit, "attempt %d: %v", n, d)
			d = p.delay(n, throttled)
			assert.True(t, d >= time.Second && d <= time.Second+limit, "throttled %d: %v", n, d)
		}
	}
	assert.Zero(t, retryPolicy{attempts: 3}.delay(2, transient), "base 0: immediate")
}

// TestRetryNeverSleepsPastDeadline: when the pause would end after the
// ctx's deadline, the call ends at once with the last attempt's error.
func TestRetryNeverSleepsPastDeadline(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t, WithRetry(3, time.Hour, time.Hour))
	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(503, "busy"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.AppAPIQuery(ctx, nil)
	var re *ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 503, re.StatusCode)
	assert.Less(t, time.Since(start), 4*time.Second)
	// Jitter may pick a short pause: the rule holds for every attempt made.
	assert.LessOrEqual(t, mock.GetTotalCallCount(), 3)
}

// TestTimeoutBoundsWholeCall: a gateway that hangs fails a read after the
// client timeout, not after one timeout per attempt.
func TestTimeoutBoundsWholeCall(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		<-r.Context().Done() // never answers
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(testAppID, append(baseOptions(t), WithGatewayURL(srv.URL+"/gateway.do"),
		WithTimeout(300*time.Millisecond), WithRetry(3, 0, 0))...)
	require.NoError(t, err)
	start := time.Now()
	_, err = c.AppAPIQuery(context.Background(), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, hits, "the expired deadline ends the call: no new attempt")
}

// TestRetryConnectionRefused: a gateway that refuses connections is a
// transient failure of a read, retried up to the limit.
func TestRetryConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	obs := &recordingObserver{}
	c, err := NewClient(testAppID, append(baseOptions(t), WithGatewayURL("http://"+addr+"/gateway.do"),
		WithRetry(3, time.Millisecond, time.Millisecond), WithObserver(obs))...)
	require.NoError(t, err)
	_, err = c.AppAPIQuery(context.Background(), nil)
	require.Error(t, err)
	assert.True(t, IsTransient(err), "%v", err)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
	assert.NotContains(t, err.Error(), "sign=")
	assert.Len(t, obs.attempts(), 3)
}

// TestWithRetryErrors: bad arguments fail NewClient with a clear error.
func TestWithRetryErrors(t *testing.T) {
	t.Parallel()
	for _, opt := range []Option{WithRetry(0, 0, 0), WithRetry(11, 0, 0), WithRetry(2, -1, 0), WithRetry(2, time.Second, time.Millisecond)} {
		_, err := NewClient(testAppID, append(keyOptions(t), opt)...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "alipay: WithRetry: ")
	}
}

// TestRetryPauseCancelled: a caller giving up during the pause ends the
// call with an error that holds both the ctx's error and the last
// attempt's, and the observer's last report says the call ended.
func TestRetryPauseCancelled(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	c, mock := newMockClient(t, WithObserver(obs))
	c.core.sleep = func(context.Context, time.Duration) error { return context.Canceled }
	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(503, "busy"))
	_, err := c.AppAPIQuery(context.Background(), nil)
	require.ErrorIs(t, err, context.Canceled)
	var re *ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 503, re.StatusCode)
	assert.Equal(t, 1, mock.GetTotalCallCount())
	seen := obs.attempts()
	require.Len(t, seen, 1)
	assert.False(t, seen[0].Retry)
	assert.Equal(t, err, seen[0].Err)
}
