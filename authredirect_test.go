package alipay

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redirectRig is a redirect handler over a mock gateway and a memory store.
type redirectRig struct {
	h      http.Handler
	store  *MemoryMerchantStore
	states *StateSigner
	logs   *bytes.Buffer
	sent   *atomic.Int32 // token.app calls that reached the gateway
	done   *atomic.Int32 // calls of done
	last   *AuthRedirect
}

// newRedirectRig answers token.app with node (signed) or, when status is
// not 200, with that status; with more nodes, the n-th exchange gets the
// n-th node (the last one from then on).
func newRedirectRig(t *testing.T, status int, node string, more ...string) *redirectRig {
	t.Helper()
	logs := &bytes.Buffer{}
	c, mock := newMockClient(t, WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	rig := &redirectRig{store: NewMemoryMerchantStore(), states: testStateSigner(t, 7), logs: logs,
		sent: &atomic.Int32{}, done: &atomic.Int32{}}
	var bodies []string
	for _, n := range append([]string{node}, more...) {
		bodies = append(bodies, newGatewaySigner(t).body(methodAuthTokenApp, n))
	}
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		n := int(rig.sent.Add(1))
		return httpmock.NewStringResponse(status, bodies[min(n, len(bodies))-1]), nil
	})
	h, err := c.AuthRedirectHandler(rig.store, rig.states, func(w http.ResponseWriter, _ *http.Request, a *AuthRedirect) {
		rig.done.Add(1)
		rig.last = a
		_, _ = w.Write([]byte("welcome " + a.State.Data))
	})
	require.NoError(t, err)
	h.(*redirectHandler).wait = 0
	rig.h = h
	return rig
}

// get requests the redirect URL with query and returns the answer.
func (rig *redirectRig) get(query url.Values) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	rig.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/alipay/authorized?"+query.Encode(), nil))
	return rec
}

// link returns the query of a redirect with a fresh state.
func (rig *redirectRig) link(t *testing.T) url.Values {
	t.Helper()
	st, err := rig.states.Issue("isv-user-42")
	require.NoError(t, err)
	return url.Values{"app_id": {testAppID}, "app_auth_code": {testCode}, "state": {st}}
}

// assertQuiet checks that no answer or log holds the code, a state or a token.
func (rig *redirectRig) assertQuiet(t *testing.T, rec *httptest.ResponseRecorder, state string) {
	t.Helper()
	for _, s := range []string{testCode, testToken, "202405BBexampleRefreshToken00002", state} {
		if s == "" {
			continue
		}
		assert.NotContains(t, rec.Body.String(), s)
		assert.NotContains(t, rig.logs.String(), s)
	}
	assert.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
}

// TestAuthRedirectStores: a valid redirect exchanges the code, stores the
// merchant and calls done once; the same link again is refused without a
// second exchange.
func TestAuthRedirectStores(t *testing.T) {
	t.Parallel()
	rig := newRedirectRig(t, http.StatusOK, nodeToken)
	q := rig.link(t)
	rec := rig.get(q)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "welcome isv-user-42", rec.Body.String())
	require.Len(t, rig.last.Merchants, 1)
	assert.False(t, rig.last.AlreadyStored)
	m, err := rig.store.Get(context.Background(), "2021004000000002")
	require.NoError(t, err)
	assert.Equal(t, testToken, m.AppAuthToken.Reveal())
	assert.Equal(t, authCodeDigest(testCode), m.AuthCodeDigest)
	rig.assertQuiet(t, rec, q.Get("state"))

	again := rig.get(q)
	assert.Equal(t, http.StatusBadRequest, again.Code, "a replayed link")
	assert.Equal(t, string(RedirectStateUsed), strings.TrimSpace(again.Body.String()))
	assert.Equal(t, int32(1), rig.sent.Load(), "one exchange")
	assert.Equal(t, int32(1), rig.done.Load())
	rig.assertQuiet(t, again, q.Get("state"))
}

// TestAuthRedirectRefuses: missing, forged, altered or expired states, a
// missing code, another app id, another method: refused before any
// exchange, done never called, nothing echoed.
func TestAuthRedirectRefuses(t *testing.T) {
	t.Parallel()
	rig := newRedirectRig(t, http.StatusOK, nodeToken)
	forged, err := testStateSigner(t, 8).Issue("isv-user-42")
	require.NoError(t, err)
	expiredSigner := testStateSigner(t, 7)
	expiredSigner.now = func() time.Time { return fixedTime.Add(-time.Hour) }
	expired, err := expiredSigner.Issue("isv-user-42")
	require.NoError(t, err)
	good := rig.link(t)
	altered := good.Get("state")
	altered = altered[:10] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", altered[10])+1)%16]) + altered[11:]
	with := func(k, v string) url.Values {
		q := url.Values{}
		for key, vs := range good {
			q[key] = append([]string(nil), vs...)
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	for name, tc := range map[string]struct {
		q      url.Values
		reason RedirectReason
	}{
		"missing state":  {with("state", ""), RedirectStateMissing},
		"forged state":   {with("state", forged), RedirectStateInvalid},
		"altered state":  {with("state", altered), RedirectStateInvalid},
		"expired state":  {with("state", expired), RedirectStateExpired},
		"missing code":   {with("app_auth_code", ""), RedirectBadCode},
		"malformed code": {with("app_auth_code", "a b"), RedirectBadCode},
		"other app":      {with("app_id", "2021000000000999"), RedirectOtherApp},
		"two states":     {func() url.Values { q := with("", ""); q.Add("state", forged); return q }(), RedirectRepeatedParam},
	} {
		rec := rig.get(tc.q)
		assert.Equal(t, http.StatusBadRequest, rec.Code, name)
		assert.Equal(t, string(tc.reason), strings.TrimSpace(rec.Body.String()), name)
		rig.assertQuiet(t, rec, tc.q.Get("state"))
	}
	post := httptest.NewRecorder()
	rig.h.ServeHTTP(post, httptest.NewRequest(http.MethodPost, "/alipay/authorized?"+good.Encode(), nil))
	assert.Equal(t, http.StatusMethodNotAllowed, post.Code)
	assert.Zero(t, rig.sent.Load(), "nothing was exchanged")
	assert.Zero(t, rig.done.Load())
	assert.Zero(t, rig.store.Len())

	rec := rig.get(good)
	assert.Equal(t, http.StatusOK, rec.Code, "the good link still works: refusals spent nothing")
}

// TestAuthRedirectAlreadyStored: a code the notify spent counts as success
// when the notify's record of it is there, and fails otherwise.
func TestAuthRedirectAlreadyStored(t *testing.T) {
	t.Parallel()
	node := failNode("40004", "Business Failed", SubCodeAuthCodeNotValid, "授权码已使用")
	rig := newRedirectRig(t, http.StatusOK, node)
	rec := rig.get(rig.link(t))
	assert.Equal(t, http.StatusBadRequest, rec.Code, "no record of the code")
	assert.Zero(t, rig.done.Load())

	c, _ := newMockClient(t)
	a := testAuthorization(testToken, fixedTime.Add(-time.Minute))
	a.Code = testCode
	_, err := c.RecordAuthorization(context.Background(), rig.store, a)
	require.NoError(t, err)
	q := rig.link(t)
	rec = rig.get(q)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.True(t, rig.last.AlreadyStored)
	require.Len(t, rig.last.Merchants, 1)
	assert.Equal(t, testMerchant, rig.last.Merchants[0].AppID)
	rig.assertQuiet(t, rec, q.Get("state"))
}

// TestAuthRedirectSpentCodeReplayed: a code that completed a redirect
// (exchanged, or spent by the notify and found in the registry) cannot
// complete another one with a state of someone else: otherwise whoever
// reads the code from a URL (an access log, the browser's history) gets
// the merchants it authorised linked to their own account.
func TestAuthRedirectSpentCodeReplayed(t *testing.T) {
	t.Parallel()
	spent := failNode("40004", "Business Failed", SubCodeAuthCodeNotValid, "授权码已使用")
	attacker := func(t *testing.T, rig *redirectRig) url.Values {
		st, err := rig.states.Issue("attacker")
		require.NoError(t, err)
		return url.Values{"app_id": {testAppID}, "app_auth_code": {testCode}, "state": {st}}
	}
	t.Run("exchanged", func(t *testing.T) {
		t.Parallel()
		rig := newRedirectRig(t, http.StatusOK, nodeToken, spent)
		require.Equal(t, http.StatusOK, rig.get(rig.link(t)).Code)
		rec := rig.get(attacker(t, rig))
		assert.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
		assert.Equal(t, int32(1), rig.done.Load(), "done never sees the attacker's state")
		assert.Equal(t, "isv-user-42", rig.last.State.Data)
	})
	t.Run("spent by the notify", func(t *testing.T) {
		t.Parallel()
		rig := newRedirectRig(t, http.StatusOK, spent)
		c, _ := newMockClient(t)
		a := testAuthorization(testToken, fixedTime.Add(-time.Minute))
		a.Code = testCode
		_, err := c.RecordAuthorization(context.Background(), rig.store, a)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rig.get(rig.link(t)).Code)
		require.True(t, rig.last.AlreadyStored)
		rec := rig.get(attacker(t, rig))
		assert.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
		assert.Equal(t, int32(1), rig.done.Load(), "done never sees the attacker's state")
		assert.Equal(t, "isv-user-42", rig.last.State.Data)
		rig.assertQuiet(t, rec, "")
	})
}

// TestAuthRedirectGatewayDown: a failed exchange answers 502 and leaves
// the link usable for a retry.
func TestAuthRedirectGatewayDown(t *testing.T) {
	t.Parallel()
	rig := newRedirectRig(t, http.StatusBadGateway, nodeToken)
	q := rig.link(t)
	rec := rig.get(q)
	assert.Equal(t, http.StatusBadGateway, rec.Code)
	rec = rig.get(q)
	assert.Equal(t, http.StatusBadGateway, rec.Code, "released: the retry reached the gateway again")
	assert.Equal(t, int32(2), rig.sent.Load())
	rig.assertQuiet(t, rec, q.Get("state"))
}

func TestAuthRedirectHandlerConfig(t *testing.T) {
	t.Parallel()
	c, _ := newMockClient(t)
	s, st := NewMemoryMerchantStore(), testStateSigner(t, 1)
	done := func(http.ResponseWriter, *http.Request, *AuthRedirect) {}
	for name, build := range map[string]func() (http.Handler, error){
		"merchant client": func() (http.Handler, error) { return c.WithAppAuthToken(testToken).AuthRedirectHandler(s, st, done) },
		"nil store":       func() (http.Handler, error) { return c.AuthRedirectHandler(nil, st, done) },
		"nil signer":      func() (http.Handler, error) { return c.AuthRedirectHandler(s, nil, done) },
		"nil done":        func() (http.Handler, error) { return c.AuthRedirectHandler(s, st, nil) },
		"nil option":      func() (http.Handler, error) { return c.AuthRedirectHandler(s, st, done, nil) },
		"nil state store": func() (http.Handler, error) { return c.AuthRedirectHandler(s, st, done, WithStateStore(nil)) },
		"nil error page":  func() (http.Handler, error) { return c.AuthRedirectHandler(s, st, done, WithRedirectErrorPage(nil)) },
	} {
		h, err := build()
		assert.Error(t, err, name)
		assert.Nil(t, h, name)
	}
	var got *RedirectError
	h, err := c.AuthRedirectHandler(s, st, done, WithStateStore(NewMemoryDedupeStore(10)),
		WithRedirectErrorPage(func(w http.ResponseWriter, _ *http.Request, e *RedirectError) {
			got = e
			w.WriteHeader(http.StatusTeapot)
		}))
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/cb", nil))
	assert.Equal(t, http.StatusTeapot, rec.Code)
	require.NotNil(t, got)
	assert.Equal(t, http.StatusBadRequest, got.Status)
	assert.True(t, errors.Is(got, ErrInvalidState))
	assert.Equal(t, RedirectStateMissing, got.Reason, "typed: no string matching")
}

// TestAuthRedirectRefusedCodeSpendsTheLink: a code Alipay refuses for good
// (a verified failure other than AUTH_CODE_NOT_VALID) spends the link, so
// that one state cannot make the ISV call token.app without end (its
// holder trying one made-up code after another).
func TestAuthRedirectRefusedCodeSpendsTheLink(t *testing.T) {
	t.Parallel()
	rig := newRedirectRig(t, http.StatusOK, failNode("40004", "Business Failed", SubCodeAuthCodeNotExist, "授权码不存在"))
	q := rig.link(t)
	assert.Equal(t, http.StatusBadRequest, rig.get(q).Code)
	for _, code := range []string{"made-up-code-0001", "made-up-code-0002"} {
		q.Set("app_auth_code", code)
		assert.Equal(t, http.StatusBadRequest, rig.get(q).Code)
	}
	assert.Equal(t, int32(1), rig.sent.Load(), "one exchange per link")
	assert.Zero(t, rig.done.Load())
}
