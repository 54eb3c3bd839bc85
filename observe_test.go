package alipay

import (
	"context"
	"net/http"
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
