package alipay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Timing of the redirect handler.
const (
	codeLifetime     = 24 * time.Hour         // an app_auth_code's validity
	alreadyStoredFor = 3 * time.Second        // how long a spent code waits for the notify's record
	alreadyStoredGap = 300 * time.Millisecond // between two looks
)

// AuthRedirect is what the redirect handler hands to the user's function
// after the merchant authorised the ISV.
type AuthRedirect struct {
	// State is the verified state; State.Data is what the ISV gave Issue.
	State *State
	// Merchants are the stored records: one per authorised app (a batch
	// authorization grants several).
	Merchants []*Merchant
	// AlreadyStored is true when the code had been spent already and the
	// records come from the authorization notify (delivered first).
	AlreadyStored bool
}

// RedirectError is a refusal of the redirect handler: Status is the HTTP
// status it answers, Reason one of the Redirect… constants (a fixed text
// safe to show: it never holds the code, the state or a token), Err the
// cause (for logs).
type RedirectError struct {
	Status int
	Reason RedirectReason
	Err    error
}

// RedirectReason says why the redirect handler refused a request. Each
// value is also the text the default error page shows.
type RedirectReason string

// The reasons of [RedirectError]. The four state reasons tell a link that
// lost its state, one not issued by your key (forged, altered, cut), one
// too old and one used before apart.
const (
	// RedirectMethodNotAllowed: not a GET (405).
	RedirectMethodNotAllowed RedirectReason = "method not allowed"
	// RedirectRepeatedParam: state, app_auth_code or app_id given twice.
	RedirectRepeatedParam RedirectReason = "invalid authorization link: a parameter given twice"
	// RedirectStateMissing: no state parameter (not a link of yours).
	RedirectStateMissing RedirectReason = "authorization link without its state"
	// RedirectStateInvalid: a state not issued with your key: forged,
	// altered, cut or malformed.
	RedirectStateInvalid RedirectReason = "invalid authorization link"
	// RedirectStateExpired: a genuine state past its ttl.
	RedirectStateExpired RedirectReason = "expired authorization link"
	// RedirectStateUsed: a genuine state that came back before (a replay,
	// or the browser's reload).
	RedirectStateUsed RedirectReason = "authorization link used already"
	// RedirectOtherApp: app_id names another app than the client's.
	RedirectOtherApp RedirectReason = "authorization for another app"
	// RedirectBadCode: app_auth_code missing or not of a code's form.
	RedirectBadCode RedirectReason = "missing or malformed authorization code"
	// RedirectCodeSpent: Alipay answered AUTH_CODE_NOT_VALID and the
	// registry holds no record of the code from the authorization notify.
	RedirectCodeSpent RedirectReason = "authorization code used or expired"
	// RedirectRefused: Alipay refused the exchange otherwise (see Err).
	RedirectRefused RedirectReason = "authorization refused by Alipay"
	// RedirectUnreachable: the exchange failed without an answer (502).
	RedirectUnreachable RedirectReason = "Alipay could not be reached"
	// RedirectNotStored: the registry failed to store a token (500).
	RedirectNotStored RedirectReason = "the authorization could not be stored"
	// RedirectUnavailable: the state store failed (503).
	RedirectUnavailable RedirectReason = "try again later"
)

// Error returns the reason and the cause.
func (e *RedirectError) Error() string {
	if e.Err == nil {
		return "alipay: authorization redirect: " + string(e.Reason)
	}
	return "alipay: authorization redirect: " + string(e.Reason) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *RedirectError) Unwrap() error { return e.Err }

// RedirectOption configures [Client.AuthRedirectHandler].
type RedirectOption func(*redirectConfig) error

type redirectConfig struct {
	used    DedupeStore
	onError func(w http.ResponseWriter, r *http.Request, err *RedirectError)
}

// WithStateStore makes states and codes single-use through store (default:
// an in-memory [MemoryDedupeStore], which protects one process). Replicas
// behind a load balancer share one, e.g. redisstore's Store.
func WithStateStore(store DedupeStore) RedirectOption {
	return func(c *redirectConfig) error {
		if store == nil {
			return errors.New("alipay: WithStateStore: nil store")
		}
		c.used = store
		return nil
	}
}

// WithRedirectErrorPage answers refusals with fn (a branded page, a
// redirect) instead of a plain-text status.
func WithRedirectErrorPage(fn func(w http.ResponseWriter, r *http.Request, err *RedirectError)) RedirectOption {
	return func(c *redirectConfig) error {
		if fn == nil {
			return errors.New("alipay: WithRedirectErrorPage: nil function")
		}
		c.onError = fn
		return nil
	}
}

// AuthRedirectHandler returns the handler of the ISV's redirect URL: the
// RedirectURL of [Client.AuthAppAuthInviteCreate], where Alipay sends the
// merchant's browser after the authorization with the query parameters
// app_auth_code (the one-time code), app_id (the ISV's app id; another is
// refused) and state (the invitation's State, from [StateSigner.Issue]);
// other parameters are ignored. It checks the state (see
// [StateSigner]; missing, forged, expired and used states are refused, each
// state works once), exchanges the code with [Client.AuthTokenApp], records
// every authorised app in store ([Client.RecordAuthorization]), and calls
// done, which writes the answer (a page, a redirect). A code the
// authorization notify already spent counts as success when the notify's
// record of it is found (AlreadyStored). A code completes one redirect:
// brought again, even with another valid state, it is refused. A link
// whose code Alipay refuses for good (a verified failure other than
// AUTH_CODE_NOT_VALID) is spent as well; after any other failure it can
// be loaded again. The code is untrusted input: it is only ever sent to
// the gateway, and neither it nor the state nor a token appears in an
// answer or a log; answers carry Referrer-Policy: no-referrer and
// Cache-Control: no-store, since the page's URL holds the code.
//
// Configuration errors come back here, not at the first request.
func (c *Client) AuthRedirectHandler(store MerchantStore, states *StateSigner, done func(w http.ResponseWriter, r *http.Request, a *AuthRedirect), opts ...RedirectOption) (http.Handler, error) {
	switch {
	case c.merchant:
		return nil, errors.New("alipay: AuthRedirectHandler: needs the ISV's own client, not one derived with WithAppAuthToken")
	case store == nil || states == nil || done == nil:
		return nil, errors.New("alipay: AuthRedirectHandler: store, states and done are required")
	}
	cfg := redirectConfig{onError: plainRedirectError}
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("alipay: AuthRedirectHandler: option %d is nil", i)
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.used == nil {
		cfg.used = NewMemoryDedupeStore(0)
	}
	return &redirectHandler{c: c, store: store, states: states, done: done, cfg: cfg, wait: alreadyStoredFor}, nil
}

// plainRedirectError answers a refusal with its status and reason.
func plainRedirectError(w http.ResponseWriter, _ *http.Request, err *RedirectError) {
	http.Error(w, string(err.Reason), err.Status)
}

type redirectHandler struct {
	c      *Client
	store  MerchantStore
	states *StateSigner
	done   func(http.ResponseWriter, *http.Request, *AuthRedirect)
	cfg    redirectConfig
	wait   time.Duration // alreadyStoredFor; shorter in tests
}

func (h *redirectHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	a, err := h.serve(r)
	if err != nil {
		h.c.core.logger.LogAttrs(r.Context(), slog.LevelWarn, "alipay: authorization redirect refused",
			slog.Int("status", err.Status), slog.String("reason", string(err.Reason)), slog.Any("error", err.Err))
		h.cfg.onError(w, r, err)
		return
	}
	h.done(w, r, a)
}

// serve does the work of one redirect, up to calling done.
func (h *redirectHandler) serve(r *http.Request) (*AuthRedirect, *RedirectError) {
	refuse := func(status int, reason RedirectReason, err error) *RedirectError {
		return &RedirectError{Status: status, Reason: reason, Err: err}
	}
	if r.Method != http.MethodGet {
		return nil, refuse(http.StatusMethodNotAllowed, RedirectMethodNotAllowed, nil)
	}
	q := r.URL.Query()
	if len(q["state"]) > 1 || len(q["app_auth_code"]) > 1 || len(q["app_id"]) > 1 {
		return nil, refuse(http.StatusBadRequest, RedirectRepeatedParam, errors.New("a parameter given twice"))
	}
	st, err := h.states.Verify(q.Get("state"))
	if err != nil {
		reason := RedirectStateInvalid
		var se *stateError
		if errors.As(err, &se) {
			reason = se.reason
		}
		return nil, refuse(http.StatusBadRequest, reason, err)
	}
	if id := q.Get("app_id"); id != "" && id != h.c.core.appID {
		return nil, refuse(http.StatusBadRequest, RedirectOtherApp, nil)
	}
	code := q.Get("app_auth_code")
	if checkCredential(methodAuthTokenApp, "app_auth_code", code, "", "") != nil {
		return nil, refuse(http.StatusBadRequest, RedirectBadCode, nil)
	}
	// Not cancelled with the request: a code sent to Alipay is spent, and
	// its tokens must be stored even if the browser went away.
	bound := h.c.core.callBound() + 2*storeCallTimeout
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), bound)
	defer cancel()
	// The state and the code each complete one redirect. The code needs a
	// claim of its own: a spent code counts as success when the registry
	// holds its record (AlreadyStored), so a code read from a URL (a log,
	// the browser's history) would otherwise hand the merchants it
	// authorised to whoever brings it with a state of their own.
	keep := st.Expires.Sub(h.states.now()) + time.Minute // how long the state must stay used
	used := []usedKey{{id: "authstate:" + st.ID, lease: keep, ttl: keep},
		{id: "authcode:" + authCodeDigest(code)[:32], lease: bound + time.Minute, ttl: codeLifetime + time.Minute}}
	for i := range used {
		claim, token, err := h.cfg.used.Claim(ctx, used[i].id, used[i].lease)
		switch {
		case err != nil:
			h.release(ctx, used[:i])
			return nil, refuse(http.StatusServiceUnavailable, RedirectUnavailable, err)
		case claim != ClaimAcquired && i == 0:
			return nil, refuse(http.StatusBadRequest, RedirectStateUsed, &stateError{reason: RedirectStateUsed, text: "used"})
		case claim != ClaimAcquired:
			h.release(ctx, used[:i])
			return nil, refuse(http.StatusBadRequest, RedirectCodeSpent, errors.New("the code completed a redirect already"))
		}
		used[i].token = token
	}
	a, rerr := h.exchange(ctx, code)
	var apiErr *APIError
	switch {
	case rerr != nil && errors.As(rerr.Err, &apiErr) && apiErr.Verified && apiErr.SubCode != SubCodeAuthCodeNotValid:
		// Alipay refused the code for good: the link is spent too, or one
		// state would let its holder make the ISV call Alipay without end.
		h.finish(ctx, used)
		return nil, rerr
	case rerr != nil:
		h.release(ctx, used) // a failed attempt may be retried
		return nil, rerr
	}
	h.finish(ctx, used)
	a.State = st
	return a, nil
}

// finish records the claims of keys as used.
func (h *redirectHandler) finish(ctx context.Context, keys []usedKey) {
	for _, u := range keys {
		if err := h.cfg.used.Done(ctx, u.id, u.token, u.ttl); err != nil {
			h.c.core.logger.LogAttrs(ctx, slog.LevelWarn, "alipay: authorization state or code not recorded as used",
				slog.String("error", err.Error()))
		}
	}
}

// usedKey is a claim of the redirect in its DedupeStore: the state's, or
// the code's.
type usedKey struct {
	id         string
	lease, ttl time.Duration
	token      string
}

// release gives up the claims of keys; a failed Release only waits for
// the lease.
func (h *redirectHandler) release(ctx context.Context, keys []usedKey) {
	for _, u := range keys {
		_ = h.cfg.used.Release(ctx, u.id, u.token)
	}
}

// exchange turns the code into stored records.
func (h *redirectHandler) exchange(ctx context.Context, code string) (*AuthRedirect, *RedirectError) {
	res, err := h.c.AuthTokenApp(ctx, &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: code})
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Verified && apiErr.SubCode == SubCodeAuthCodeNotValid:
		ms, ferr := h.alreadyStored(ctx, authCodeDigest(code))
		if ferr != nil || len(ms) == 0 {
			return nil, &RedirectError{Status: http.StatusBadRequest, Reason: RedirectCodeSpent, Err: errors.Join(err, ferr)}
		}
		return &AuthRedirect{Merchants: ms, AlreadyStored: true}, nil
	case apiErr != nil:
		return nil, &RedirectError{Status: http.StatusBadRequest, Reason: RedirectRefused, Err: err}
	case err != nil:
		return nil, &RedirectError{Status: http.StatusBadGateway, Reason: RedirectUnreachable, Err: err}
	}
	a := &AuthRedirect{}
	for _, tok := range res.Tokens {
		m, err := h.c.RecordAuthorization(ctx, h.store, Authorization{Token: tok, Source: "redirect", Code: code})
		if err != nil {
			return nil, &RedirectError{Status: http.StatusInternalServerError, Reason: RedirectNotStored, Err: err}
		}
		a.Merchants = append(a.Merchants, m)
	}
	return a, nil
}

// alreadyStored returns the authorized records whose authorization came
// from the code with digest within its lifetime, waiting a little for a
// notify that is still being stored.
func (h *redirectHandler) alreadyStored(ctx context.Context, digest string) ([]*Merchant, error) {
	deadline := time.Now().Add(h.wait)
	for {
		ids, err := h.store.AppIDsByAuthCode(ctx, digest)
		if err != nil {
			return nil, err
		}
		var ms []*Merchant
		for _, id := range ids {
			m, err := h.store.Get(ctx, id)
			if err != nil {
				return nil, err
			}
			if m.AuthCodeDigest == digest && m.State == MerchantAuthorized && h.c.core.now().Sub(m.AuthorizedAt) < codeLifetime {
				ms = append(ms, m)
			}
		}
		if len(ms) > 0 || time.Now().After(deadline) {
			return ms, nil
		}
		if err := sleepCtx(ctx, alreadyStoredGap); err != nil {
			return nil, err
		}
	}
}
