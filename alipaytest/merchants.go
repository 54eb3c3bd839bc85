package alipaytest

import (
	"sort"
	"time"
)

// merchant is the server's state of one mini-program.
type merchant struct {
	appID  string
	userID string
	// isvAppID is the third-party app the mini-program is authorised to
	// now (a mini-program is authorised to one at a time); it receives the
	// field.changed messages.
	isvAppID string
	info     BaseInfo
	fields   []Field
	apps     []*Application
	aesKey   []byte // the mini-program's AES key (aes.set/get); nil for none
	listed   bool   // has a listed (上架) version: base info changes are audited
	// pendingInfo is a base-info change under information audit; nil for none.
	pendingInfo *BaseInfo
}

// grant is one app_auth_token and its refresh token.
type grant struct {
	seq            int // issue order
	token, refresh string
	m              *merchant
	isvAppID       string
	issuedAt       time.Time
	// diesAt is when a superseded token stops working; zero while it is
	// the merchant's current token.
	diesAt         time.Time
	refreshUsed    bool // the refresh token was spent
	cancelled      bool
	refreshExpires time.Time
}

// live reports whether the token may still be used at now.
func (g *grant) live(now time.Time) bool {
	return !g.cancelled && (g.diesAt.IsZero() || now.Before(g.diesAt))
}

// Grant is the server's record of one app_auth_token, for assertions.
type Grant struct {
	Token         string // app_auth_token
	RefreshToken  string // app_refresh_token
	MerchantAppID string // auth_app_id
	ISVAppID      string // the third-party app it was issued to
	UserID        string // the merchant's user id
	IssuedAt      time.Time
	// ExpiresAt is when a token superseded by a refresh or a new
	// authorization stops working (after the [WithRefreshGrace] period);
	// zero for the current token.
	ExpiresAt time.Time
	// RefreshUsed reports that RefreshToken was spent on a refresh.
	RefreshUsed bool
	// Cancelled reports that the merchant cancelled the authorization.
	Cancelled bool
	// Live reports whether a call with Token works now (server clock).
	Live bool
}

// newMerchant builds the state of m, with its app id and user id.
func newMerchant(m Merchant) *merchant {
	isv := m.ISVAppID
	if isv == "" {
		isv = DefaultAppID
	}
	fields := m.Fields
	if fields == nil {
		fields = DefaultFields()
	}
	info := copyInfo(m.BaseInfo)
	user := m.UserID
	if user == "" {
		user = "2088" + randomDigits(12)
	}
	var key []byte
	if m.AESKey != "" {
		key, _ = parseAESKey(m.AESKey) // WithMerchant checked it
	}
	return &merchant{appID: m.AppID, userID: user, isvAppID: isv, info: info, fields: copyFields(fields), aesKey: key,
		listed: m.Listed}
}

// register adds a merchant given to NewServer. A merchant with the token
// or the app id of an earlier one replaces it (and the earlier one's
// tokens). It runs before the server serves.
func (s *Server) register(m Merchant) {
	if old := s.grants[m.Token]; old != nil {
		s.dropMerchant(old.m)
	}
	if old := s.merchants[m.AppID]; old != nil {
		s.dropMerchant(old)
	}
	mm := newMerchant(m)
	s.merchants[mm.appID] = mm
	refresh := m.RefreshToken
	if refresh == "" {
		refresh = newToken()
	}
	s.addGrant(&grant{token: m.Token, refresh: refresh, m: mm, isvAppID: mm.isvAppID, issuedAt: s.now()})
}

// dropMerchant forgets m and every token issued for it.
func (s *Server) dropMerchant(m *merchant) {
	delete(s.merchants, m.appID)
	for tok, g := range s.grants {
		if g.m == m {
			delete(s.grants, tok)
			delete(s.refreshes, g.refresh)
		}
	}
}

// addGrant indexes g by its token and refresh token. The caller holds s.mu
// (or the server does not serve yet).
func (s *Server) addGrant(g *grant) {
	if g.refreshExpires.IsZero() {
		g.refreshExpires = g.issuedAt.Add(reExpiresIn * time.Second)
	}
	s.grantSeq++
	g.seq = s.grantSeq
	s.grants[g.token] = g
	s.refreshes[g.refresh] = g
}

// lookupMerchant finds a merchant by token (live or not) or by
// mini-program app id. The caller holds s.mu.
func (s *Server) lookupMerchant(id string) *merchant {
	if g, ok := s.grants[id]; ok {
		return g.m
	}
	return s.merchants[id]
}

// Grants returns the server's records of the tokens issued for the
// merchant with this mini-program app id (or token), oldest first; nil for
// an unknown merchant.
func (s *Server) Grants(merchantAppIDOrToken string) []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.lookupMerchant(merchantAppIDOrToken)
	if m == nil {
		return nil
	}
	var gs []*grant
	for _, g := range s.grants {
		if g.m == m {
			gs = append(gs, g)
		}
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].seq < gs[j].seq })
	now := s.now()
	out := make([]Grant, 0, len(gs))
	for _, g := range gs {
		out = append(out, Grant{
			Token: g.token, RefreshToken: g.refresh, MerchantAppID: m.appID, ISVAppID: g.isvAppID,
			UserID: m.userID, IssuedAt: g.issuedAt, ExpiresAt: g.diesAt, RefreshUsed: g.refreshUsed,
			Cancelled: g.cancelled, Live: g.live(now),
		})
	}
	return out
}

// newToken returns a fresh token in the shape of Alipay's
// ("202405BB" + 24 hex characters: 32 in all).
func newToken() string { return "2024" + randomDigits(2) + "BB" + randomHex(12) }
