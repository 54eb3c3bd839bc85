package alipay

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenKAT is one case of testdata/kat/auth_token.json.
type tokenKAT struct {
	Name   string `json:"name"`
	Node   string `json:"node"`
	Reason string `json:"reason"` // ResponseError reason expected, or ""
	Tokens []struct {
		AppAuthToken    string `json:"app_auth_token"`
		AppRefreshToken string `json:"app_refresh_token"`
		AuthAppID       string `json:"auth_app_id"`
		UserID          string `json:"user_id"`
		ExpiresIn       string `json:"expires_in"`
		ExpiresInInt    *int64 `json:"expires_in_int"`
		ReExpiresIn     string `json:"re_expires_in"`
		ReExpiresInInt  *int64 `json:"re_expires_in_int"`
	} `json:"tokens"`
}

// assertFlexInt checks a FlexInt against its text and integer (nil: none).
func assertFlexInt(t *testing.T, f FlexInt, raw string, want *int64, label string) {
	t.Helper()
	assert.Equal(t, raw, f.String(), label)
	n, ok := f.Int64()
	if want == nil {
		assert.False(t, ok, "%s: no integer", label)
		return
	}
	if assert.True(t, ok, "%s: an integer", label) {
		assert.Equal(t, *want, n, label)
	}
}

// TestAuthTokenAppKAT decodes each signed node through AuthTokenApp:
// every tokens[] entry comes back, numbers decode from either kind, and a
// success without a token is refused.
func TestAuthTokenAppKAT(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	for _, tc := range loadKAT[tokenKAT](t, "auth_token") {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			serveMock(t, mock, http.StatusOK, g.body(methodAuthTokenApp, tc.Node), nil)
			res, err := c.AuthTokenApp(context.Background(), &AuthTokenAppRequest{GrantType: GrantAuthorizationCode, Code: "1cc19911172e4f8aaa509c8fb5d12F56"})
			if tc.Reason != "" {
				var re *ResponseError
				require.True(t, errors.As(err, &re), "%v", err)
				assert.Equal(t, ResponseReason(tc.Reason), re.Reason)
				assert.Nil(t, res)
				return
			}
			require.NoError(t, err)
			require.Len(t, res.Tokens, len(tc.Tokens))
			for i, want := range tc.Tokens {
				got := res.Tokens[i]
				assert.Equal(t, want.AppAuthToken, got.AppAuthToken.Reveal())
				assert.Equal(t, want.AppRefreshToken, got.AppRefreshToken.Reveal())
				assert.Equal(t, want.AuthAppID, got.AuthAppID)
				assert.Equal(t, want.UserID, got.UserID)
				assertFlexInt(t, got.ExpiresIn, want.ExpiresIn, want.ExpiresInInt, "expires_in")
				assertFlexInt(t, got.ReExpiresIn, want.ReExpiresIn, want.ReExpiresInInt, "re_expires_in")
				byID, ok := res.Token(want.AuthAppID)
				assert.True(t, ok)
				assert.True(t, byID.AppAuthToken.Equal(got.AppAuthToken))
				assert.NotContains(t, string(res.Raw), want.AppAuthToken, "Raw is redacted")
				if want.AppRefreshToken != "" {
					assert.NotContains(t, string(res.Raw), want.AppRefreshToken, "Raw is redacted")
				}
			}
			assert.Contains(t, string(res.Raw), `"auth_app_id"`, "Raw keeps the other fields")
		})
	}
}

// queryKAT is one case of testdata/kat/auth_query.json.
type queryKAT struct {
	Name          string `json:"name"`
	Node          string `json:"node"`
	Valid         bool   `json:"valid"`
	ExpiresIn     string `json:"expires_in"`
	AuthStart     string `json:"auth_start"`
	AuthStartUnix *int64 `json:"auth_start_unix"`
	AuthEnd       string `json:"auth_end"`
	AuthEndUnix   *int64 `json:"auth_end_unix"`
}

func assertFlexTime(t *testing.T, f FlexTime, raw string, unix *int64, label string) {
	t.Helper()
	assert.Equal(t, raw, f.String(), label)
	at, ok := f.Time()
	if unix == nil {
		assert.False(t, ok, "%s: unparsed", label)
		return
	}
	if assert.True(t, ok, "%s: parsed", label) {
		assert.Equal(t, *unix, at.Unix(), label)
	}
}

// TestAuthTokenAppQueryKAT decodes each signed query node: times in either
// form, unparseable ones kept raw without failing.
func TestAuthTokenAppQueryKAT(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	for _, tc := range loadKAT[queryKAT](t, "auth_query") {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			serveMock(t, mock, http.StatusOK, g.body(methodAuthTokenAppQuery, tc.Node), nil)
			res, err := c.AuthTokenAppQuery(context.Background(), &AuthTokenAppQueryRequest{AppAuthToken: NewSecret(testToken)})
			require.NoError(t, err)
			assert.Equal(t, tc.Valid, res.Valid())
			assert.Equal(t, tc.ExpiresIn, res.ExpiresIn.String())
			assertFlexTime(t, res.AuthStart, tc.AuthStart, tc.AuthStartUnix, "auth_start")
			assertFlexTime(t, res.AuthEnd, tc.AuthEnd, tc.AuthEndUnix, "auth_end")
		})
	}
}
