package alipay

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingObserver keeps what it sees.
type recordingObserver struct {
	mu    sync.Mutex
	calls []CallInfo
	seen  []Attempt
	ctxOK []bool // whether ObserveAttempt got StartCall's ctx
}

type observerKey struct{}

func (o *recordingObserver) StartCall(ctx context.Context, call CallInfo) context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, call)
	return context.WithValue(ctx, observerKey{}, call.Method)
}

func (o *recordingObserver) ObserveAttempt(ctx context.Context, a *Attempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, *a)
	o.ctxOK = append(o.ctxOK, ctx.Value(observerKey{}) == a.Method)
}

func (o *recordingObserver) attempts() []Attempt {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Attempt(nil), o.seen...)
}

// TestObserverSeesEachAttempt: one StartCall per call, one report per
// attempt with what the answer said, the merchant's fingerprint and never
// its token; the ctx StartCall returns reaches the transport.
func TestObserverSeesEachAttempt(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	obs := &recordingObserver{}
	c, mock := newMockClient(t, WithObserver(obs))
	recordSleeps(c)
	var transportCtx []bool
	var mu sync.Mutex
	answers := []*http.Response{
		httpmock.NewStringResponse(503, "busy"),
		httpmock.NewStringResponse(200, g.body(methodAppAPIQuery, failNode("20000", "x", "isp.unknow-error", "y"))),
		httpmock.NewStringResponse(200, g.body(methodAppAPIQuery, nodeAPIQuery)),
	}
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		transportCtx = append(transportCtx, r.Context().Value(observerKey{}) == methodAppAPIQuery)
		resp := answers[len(transportCtx)-1]
		resp.Header.Set("trace_id", "trace-obs")
		return resp, nil
	})
	m := c.WithAppAuthToken(testToken)
	_, err := m.AppAPIQuery(context.Background(), nil)
	require.NoError(t, err)

	fp := secret(testToken).fingerprint()
	require.Equal(t, []CallInfo{{Method: methodAppAPIQuery, AppID: testAppID, Merchant: fp}}, obs.calls)
	seen := obs.attempts()
	require.Len(t, seen, 3)
	for i, a := range seen {
		assert.Equal(t, i+1, a.Number)
		assert.Equal(t, methodAppAPIQuery, a.Method)
		assert.Equal(t, testAppID, a.AppID)
		assert.Equal(t, fp, a.Merchant)
		assert.Equal(t, "trace-obs", a.TraceID)
		assert.False(t, a.Start.IsZero())
		assert.Positive(t, a.Duration)
		assert.Equal(t, i < 2, a.Retry)
		assert.False(t, a.OutcomeUnknown)
		assert.True(t, obs.ctxOK[i])
	}
	assert.Equal(t, []bool{true, true, true}, transportCtx)
	assert.Equal(t, 503, seen[0].StatusCode)
	assert.Equal(t, "", seen[0].Code)
	assert.ErrorIs(t, seen[0].Err, ErrBadResponse)
	assert.Equal(t, []any{200, "20000", "isp.unknow-error"}, []any{seen[1].StatusCode, seen[1].Code, seen[1].SubCode})
	assert.Equal(t, []any{200, "10000", nil}, []any{seen[2].StatusCode, seen[2].Code, seen[2].Err})
	for _, a := range seen {
		assert.NotContains(t, a.Method+a.AppID+a.Merchant+a.TraceID+a.Code+a.SubCode, testToken)
		if a.Err != nil {
			assert.NotContains(t, a.Err.Error(), testToken)
		}
	}
}

// TestObserverOutcomeUnknown: the last attempt of a write that may have
// been applied says so.
func TestObserverOutcomeUnknown(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	c, mock := newMockClient(t, WithObserver(obs))
	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(502, "<html>bad gateway</html>"))
	_, err := c.WithAppAuthToken(testToken).MiniBaseInfoModify(context.Background(),
		&MiniBaseInfoModifyRequest{MiniCategoryIDs: "XS1011_XS2089"})
	require.ErrorIs(t, err, ErrOutcomeUnknown)
	seen := obs.attempts()
	require.Len(t, seen, 1)
	assert.True(t, seen[0].OutcomeUnknown)
	assert.False(t, seen[0].Retry)
	assert.Equal(t, 502, seen[0].StatusCode)
	assert.Equal(t, err, seen[0].Err)
}

// TestObserverNil: WithObserver(nil) is refused.
func TestObserverNil(t *testing.T) {
	t.Parallel()
	_, err := NewClient(testAppID, append(keyOptions(t), WithObserver(nil))...)
	require.EqualError(t, err, "alipay: WithObserver: nil observer")
}

// TestObserverSeesNoSecret: an observer gets each attempt's error before
// the call returns it; the token calls and the AES key calls, typed or
// through Call, scrub theirs (a token, a code or a key that a failure
// quotes) before the observer sees it and before returning it.
func TestObserverSeesNoSecret(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	const key = "JoRCASgqO5kV1lfdb5FpzQ=="
	tokens := `{"code":"10000","msg":"Success","app_auth_token":"` + testToken + `","app_refresh_token":"202405BBexampleRefreshToken00002","auth_app_id":"2021004000000002"}`
	quoting := func(sent string) string { // a sub_msg quoting what the request sent
		return `{"code":"40004","msg":"Business Failed","sub_code":"ILLEGAL_PARAM","sub_msg":"bad ` + sent + `"}`
	}
	forged := func(method, node string) string {
		return `{"` + nodeKey(method) + `":` + node + `,"sign":"` + g.sign("other") + `"}`
	}
	for name, tc := range map[string]struct {
		body string
		call func(c *Client) error
	}{
		"exchange, bad signature": {forged(methodAuthTokenApp, tokens), func(c *Client) error {
			_, err := c.AuthTokenApp(context.Background(), &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: testCode})
			return err
		}},
		"exchange, sub_msg quoting": {g.body(methodAuthTokenApp, quoting(testCode)), func(c *Client) error {
			_, err := c.AuthTokenApp(context.Background(), &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: testCode})
			return err
		}},
		"token query, sub_msg quoting": {g.body(methodAuthTokenAppQuery, quoting(testToken)), func(c *Client) error {
			_, err := c.AuthTokenAppQuery(context.Background(), &AuthTokenAppQueryRequest{AppAuthToken: NewSecret(testToken)})
			return err
		}},
		"aes.get, bad signature": {forged(methodAuthAppAESGet, `{"code":"10000","msg":"Success","aes_key":"`+key+`"}`), func(c *Client) error {
			_, err := c.AuthAppAESGet(context.Background(), &AuthAppAESGetRequest{MerchantAppID: katMerchantApp})
			return err
		}},
		"Call token.app, bad signature": {forged(methodAuthTokenApp, tokens), func(c *Client) error {
			_, err := c.Call(context.Background(), methodAuthTokenApp, map[string]string{"grant_type": "authorization_code"})
			return err
		}},
		"Call aes.get, bad signature": {forged(methodAuthAppAESGet, `{"code":"10000","msg":"Success","aes_key":"`+key+`"}`), func(c *Client) error {
			_, err := c.Call(context.Background(), methodAuthAppAESGet, map[string]string{"merchant_app_id": katMerchantApp})
			return err
		}},
	} {
		obs := &textObserver{}
		c, mock := newMockClient(t, WithObserver(obs), WithAESKey(isvAESKey), WithRetry(1, 0, 0))
		serveMock(t, mock, http.StatusOK, tc.body, nil)
		err := tc.call(c)
		require.Error(t, err, name)
		require.NotEmpty(t, obs.text(), name)
		for _, s := range []string{testToken, testCode, "202405BBexampleRefreshToken00002", key} {
			assert.NotContains(t, obs.text(), s, name)
			assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), s, name)
		}
	}
}

// textObserver keeps the text of every attempt's error.
type textObserver struct {
	mu   sync.Mutex
	errs []string
}

func (o *textObserver) StartCall(ctx context.Context, _ CallInfo) context.Context { return ctx }

func (o *textObserver) ObserveAttempt(_ context.Context, a *Attempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, fmt.Sprintf("%v %+v", a.Err, a.Err))
}

func (o *textObserver) text() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.errs, "\n")
}
