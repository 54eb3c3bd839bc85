package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testCode    = "1cc19911172e4f8aaa509c8fb5d12F56"
	testRefresh = "202405BBexampleRefreshToken00001"
	nodeToken   = `{"code":"10000","msg":"Success","tokens":[{"app_auth_token":"202405BBexampleAppAuthToken0001","app_refresh_token":"202405BBexampleRefreshToken00002","auth_app_id":"2021004000000002","user_id":"2088000000000001","expires_in":31536000,"re_expires_in":32140800}]}`
	nodeQuery   = `{"code":"10000","msg":"Success","user_id":"2088000000000001","auth_app_id":"2021004000000002","expires_in":31536000,"auth_methods":["alipay.open.mini.baseinfo.query"],"auth_start":"2024-05-20 13:14:15","auth_end":"2025-05-20 13:14:15","status":"valid","is_by_app_auth":false}`
)

// TestAuthTokenAppRequests: an exchange and a refresh are self-invoked (no
// app_auth_token parameter) with exactly the documented biz_content.
func TestAuthTokenAppRequests(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	for _, tc := range []struct {
		name string
		req  AuthTokenAppRequest
		biz  string
	}{
		{"exchange", AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: testCode},
			`{"grant_type":"authorization_code","code":"` + testCode + `"}`},
		{"refresh", AuthTokenAppRequest{GrantType: GrantRefreshToken, RefreshToken: NewSecret(testRefresh)},
			`{"grant_type":"refresh_token","refresh_token":"` + testRefresh + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			mg := serveMock(t, mock, http.StatusOK, g.body(methodAuthTokenApp, nodeToken), nil)
			res, err := c.AuthTokenApp(context.Background(), &tc.req)
			require.NoError(t, err)
			require.Len(t, res.Tokens, 1)
			assert.Equal(t, testToken, res.Tokens[0].AppAuthToken.Reveal())
			reqs := mg.requests(t)
			require.Len(t, reqs, 1)
			assert.Equal(t, methodAuthTokenApp, reqs[0].Query.Get("method"))
			assert.False(t, reqs[0].Form.Has("app_auth_token"), "self-invoked: no app_auth_token")
			assert.Equal(t, tc.biz, reqs[0].Form.Get("biz_content"))
		})
	}
}

// TestAuthTokenAppQueryRequest: the token goes inside biz_content, never
// as the common parameter.
func TestAuthTokenAppQueryRequest(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	mg := serveMock(t, mock, http.StatusOK, newGatewaySigner(t).body(methodAuthTokenAppQuery, nodeQuery), nil)
	res, err := c.AuthTokenAppQuery(context.Background(), &AuthTokenAppQueryRequest{AppAuthToken: NewSecret(testToken)})
	require.NoError(t, err)
	assert.True(t, res.Valid())
	assert.True(t, res.HasMethod("alipay.open.mini.baseinfo.query"))
	assert.False(t, res.HasMethod("alipay.open.app.api.field.apply"))
	assert.Equal(t, "2021004000000002", res.AuthAppID)
	reqs := mg.requests(t)
	require.Len(t, reqs, 1)
	assert.False(t, reqs[0].Form.Has("app_auth_token"))
	assert.Equal(t, `{"app_auth_token":"`+testToken+`"}`, reqs[0].Form.Get("biz_content"))
}

// TestAuthCallsRefusedBeforeSending: a merchant client, a missing or
// doubled credential, a bad grant type and odd bytes are refused with a
// *ValidationError and nothing reaches the gateway.
func TestAuthCallsRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	mock.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
		t.Error("a request was sent")
		return httpmock.NewStringResponse(500, ""), nil
	})
	m := c.WithAppAuthToken(testToken)
	ctx := context.Background()
	calls := map[string]func() error{
		"exchange_by_merchant": func() error {
			_, err := m.AuthTokenApp(ctx, &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: testCode})
			return err
		},
		"query_by_merchant": func() error {
			_, err := m.AuthTokenAppQuery(ctx, &AuthTokenAppQueryRequest{AppAuthToken: NewSecret(testToken)})
			return err
		},
		"refresh_merchant_by_merchant": func() error {
			_, err := m.RefreshMerchant(ctx, NewMemoryMerchantStore(), "2021004000000002")
			return err
		},
		"nil":         func() error { _, err := c.AuthTokenApp(ctx, nil); return err },
		"nil_query":   func() error { _, err := c.AuthTokenAppQuery(ctx, nil); return err },
		"empty_query": func() error { _, err := c.AuthTokenAppQuery(ctx, &AuthTokenAppQueryRequest{}); return err },
		"no_grant":    func() error { _, err := c.AuthTokenApp(ctx, &AuthTokenAppRequest{Code: testCode}); return err },
		"bad_grant": func() error {
			_, err := c.AuthTokenApp(ctx, &AuthTokenAppRequest{GrantType: "password", Code: testCode})
			return err
		},
		"code_missing": func() error {
			_, err := c.AuthTokenApp(ctx, &AuthTokenAppRequest{GrantType: GrantAuthorizationCode})
			return err
		},
		"refresh_missing": func() error {
			_, err := c.AuthTokenApp(ctx, &AuthTokenAppRequest{GrantType: GrantRefreshToken})
			return err
		},
		"code_and_refresh": func() error {
			_, err := c.AuthTokenApp(ctx, &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: testCode, RefreshToken: NewSecret(testRefresh)})
			return err
		},
		"code_with_space": func() error {
			_, err := c.AuthTokenApp(ctx, &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: "abc def"})
			return err
		},
		"code_too_long": func() error {
			_, err := c.AuthTokenApp(ctx, &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: fmt.Sprintf("%0129d", 1)})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		var ve *ValidationError
		assert.True(t, errors.As(err, &ve), "%s: %v", name, err)
		assert.ErrorIs(t, err, ErrInvalidRequest, name)
		assert.NotContains(t, fmt.Sprint(err), testToken, name)
	}
	assert.Zero(t, mock.GetTotalCallCount())
}

// TestAuthErrorsScrubbed: a sub_msg quoting what was sent (the code, the
// refresh token, the queried token) comes back without it.
func TestAuthErrorsScrubbed(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	for _, tc := range []struct {
		name, method, secret string
		call                 func(*Client) error
	}{
		{"exchange", methodAuthTokenApp, testCode, func(c *Client) error {
			_, err := c.AuthTokenApp(context.Background(), &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: testCode})
			return err
		}},
		{"refresh", methodAuthTokenApp, testRefresh, func(c *Client) error {
			_, err := c.AuthTokenApp(context.Background(), &AuthTokenAppRequest{GrantType: GrantRefreshToken, RefreshToken: NewSecret(testRefresh)})
			return err
		}},
		{"query", methodAuthTokenAppQuery, testToken, func(c *Client) error {
			_, err := c.AuthTokenAppQuery(context.Background(), &AuthTokenAppQueryRequest{AppAuthToken: NewSecret(testToken)})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			node := failNode("40004", "Business Failed "+tc.secret, SubCodeAuthCodeNotValid, "无效 biz_content={"+tc.secret+"}")
			serveMock(t, mock, http.StatusOK, g.body(tc.method, node), nil)
			err := tc.call(c)
			var apiErr *APIError
			require.True(t, errors.As(err, &apiErr), "%v", err)
			assert.Equal(t, SubCodeAuthCodeNotValid, apiErr.SubCode)
			assert.True(t, apiErr.Verified)
			assert.NotContains(t, fmt.Sprintf("%v %+v %#v", err, err, err), tc.secret)
		})
	}
}

// TestAuthTokenAppBadSignatureHidesTokens: a token answer that fails
// verification (a wrong Alipay key, a proxy) is quoted in the error
// without its tokens, even when the quote cuts a token short.
func TestAuthTokenAppBadSignatureHidesTokens(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	c, mock := newMockClient(t)
	body := `{"` + nodeKey(methodAuthTokenApp) + `":` + nodeToken + `,"sign":"` + g.sign("{}") + `"}`
	serveMock(t, mock, http.StatusOK, body, nil)
	_, err := c.AuthTokenApp(context.Background(), &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: testCode})
	var ve *VerifyError
	require.True(t, errors.As(err, &ve), "%v", err)
	out := fmt.Sprintf("%v %+v %#v", err, err, err)
	assert.NotContains(t, out, testToken)
	assert.NotContains(t, out, "202405BBexampleRefreshToken00002")
	assert.Contains(t, out, "auth_app_id", "the rest is quoted for diagnosis")

	for in, want := range map[string]string{
		`{"app_auth_token":"abc","x":1}`:          `{"app_auth_token":"[redacted]","x":1}`,
		`{"app_refresh_token" : "a\"b"}`:          `{"app_refresh_token" : "[redacted]"}`,
		`{"refresh_token":"cut sh`:                `{"refresh_token":"[redacted]"`,
		`{"app_auth_token":"cut at escape\`:       `{"app_auth_token":"[redacted]"`,
		`{"auth_app_id":"2021","user_id":"2088"}`: `{"auth_app_id":"2021","user_id":"2088"}`,
	} {
		assert.Equal(t, want, tokenValueRE.ReplaceAllString(in, `"$1"$2:$3"`+redacted+`"`), in)
	}
}

// TestAuthAppAuthInviteCreate: the invitation is self-invoked, carries the
// three fields, returns the page; a state that is not Base64, a relative
// URL and a merchant client are refused before sending.
func TestAuthAppAuthInviteCreate(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	node := `{"code":"10000","msg":"Success","task_page_url":"https://b.alipay.com/page/invite?id=1"}`
	mg := serveMock(t, mock, http.StatusOK, newGatewaySigner(t).body(methodAuthAppAuthInviteCreate, node), nil)
	st := testStateSigner(t, 3)
	state, err := st.Issue("isv-user-42")
	require.NoError(t, err)
	req := &AuthAppAuthInviteCreateRequest{AuthAppID: "2021004000000002", RedirectURL: "https://isv.example/alipay/authorized", State: state}
	res, err := c.AuthAppAuthInviteCreate(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "https://b.alipay.com/page/invite?id=1", res.TaskPageURL)
	reqs := mg.requests(t)
	require.Len(t, reqs, 1)
	assert.False(t, reqs[0].Form.Has("app_auth_token"))
	assert.Equal(t, `{"auth_app_id":"2021004000000002","redirect_url":"https://isv.example/alipay/authorized","state":"`+state+`"}`,
		reqs[0].Form.Get("biz_content"))

	for name, bad := range map[string]*AuthAppAuthInviteCreateRequest{
		"nil":          nil,
		"state":        {State: "not base64!"},
		"relative url": {RedirectURL: "/alipay/authorized"},
		"app id":       {AuthAppID: "2021 0040"},
	} {
		_, err := c.AuthAppAuthInviteCreate(context.Background(), bad)
		assert.ErrorIs(t, err, ErrInvalidRequest, name)
	}
	_, err = c.WithAppAuthToken(testToken).AuthAppAuthInviteCreate(context.Background(), req)
	assert.ErrorIs(t, err, ErrInvalidRequest)
	assert.Equal(t, 1, mock.GetTotalCallCount())
}
