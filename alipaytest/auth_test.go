package alipaytest

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a server clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokensReply is token.app's answer as the test reads it.
type tokensReply struct {
	Tokens []struct {
		AppAuthToken    string          `json:"app_auth_token"`
		AppRefreshToken string          `json:"app_refresh_token"`
		AuthAppID       string          `json:"auth_app_id"`
		UserID          string          `json:"user_id"`
		ExpiresIn       json.RawMessage `json:"expires_in"`
		ReExpiresIn     json.RawMessage `json:"re_expires_in"`
	} `json:"tokens"`
	AppAuthToken string `json:"app_auth_token"`
}

func tokenApp(t *testing.T, c *alipay.Client, biz map[string]string) (*tokensReply, error) {
	t.Helper()
	raw, err := c.Call(testCtx(t), methodTokenApp, biz)
	if err != nil {
		return nil, err
	}
	var r tokensReply
	require.NoError(t, json.Unmarshal(raw, &r))
	return &r, nil
}

func exchange(t *testing.T, c *alipay.Client, code string) (*tokensReply, error) {
	return tokenApp(t, c, map[string]string{"grant_type": "authorization_code", "code": code})
}

func refresh(t *testing.T, c *alipay.Client, rt string) (*tokensReply, error) {
	return tokenApp(t, c, map[string]string{"grant_type": "refresh_token", "refresh_token": rt})
}

func requireSubCode(t *testing.T, err error, code, sub string) {
	t.Helper()
	var ae *alipay.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, code, ae.Code, "%v", err)
	assert.Equal(t, sub, ae.SubCode, "%v", err)
	assert.True(t, ae.Verified, "signed")
}

func TestAuthorizeThenExchange(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	c := newClient(t, s)
	const shop = "2021004000000010"
	code, err := s.Authorize(shop)
	require.NoError(t, err)

	r, err := exchange(t, c, code)
	require.NoError(t, err)
	require.Len(t, r.Tokens, 1)
	tok := r.Tokens[0]
	assert.Empty(t, r.AppAuthToken, "the values come in tokens[] only")
	assert.Equal(t, shop, tok.AuthAppID)
	assert.Regexp(t, `^2088\d{12}$`, tok.UserID)
	assert.Equal(t, "31536000", string(tok.ExpiresIn), "a JSON number")
	assert.Equal(t, "32140800", string(tok.ReExpiresIn))
	grants := s.Grants(shop)
	require.Len(t, grants, 1)
	assert.Equal(t, tok.AppAuthToken, grants[0].Token)
	assert.True(t, grants[0].Live)

	// The token acts for the new merchant's mini-program.
	info, err := c.WithAppAuthToken(tok.AppAuthToken).MiniBaseInfoQuery(testCtx(t), nil)
	require.NoError(t, err)
	assert.Equal(t, "小程序示例", info.AppName)

	_, err = exchange(t, c, code)
	requireSubCode(t, err, "40004", "AUTH_CODE_NOT_VALID") // single use
	_, err = exchange(t, c, "0123456789abcdef0123456789abcdef")
	requireSubCode(t, err, "40004", "AUTH_CODE_NOT_EXIST")
	_, err = tokenApp(t, c, map[string]string{"grant_type": "password"})
	requireSubCode(t, err, "40004", "GRANT_TYPE_INVALID")
}

func TestAuthorizeBatchAndStringExpiries(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithStringExpiries())
	code, err := s.Authorize("2021004000000011", AuthBatch("2021004000000012"))
	require.NoError(t, err)
	r, err := exchange(t, newClient(t, s), code)
	require.NoError(t, err)
	require.Len(t, r.Tokens, 2, "every app of a batch authorization")
	assert.Equal(t, "2021004000000011", r.Tokens[0].AuthAppID)
	assert.Equal(t, "2021004000000012", r.Tokens[1].AuthAppID)
	assert.Equal(t, `"31536000"`, string(r.Tokens[0].ExpiresIn), "a numeric string")
	assert.Equal(t, `"32140800"`, string(r.Tokens[1].ReExpiresIn))

	_, err = s.Authorize("2021004000000013", AuthISVApp("2021009999999999"))
	assert.Error(t, err, "unknown ISV app")
	_, err = s.Authorize("2021004000000013", AuthBatch("2021004000000013"))
	assert.Error(t, err, "repeated app id")
}

func TestAuthCodeExpires(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newTestServer(t, WithClock(clock.Now), WithAuthCodeTTL(time.Hour))
	c := newClient(t, s, alipay.WithClock(clock.Now))
	code, err := s.Authorize("2021004000000010")
	require.NoError(t, err)
	clock.Add(time.Hour)
	_, err = exchange(t, c, code)
	requireSubCode(t, err, "40004", "AUTH_CODE_NOT_VALID")

	s2 := newTestServer(t, WithClock(clock.Now))
	code, err = s2.Authorize("2021004000000010")
	require.NoError(t, err)
	clock.Add(DefaultAuthCodeTTL - time.Minute)
	_, err = exchange(t, newClient(t, s2, alipay.WithClock(clock.Now)), code)
	require.NoError(t, err, "within 24 h by default")
}

func TestRefreshReplacesTheToken(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	c := newClient(t, s)
	old := s.Grants(DefaultMerchantAppID)[0] // a merchant registered up front refreshes too
	r, err := refresh(t, c, old.RefreshToken)
	require.NoError(t, err)
	require.Len(t, r.Tokens, 1)
	fresh := r.Tokens[0]
	assert.NotEqual(t, old.Token, fresh.AppAuthToken)
	assert.Equal(t, DefaultMerchantAppID, fresh.AuthAppID)

	// By default the old token dies at once, and so does the old refresh token.
	_, err = c.WithAppAuthToken(old.Token).AppAPIQuery(testCtx(t), nil)
	requireSubCode(t, err, "20001", "aop.invalid-app-auth-token")
	_, err = refresh(t, c, old.RefreshToken)
	requireSubCode(t, err, "40004", "REFRESH_TOKEN_NOT_VALID")
	_, err = c.WithAppAuthToken(fresh.AppAuthToken).AppAPIQuery(testCtx(t), nil)
	require.NoError(t, err)
	_, err = refresh(t, c, "no-such-refresh-token")
	requireSubCode(t, err, "40004", "REFRESH_TOKEN_NOT_EXIST")

	gs := s.Grants(DefaultMerchantAppID)
	require.Len(t, gs, 2)
	assert.True(t, gs[0].RefreshUsed)
	assert.False(t, gs[0].Live)
	assert.True(t, gs[1].Live)
}

func TestRefreshGraceOnTheServerClock(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newTestServer(t, WithClock(clock.Now), WithRefreshGrace(10*time.Minute))
	c := newClient(t, s, alipay.WithClock(clock.Now))
	old := s.Grants(DefaultMerchantAppID)[0]
	_, err := refresh(t, c, old.RefreshToken)
	require.NoError(t, err)
	m := c.WithAppAuthToken(old.Token)
	clock.Add(9 * time.Minute)
	_, err = m.AppAPIQuery(testCtx(t), nil)
	require.NoError(t, err, "the old token still works within the grace")
	clock.Add(time.Minute)
	_, err = m.AppAPIQuery(testCtx(t), nil)
	requireSubCode(t, err, "20001", "aop.invalid-app-auth-token")

	// The refresh token itself times out after re_expires_in.
	cur := s.Grants(DefaultMerchantAppID)[1]
	clock.Add(reExpiresIn * time.Second)
	_, err = refresh(t, c, cur.RefreshToken)
	requireSubCode(t, err, "40004", "REFRESH_TOKEN_TIME_OUT")
}

func TestTokenAppQuery(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithApp("2021000000000077", repoFile(t, "keys/alipay_rotated_public.pem")),
		WithMerchant(Merchant{Token: "tok-of-77", AppID: "2021004000000077", ISVAppID: "2021000000000077"}))
	c := newClient(t, s)
	query := func(tok string) (map[string]any, error) {
		raw, err := c.Call(testCtx(t), methodTokenAppQuery, map[string]string{"app_auth_token": tok})
		if err != nil {
			return nil, err
		}
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out))
		return out, nil
	}
	out, err := query(DefaultMerchantToken)
	require.NoError(t, err)
	assert.Equal(t, "valid", out["status"])
	assert.Equal(t, DefaultMerchantAppID, out["auth_app_id"])
	assert.Contains(t, out["auth_methods"], methodFieldApply)
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`, out["auth_start"])
	assert.EqualValues(t, expiresIn, out["expires_in"])

	_, err = query("202405BBunknown")
	requireSubCode(t, err, "40004", "AUTH_TOKEN_NOT_EXISTED")
	_, err = query("tok-of-77")
	requireSubCode(t, err, "40004", "AUTH_TOKEN_NOT_CONSISTENT")
	_, err = c.Call(testCtx(t), methodTokenAppQuery, map[string]string{})
	requireSubCode(t, err, "40004", "ILLEGAL_PARAM")

	require.NoError(t, s.CancelAuthorization(DefaultMerchantAppID))
	out, err = query(DefaultMerchantToken)
	require.NoError(t, err)
	assert.Equal(t, "invalid", out["status"])
}

// Attack: the classic multi-merchant bug, a merchant's token sent as the
// common parameter of a self-invoked call. The fake refuses it.
func TestSelfInvokedCallsRefuseACommonToken(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	m := newClient(t, s).WithAppAuthToken(DefaultMerchantToken)
	_, err := m.Call(testCtx(t), methodTokenAppQuery, map[string]string{"app_auth_token": DefaultMerchantToken})
	requireSubCode(t, err, "40004", "APP_NOT_ISV")
	code, err := s.Authorize("2021004000000010")
	require.NoError(t, err)
	_, err = exchange(t, m, code)
	requireSubCode(t, err, "40004", "APP_NOT_ISV")
	_, err = exchange(t, newClient(t, s), code)
	require.NoError(t, err, "the refused call did not spend the code")

	// A self-developed mini-program is no third-party app.
	self := newTestServer(t, WithApp("2021000000000077", repoFile(t, "keys/alipay_rotated_public.pem")),
		WithMerchant(Merchant{Token: "self", AppID: "2021000000000077", ISVAppID: "2021000000000077"}))
	call := newCall(t, self, methodTokenApp).set("app_id", "2021000000000077").del("app_auth_token").
		set("biz_content", `{"grant_type":"authorization_code","code":"x"}`)
	call.key = mustPrivateKey(t, repoFile(t, "keys/alipay_rotated_private_pkcs8.pem"))
	requireCode(t, call.do(t), "40004", "APP_NOT_ISV")
}

func TestCancelledMerchant(t *testing.T) {
	t.Parallel()
	var s *Server
	rc := newReceiver(t, &s, func(int) (int, string) { return http.StatusOK, "success" })
	s = newTestServer(t, WithNotifyURL(rc.URL))
	c := newClient(t, s)
	rt := s.Grants(DefaultMerchantAppID)[0].RefreshToken

	require.NoError(t, s.CancelAuthorization(DefaultMerchantAppID))
	form := rc.next(t) // verified by the receiver
	assert.Equal(t, EventAuthCancelled, form.Get("msg_method"))
	assert.Equal(t, DefaultAppID, form.Get("app_id"))
	assert.Equal(t, "1.1", form.Get("version"))
	assert.JSONEq(t, `{"auth_app_id":"`+DefaultMerchantAppID+`"}`, form.Get("biz_content"))

	_, err := c.WithAppAuthToken(DefaultMerchantToken).AppAPIFieldQuery(testCtx(t), nil)
	requireSubCode(t, err, "20001", "aop.invalid-app-auth-token")
	assert.True(t, alipay.IsAppAuthTokenInvalid(err))
	_, err = refresh(t, c, rt)
	requireSubCode(t, err, "40004", "REFRESH_TOKEN_NOT_VALID")
	require.ErrorIs(t, s.CancelAuthorization(DefaultMerchantAppID), ErrNotAuthorized)
	require.ErrorIs(t, s.CancelAuthorization("2021009999999999"), ErrUnknownMerchant)

	// The merchant can authorise again; its applications are still there.
	code, err := s.Authorize(DefaultMerchantAppID, AuthNoNotify())
	require.NoError(t, err)
	r, err := exchange(t, c, code)
	require.NoError(t, err)
	_, err = c.WithAppAuthToken(r.Tokens[0].AppAuthToken).AppAPIFieldQuery(testCtx(t), nil)
	require.NoError(t, err)
	waitIdle(t, s)
	ns := s.Notifications()
	require.Len(t, ns, 1, "AuthNoNotify sent nothing")
}
