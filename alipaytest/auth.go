package alipaytest

import (
	"errors"
	"fmt"
	"time"
)

// Authorization lifetimes.
const (
	// DefaultAuthCodeTTL is how long an app_auth_code can be exchanged
	// ([WithAuthCodeTTL]): 24 hours, as Alipay documents.
	DefaultAuthCodeTTL = 24 * time.Hour
	// DefaultRefreshGrace is how long a token superseded by a refresh or a
	// new authorization keeps working ([WithRefreshGrace]). Alipay says
	// only "within a certain time"; the fake takes the strictest reading:
	// it dies at once.
	DefaultRefreshGrace = time.Duration(0)
	// expiresIn and reExpiresIn are the expires_in and re_expires_in the
	// server answers, in seconds (the values real answers carry).
	expiresIn   = 31536000
	reExpiresIn = 32140800
)

// ErrNotAuthorized: the merchant has no live authorization to cancel
// ([Server.CancelAuthorization]).
var ErrNotAuthorized = errors.New("alipaytest: merchant has no live authorization")

// authCode is an app_auth_code: single use, it expires.
type authCode struct {
	isvAppID  string
	grants    []*grant // one per authorised app (a batch authorization has several)
	expiresAt time.Time
	used      bool
}

// AuthOption configures one [Server.Authorize].
type AuthOption func(*authorizeConfig)

type authorizeConfig struct {
	isvAppID string
	batch    []string
	noNotify bool
	outBizNo string
}

// AuthISVApp names the third-party app the merchant authorises (default
// [DefaultAppID]); it must be known to the server.
func AuthISVApp(appID string) AuthOption {
	return func(c *authorizeConfig) { c.isvAppID = appID }
}

// AuthBatch makes a batch authorization (批量授权): the merchant's other
// mini-programs appIDs are authorised under the same app_auth_code, whose
// exchange answers one tokens[] entry per app.
func AuthBatch(appIDs ...string) AuthOption {
	return func(c *authorizeConfig) { c.batch = append(c.batch, appIDs...) }
}

// AuthNoNotify skips the open_app_auth_notify that Authorize otherwise
// POSTs when a notify URL is set: the ISV then learns the token only by
// exchanging the code.
func AuthNoNotify() AuthOption {
	return func(c *authorizeConfig) { c.noNotify = true }
}

// AuthOutBizNo sets the ISV's correlation value of the authorization link,
// which the notify carries as notify_context.trigger_context.out_biz_no.
func AuthOutBizNo(v string) AuthOption {
	return func(c *authorizeConfig) { c.outBizNo = v }
}

// Authorize plays a merchant authorising an ISV app for its mini-program
// merchantAppID (a merchant the server does not know yet is created, with
// [DefaultFields] and the default merchant's base info). It issues a new
// app_auth_token at once and returns the app_auth_code the merchant's
// browser would carry to the ISV's redirect URL: single use, exchangeable
// with alipay.open.auth.token.app until [WithAuthCodeTTL] passes on the
// server clock. The merchant's earlier tokens die after [WithRefreshGrace];
// a mini-program is authorised to one app at a time.
//
// When a notify URL is set (and not [AuthNoNotify]) it also POSTs the
// signed open_app_auth_notify (1.0 protocol, verified with V1), one per
// authorised app, carrying the new token.
func (s *Server) Authorize(merchantAppID string, opts ...AuthOption) (code string, err error) {
	cfg := authorizeConfig{isvAppID: DefaultAppID}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	ids := append([]string{merchantAppID}, cfg.batch...)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return "", errors.New("alipaytest: Authorize: server closed")
	case s.apps[cfg.isvAppID] == nil:
		return "", fmt.Errorf("alipaytest: Authorize: unknown ISV app %q", cfg.isvAppID)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			return "", fmt.Errorf("alipaytest: Authorize: empty or repeated mini-program app id %q", id)
		}
		seen[id] = true
	}
	now := s.now()
	c := &authCode{isvAppID: cfg.isvAppID, expiresAt: now.Add(s.cfg.authCodeTTL)}
	code = randomHex(16)
	for _, id := range ids {
		m := s.merchants[id]
		if m == nil {
			info := defaultMerchant().BaseInfo
			m = newMerchant(Merchant{AppID: id, ISVAppID: cfg.isvAppID, BaseInfo: info})
			s.merchants[id] = m
		}
		s.supersede(m, now)
		m.isvAppID = cfg.isvAppID
		g := &grant{token: newToken(), refresh: newToken(), m: m, isvAppID: cfg.isvAppID, issuedAt: now}
		s.addGrant(g)
		c.grants = append(c.grants, g)
	}
	s.codes[code] = c
	if !cfg.noNotify {
		for _, g := range c.grants {
			s.authNotifyLocked(g, code, cfg.outBizNo)
		}
	}
	return code, nil
}

// supersede starts the grace period of m's live tokens: a new
// authorization or a refresh replaces them. The caller holds s.mu.
func (s *Server) supersede(m *merchant, now time.Time) {
	for _, g := range s.grants {
		if g.m == m && g.diesAt.IsZero() {
			g.diesAt = now.Add(s.cfg.refreshGrace)
		}
	}
}

// CancelAuthorization plays the merchant cancelling its authorization
// (解除授权) of merchantAppID: every token issued for it gets 20001
// aop.invalid-app-auth-token from now on, token.app.query reports it
// "invalid", its refresh tokens are refused, and a signed
// alipay.open.auth.appauth.cancelled message is POSTed to the notify URL
// (when set) for each app it was authorised to. It returns
// [ErrNotAuthorized] when no token of the merchant is live, or
// [ErrUnknownMerchant].
func (s *Server) CancelAuthorization(merchantAppID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.merchants[merchantAppID]
	if m == nil {
		return fmt.Errorf("%w %q", ErrUnknownMerchant, merchantAppID)
	}
	now := s.now()
	isvs := map[string]bool{}
	for _, g := range s.grants {
		if g.m == m && g.live(now) {
			isvs[g.isvAppID] = true
		}
		if g.m == m {
			g.cancelled = true
		}
	}
	if len(isvs) == 0 {
		return fmt.Errorf("%w: %s", ErrNotAuthorized, merchantAppID)
	}
	for isv := range isvs {
		s.cancelNotifyLocked(m, isv, now)
	}
	return nil
}
