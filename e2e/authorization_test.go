package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The merchant authorization end to end, against alipaytest playing
// Alipay and the merchant: the ISV's backend (registry, app gateway,
// redirect URL) uses only the exported API.

const authzMerchant = "2021004000000777"

// TestAuthCodeSingleUseAndExpiring: an app_auth_code is exchanged once; a
// second exchange is a verified refusal, never retried, and a redirect
// bringing the spent code (nothing stored by a notify) stores nothing. A
// forged state spends nothing. A code past its life (24 h on Alipay's
// clock) is refused too.
func TestAuthCodeSingleUseAndExpiring(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t, false)
	ctx := storyCtx(t)
	code, err := w.gw.Authorize(authzMerchant, alipaytest.AuthNoNotify())
	require.NoError(t, err)

	// A forged state is refused before the code is sent.
	q := url.Values{"app_auth_code": {code}, "state": {w.state(t) + "x"}}
	status, _ := w.getAlready(t, "/authorized?"+q.Encode())
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Zero(t, w.gw.RequestCount("alipay.open.auth.token.app"))

	res, err := w.isv.AuthTokenApp(ctx, &alipay.AuthTokenAppRequest{GrantType: alipay.GrantAuthorizationCode, Code: code})
	require.NoError(t, err)
	tok, ok := res.Token(authzMerchant)
	require.True(t, ok)
	assert.Equal(t, w.liveToken(t, authzMerchant), tok.AppAuthToken.Reveal())

	_, err = w.isv.AuthTokenApp(ctx, &alipay.AuthTokenAppRequest{GrantType: alipay.GrantAuthorizationCode, Code: code})
	authzRequireAPIError(t, err, alipay.SubCodeAuthCodeNotValid)
	assert.Equal(t, 2, w.gw.RequestCount("alipay.open.auth.token.app"), "an exchange is never retried")

	status, _ = w.redirect(t, code)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Zero(t, w.store.Len())

	code, err = w.gw.Authorize(authzMerchant, alipaytest.AuthNoNotify())
	require.NoError(t, err)
	w.clock.advance(alipaytest.DefaultAuthCodeTTL + time.Minute)
	_, err = w.isv.AuthTokenApp(ctx, &alipay.AuthTokenAppRequest{GrantType: alipay.GrantAuthorizationCode, Code: code})
	authzRequireAPIError(t, err, alipay.SubCodeAuthCodeNotValid)
	assert.Zero(t, w.store.Len())
}

// TestNotifyAndRedirectOneRecord: Alipay delivers one authorization twice,
// by the authorization notify and by the merchant's browser at the
// redirect URL; in either order, and when the exchange's answer is lost,
// the registry holds one record, authorised once, with the live token.
func TestNotifyAndRedirectOneRecord(t *testing.T) {
	t.Parallel()
	for name, order := range map[string]string{
		"notify first":         "notify",
		"redirect first":       "redirect",
		"exchange answer lost": "lost",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newAuthzWorld(t, order == "redirect")
			code, err := w.gw.Authorize(authzMerchant)
			require.NoError(t, err)
			switch order {
			case "notify":
				w.waitAuthorized(t, authzMerchant)
				status, already := w.redirect(t, code)
				require.Equal(t, http.StatusOK, status)
				assert.False(t, already, "the code was still unspent: exchanged")
			case "redirect":
				status, _ := w.redirect(t, code)
				require.Equal(t, http.StatusOK, status)
				close(w.release) // now the notify arrives
				require.NoError(t, w.gw.WaitNotifications(storyCtx(t)))
			case "lost":
				w.waitAuthorized(t, authzMerchant)
				require.NoError(t, w.gw.InjectFault(alipaytest.Fault{
					Method: "alipay.open.auth.token.app", Kind: alipaytest.FaultDisconnect, Count: 1}))
				state := w.state(t)
				u := "/authorized?" + url.Values{"app_auth_code": {code}, "state": {state}}.Encode()
				status, _ := w.getAlready(t, u)
				assert.Equal(t, http.StatusBadGateway, status, "the exchange's answer was lost")
				status, already := w.getAlready(t, u) // the merchant reloads the page: same state
				require.Equal(t, http.StatusOK, status)
				assert.True(t, already, "the code was spent; the notify's record counts")
			}
			require.Equal(t, 1, w.store.Len())
			rec, err := w.store.Get(storyCtx(t), authzMerchant)
			require.NoError(t, err)
			assert.Equal(t, alipay.MerchantAuthorized, rec.State)
			assert.Len(t, rec.History, 1, "one authorization, one event")
			assert.Equal(t, w.liveToken(t, authzMerchant), rec.AppAuthToken.Reveal())
			assert.NotEmpty(t, rec.AuthCodeDigest)
			assert.NotContains(t, rec.AuthCodeDigest, code)
		})
	}
}

// TestRefreshOldTokenDiesAfterGrace: a refresh gives a new token; the old
// one keeps working for Alipay's grace period, then answers 20001.
// Concurrent refreshes of one merchant make one call.
func TestRefreshOldTokenDiesAfterGrace(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t, false, alipaytest.WithRefreshGrace(10*time.Minute))
	ctx := storyCtx(t)
	_, err := w.gw.Authorize(authzMerchant)
	require.NoError(t, err)
	old := w.waitAuthorized(t, authzMerchant).AppAuthToken.Reveal()

	before := w.gw.RequestCount("alipay.open.auth.token.app")
	// A slow answer keeps the first refresh in flight while the others join.
	require.NoError(t, w.gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultDelay,
		Method: "alipay.open.auth.token.app", Count: 1, Delay: 300 * time.Millisecond}))
	recs := make([]*alipay.Merchant, 5)
	var wg sync.WaitGroup
	for i := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := w.isv.RefreshMerchant(ctx, w.store, authzMerchant)
			assert.NoError(t, err)
			recs[i] = rec
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, w.gw.RequestCount("alipay.open.auth.token.app")-before, "one refresh for five callers")
	fresh := recs[0].AppAuthToken.Reveal()
	require.NotEqual(t, old, fresh)
	for _, r := range recs {
		assert.Equal(t, fresh, r.AppAuthToken.Reveal())
	}
	assert.Equal(t, w.liveToken(t, authzMerchant), fresh)

	stale := w.isv.WithAppAuthToken(old)
	_, err = stale.MiniBaseInfoQuery(ctx, nil)
	require.NoError(t, err, "the old token works during the grace period")
	w.clock.advance(11 * time.Minute)
	_, err = stale.MiniBaseInfoQuery(ctx, nil)
	assert.True(t, alipay.IsAppAuthTokenInvalid(err), "after the grace period the old token is dead: %v", err)

	m, err := w.isv.ForMerchant(ctx, w.store, authzMerchant)
	require.NoError(t, err)
	_, err = m.MiniBaseInfoQuery(ctx, nil)
	require.NoError(t, err)
}

// TestCancelledMerchant: the merchant cancels; the cancelled message
// flows through NewNotifyHandler, which confirms it with
// AuthTokenAppQuery and marks the record (token and history kept). The
// next ForMerchant is a typed refusal saying why, and a client taken
// before the cancellation gets a typed 20001.
func TestCancelledMerchant(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t, false)
	ctx := storyCtx(t)
	before := w.authorized(t)

	require.NoError(t, w.gw.CancelAuthorization(authzMerchant))
	require.NoError(t, w.gw.WaitNotifications(ctx))
	select {
	case ev := <-w.cancelled:
		assert.Equal(t, authzMerchant, ev.AuthAppID)
		assert.True(t, ev.Confirmed, "confirmed with AuthTokenAppQuery")
	default:
		t.Fatal("the cancelled message did not reach its route")
	}
	assert.Positive(t, w.gw.RequestCount("alipay.open.auth.token.app.query"))
	rec, err := w.store.Get(ctx, authzMerchant)
	require.NoError(t, err)
	assert.Equal(t, alipay.MerchantCancelled, rec.State)
	assert.Equal(t, "alipay.open.auth.appauth.cancelled", rec.Reason)
	assert.False(t, rec.AppAuthToken.IsZero(), "history is kept")
	require.NotEmpty(t, rec.History)
	assert.Equal(t, alipay.MerchantCancelled, rec.History[len(rec.History)-1].State)

	_, err = w.isv.ForMerchant(ctx, w.store, authzMerchant)
	var se *alipay.MerchantStateError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, alipay.MerchantCancelled, se.State)
	assert.Equal(t, "alipay.open.auth.appauth.cancelled", se.Reason)
	assert.True(t, alipay.IsReauthorizationNeeded(err))

	_, err = before.MiniBaseInfoQuery(ctx, nil)
	assert.True(t, alipay.IsReauthorizationNeeded(err), "%v", err)
	var apiErr *alipay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "20001", apiErr.Code)
	rec, err = w.store.Get(ctx, authzMerchant)
	require.NoError(t, err)
	assert.Equal(t, alipay.MerchantCancelled, rec.State, "the 20001 does not overwrite why")
}

// TestTokenError20001MarksNeedsReauthorization: without the cancelled
// message (lost, or not subscribed), the first call that meets 20001
// marks the merchant, with the sub_code and the method as the reason.
func TestTokenError20001MarksNeedsReauthorization(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t, false)
	ctx := storyCtx(t)
	m := w.authorized(t)
	require.NoError(t, w.gw.SetNotifyURL(""))
	require.NoError(t, w.gw.CancelAuthorization(authzMerchant))

	_, err := m.AppAPIQuery(ctx, nil)
	assert.True(t, alipay.IsReauthorizationNeeded(err), "%v", err)
	assert.True(t, alipay.IsAppAuthTokenInvalid(err))
	rec, err := w.store.Get(ctx, authzMerchant)
	require.NoError(t, err)
	assert.Equal(t, alipay.MerchantNeedsReauthorization, rec.State)
	assert.Contains(t, rec.Reason, "aop.invalid-app-auth-token")
	assert.Contains(t, rec.Reason, "alipay.open.app.api.query")

	_, err = w.isv.ForMerchant(ctx, w.store, authzMerchant)
	var se *alipay.MerchantStateError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, alipay.MerchantNeedsReauthorization, se.State)
}

// TestTokenError20001AfterAnotherRefresh: a client holding a token that
// another replica refreshed away gets 20001, but nothing is marked: the
// registry holds the new token, and ForMerchant gives a working client.
func TestTokenError20001AfterAnotherRefresh(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t, false)
	ctx := storyCtx(t)
	m := w.authorized(t)
	_, err := w.isv.RefreshMerchant(ctx, w.store, authzMerchant) // "another replica"; the old token dies at once
	require.NoError(t, err)

	_, err = m.AppAPIQuery(ctx, nil)
	assert.True(t, alipay.IsAppAuthTokenInvalid(err), "%v", err)
	rec, err := w.store.Get(ctx, authzMerchant)
	require.NoError(t, err)
	assert.Equal(t, alipay.MerchantAuthorized, rec.State, "a newer token is stored: nothing to mark")
	m, err = w.isv.ForMerchant(ctx, w.store, authzMerchant)
	require.NoError(t, err)
	_, err = m.AppAPIQuery(ctx, nil)
	require.NoError(t, err)
}

// authzWorld is the ISV's backend (registry, app gateway, redirect URL)
// and alipaytest, on one adjustable clock.
type authzWorld struct {
	gw        *alipaytest.Server
	isv       *alipay.Client
	store     *alipay.MemoryMerchantStore
	states    *alipay.StateSigner
	app       string
	clock     *storyClock
	release   chan struct{} // the notify handler waits for it to close
	cancelled chan *alipay.AuthAppAuthCancelled
	browser   *http.Client
}

// newAuthzWorld builds the world; with holdNotify the app gateway holds
// every notification until w.release is closed.
func newAuthzWorld(t *testing.T, holdNotify bool, opts ...alipaytest.Option) *authzWorld {
	w := &authzWorld{
		store: alipay.NewMemoryMerchantStore(), clock: &storyClock{now: time.Now()},
		release: make(chan struct{}), cancelled: make(chan *alipay.AuthAppAuthCancelled, 4),
		browser: &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	if !holdNotify {
		close(w.release)
	}
	mux := http.NewServeMux()
	w.app = storyBackend(t, mux)
	gw, err := alipaytest.NewServer(append([]alipaytest.Option{alipaytest.WithTB(t),
		alipaytest.WithNotifyURL(w.app + "/notify"), alipaytest.WithClock(w.clock.Now)}, opts...)...)
	require.NoError(t, err)
	w.gw = gw
	w.isv, err = gw.NewClient(alipay.WithClock(w.clock.Now))
	require.NoError(t, err)
	w.states, err = alipay.NewStateSigner([]byte(strings.Repeat("authz-state-key!", 2)), time.Hour)
	require.NoError(t, err)
	notify, err := w.isv.NewNotifyHandler(alipay.NotifyRoutes{
		AuthAppAuthCancelled: func(_ context.Context, _ *alipay.Notification, ev *alipay.AuthAppAuthCancelled) error {
			w.cancelled <- ev
			return nil
		},
	}, alipay.WithNotifyMerchantStore(w.store))
	require.NoError(t, err)
	redirect, err := w.isv.AuthRedirectHandler(w.store, w.states, func(rw http.ResponseWriter, _ *http.Request, a *alipay.AuthRedirect) {
		if a.AlreadyStored {
			rw.Header().Set("X-Already-Stored", "1")
		}
		rw.WriteHeader(http.StatusOK)
	})
	require.NoError(t, err)
	mux.Handle("/notify", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		<-w.release
		notify.ServeHTTP(rw, r)
	}))
	mux.Handle("/authorized", redirect)
	t.Cleanup(func() {
		select {
		case <-w.release:
		default:
			close(w.release)
		}
	})
	return w
}

func (w *authzWorld) state(t *testing.T) string {
	s, err := w.states.Issue("isv-account-1")
	require.NoError(t, err)
	return s
}

// redirect plays the merchant's browser bringing code, with a new state.
func (w *authzWorld) redirect(t *testing.T, code string) (status int, alreadyStored bool) {
	return w.getAlready(t, "/authorized?"+url.Values{"app_auth_code": {code}, "state": {w.state(t)}}.Encode())
}

func (w *authzWorld) getAlready(t *testing.T, path string) (int, bool) {
	t.Helper()
	res, err := w.browser.Get(w.app + path)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("X-Already-Stored") != ""
}

// waitAuthorized waits for the registry to hold the merchant authorised
// (the notify is delivered in the background).
func (w *authzWorld) waitAuthorized(t *testing.T, appID string) *alipay.Merchant {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m, err := w.store.Get(context.Background(), appID)
		if err == nil && m.State == alipay.MerchantAuthorized {
			return m
		}
		require.True(t, time.Now().Before(deadline), "the merchant was never stored: %v", err)
		time.Sleep(10 * time.Millisecond)
	}
}

// authorized plays the merchant authorising the ISV (the notify stores
// the token) and returns the merchant's client from the registry.
func (w *authzWorld) authorized(t *testing.T) *alipay.Client {
	t.Helper()
	_, err := w.gw.Authorize(authzMerchant)
	require.NoError(t, err)
	w.waitAuthorized(t, authzMerchant)
	m, err := w.isv.ForMerchant(storyCtx(t), w.store, authzMerchant)
	require.NoError(t, err)
	return m
}

// liveToken returns the merchant's token that works now, on the gateway.
func (w *authzWorld) liveToken(t *testing.T, appID string) string {
	t.Helper()
	for _, g := range w.gw.Grants(appID) {
		if g.Live && g.ExpiresAt.IsZero() {
			return g.Token
		}
	}
	t.Fatal("no live token")
	return ""
}

func authzRequireAPIError(t *testing.T, err error, subCode string) {
	t.Helper()
	var apiErr *alipay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, apiErr.Verified)
	assert.Equal(t, subCode, apiErr.SubCode)
	assert.False(t, alipay.IsTransient(err))
	assert.False(t, errors.Is(err, alipay.ErrOutcomeUnknown))
}
