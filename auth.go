package alipay

import (
	"context"
	"net/http"
	"strings"
)

// Alipay method names of the authorization calls.
const (
	methodAuthTokenApp      = "alipay.open.auth.token.app"
	methodAuthTokenAppQuery = "alipay.open.auth.token.app.query"
)

// Business sub_codes of [Client.AuthTokenApp] (their meanings are read from
// the names; Alipay documents them without text). All are permanent for
// that input: never send the same code or refresh token again.
const (
	SubCodeAppNotISV            = "APP_NOT_ISV"           // the caller is not a third-party (ISV) app
	SubCodeGrantTypeInvalid     = "GRANT_TYPE_INVALID"    // grant_type is neither of the two
	SubCodeAuthCodeNotExist     = "AUTH_CODE_NOT_EXIST"   // no such app_auth_code
	SubCodeAuthCodeNotValid     = "AUTH_CODE_NOT_VALID"   // the code was used or expired
	SubCodeAppIDNotConsistent   = "APP_ID_NOT_CONSISTENT" // the code was issued to another app
	SubCodeAuthTokenNotFound    = "AUTH_TOKEN_NOT_FOUND"
	SubCodeRefreshTokenNotExist = "REFRESH_TOKEN_NOT_EXIST"
	SubCodeRefreshTokenNotValid = "REFRESH_TOKEN_NOT_VALID"
	SubCodeRefreshTokenTimeOut  = "REFRESH_TOKEN_TIME_OUT"
)

// Business sub_codes of [Client.AuthTokenAppQuery].
const (
	SubCodeIllegalParam           = "ILLEGAL_PARAM"
	SubCodeAuthTokenNotExisted    = "AUTH_TOKEN_NOT_EXISTED"    // no such app_auth_token
	SubCodeAuthTokenNotConsistent = "AUTH_TOKEN_NOT_CONSISTENT" // the token was not issued to this ISV app
	SubCodeSystemError            = "SYSTEM_ERROR"              // transient: the outcome is unknown
)

// GrantType says what [Client.AuthTokenApp] exchanges.
type GrantType string

// Grant types of alipay.open.auth.token.app.
const (
	GrantAuthorizationCode GrantType = "authorization_code" // exchange an app_auth_code
	GrantRefreshToken      GrantType = "refresh_token"      // refresh with an app_refresh_token
)

// maxCodeLen bounds an app_auth_code or refresh token before sending.
// Alipay's examples are 32 to 40 characters; the limit only stops abuse.
const maxCodeLen = 128

// AuthTokenAppRequest exchanges an app_auth_code, or refreshes a token.
// Exactly one of Code and RefreshToken is set, as GrantType says.
type AuthTokenAppRequest struct {
	// GrantType is GrantAuthorizationCode or GrantRefreshToken.
	GrantType GrantType
	// Code is the app_auth_code the merchant's authorization produced
	// (single-use, valid 24 h): untrusted input, checked for length and
	// printable ASCII only; the gateway validates it.
	Code string
	// RefreshToken is the app_refresh_token of an earlier exchange.
	RefreshToken Secret
}

// AppToken is one merchant app's authorization: what an exchange or a
// refresh returns for it. Tokens are [Secret]s: they never print.
type AppToken struct {
	// AppAuthToken is the merchant's app_auth_token (应用授权令牌).
	AppAuthToken Secret `json:"app_auth_token"`
	// AppRefreshToken is the refresh token (刷新令牌).
	AppRefreshToken Secret `json:"app_refresh_token"`
	// AuthAppID is the merchant app that authorised (授权商户的appid).
	AuthAppID string `json:"auth_app_id"`
	// UserID is the merchant's Alipay user id (2088…).
	UserID string `json:"user_id"`
	// ExpiresIn is documented as obsolete: the token is long-lived. It is
	// informational only; nothing should be scheduled from it.
	ExpiresIn FlexInt `json:"expires_in"`
	// ReExpiresIn is the refresh token's validity in seconds from the call.
	ReExpiresIn FlexInt `json:"re_expires_in"`
}

// AuthTokenAppResponse holds every authorization an exchange or refresh
// returned: a batch authorization (批量授权) grants several merchant apps
// at once, and each is returned. Raw has its tokens redacted.
type AuthTokenAppResponse struct {
	ResponseMeta
	// Tokens has one entry per authorised app, never empty on success.
	// When the gateway sends a tokens array it is used, whole; otherwise
	// the node's top-level fields make the single entry.
	Tokens []AppToken
}

// Token returns the entry of the merchant app authAppID.
func (r *AuthTokenAppResponse) Token(authAppID string) (AppToken, bool) {
	for _, t := range r.Tokens {
		if t.AuthAppID == authAppID {
			return t, true
		}
	}
	return AppToken{}, false
}

// authTokenAppNode is the wire form of the response node.
type authTokenAppNode struct {
	ResponseMeta
	AppToken
	Tokens []AppToken `json:"tokens"`
}

// AuthTokenApp exchanges an app_auth_code for the merchant's app_auth_token,
// or refreshes a token. It is called by the ISV's own app: a client derived
// with [Client.WithAppAuthToken] refuses it before sending. A refresh
// invalidates the old token: prefer [Client.RefreshMerchant], which runs one
// refresh at a time per merchant across replicas. Never retry an exchange
// after a timeout: the code is single-use, and the authorization notify
// carries the same token.
//
// Alipay API: alipay.open.auth.token.app (换取应用授权令牌).
func (c *Client) AuthTokenApp(ctx context.Context, req *AuthTokenAppRequest) (*AuthTokenAppResponse, error) {
	const m = methodAuthTokenApp
	if err := c.selfInvoked(m); err != nil {
		return nil, err
	}
	if req == nil {
		return nil, &ValidationError{Method: m, Problem: "nil request"}
	}
	var biz struct {
		GrantType    GrantType `json:"grant_type"`
		Code         string    `json:"code,omitempty"`
		RefreshToken string    `json:"refresh_token,omitempty"`
	}
	biz.GrantType, biz.Code, biz.RefreshToken = req.GrantType, req.Code, req.RefreshToken.Reveal()
	switch req.GrantType {
	case GrantAuthorizationCode:
		if err := checkCredential(m, "code", biz.Code, biz.RefreshToken, "refresh_token"); err != nil {
			return nil, err
		}
	case GrantRefreshToken:
		if err := checkCredential(m, "refresh_token", biz.RefreshToken, biz.Code, "code"); err != nil {
			return nil, err
		}
	default:
		return nil, &ValidationError{Method: m, Field: "grant_type", Problem: `must be "authorization_code" or "refresh_token"`}
	}
	body, err := marshalJSON(biz)
	if err != nil {
		return nil, &ValidationError{Method: m, Field: "biz_content", Problem: err.Error()}
	}
	node, err := callScrubbed[authTokenAppNode](ctx, c, m, body, nil, func(err error) error {
		return scrubSecrets(err, biz.Code, biz.RefreshToken)
	})
	if err != nil {
		return nil, err
	}
	out := &AuthTokenAppResponse{Tokens: node.Tokens}
	if len(out.Tokens) == 0 && (!node.AppAuthToken.IsZero() || node.AuthAppID != "") {
		out.Tokens = []AppToken{node.AppToken}
	}
	for _, t := range out.Tokens {
		if t.AppAuthToken.IsZero() {
			return nil, &ResponseError{Method: m, StatusCode: http.StatusOK, Reason: ReasonMissingToken}
		}
	}
	if len(out.Tokens) == 0 {
		return nil, &ResponseError{Method: m, StatusCode: http.StatusOK, Reason: ReasonMissingToken}
	}
	out.TraceID, out.Raw = node.TraceID, redactTokens(node.Raw)
	return out, nil
}

// checkCredential checks the one credential a grant type needs and that
// the other is absent.
func checkCredential(method, field, value, other, otherField string) error {
	switch {
	case value == "":
		return &ValidationError{Method: method, Field: field, Problem: "required by this grant_type"}
	case other != "":
		return &ValidationError{Method: method, Field: otherField, Problem: "must be empty for this grant_type"}
	case len(value) > maxCodeLen:
		return &ValidationError{Method: method, Field: field, Problem: "longer than 128 bytes"}
	}
	for i := 0; i < len(value); i++ {
		if value[i] <= ' ' || value[i] > '~' {
			return &ValidationError{Method: method, Field: field, Problem: "not printable ASCII"}
		}
	}
	return nil
}

// selfInvoked refuses a call that the ISV's own app must make from a
// client acting for a merchant.
func (c *Client) selfInvoked(method string) error {
	if !c.merchant {
		return nil
	}
	return &ValidationError{Method: method, Field: "app_auth_token",
		Problem: "called by the ISV's own app: use the client from NewClient, not one derived with WithAppAuthToken"}
}

// AuthTokenAppQueryRequest names the token to inspect.
type AuthTokenAppQueryRequest struct {
	// AppAuthToken is the merchant token to inspect. It travels inside
	// biz_content, as the method requires, not as the common parameter.
	AppAuthToken Secret
}

// AuthTokenAppQueryResponse describes one authorization.
type AuthTokenAppQueryResponse struct {
	ResponseMeta
	// AuthAppID is the merchant app (授权商户的appid).
	AuthAppID string `json:"auth_app_id"`
	// UserID is the merchant's Alipay user id.
	UserID string `json:"user_id"`
	// Status is "valid" or "invalid" as received; see [AuthTokenAppQueryResponse.Valid].
	Status string `json:"status"`
	// AuthMethods are the API methods the token is authorised for.
	AuthMethods []string `json:"auth_methods"`
	// AuthStart is when the authorization took effect (授权生效时间).
	AuthStart FlexTime `json:"auth_start"`
	// AuthEnd is informational: the token is documented as permanent.
	AuthEnd FlexTime `json:"auth_end"`
	// ExpiresIn is the token's validity in seconds, informational.
	ExpiresIn FlexInt `json:"expires_in"`
	// IsByAppAuth is true when the merchant chose full delegation (全权委托授权).
	IsByAppAuth FlexBool `json:"is_by_app_auth"`
}

// Valid reports whether Status is "valid" (compared case-insensitively).
func (r *AuthTokenAppQueryResponse) Valid() bool { return strings.EqualFold(r.Status, "valid") }

// HasMethod reports whether the token is authorised for the Alipay method.
func (r *AuthTokenAppQueryResponse) HasMethod(method string) bool {
	for _, m := range r.AuthMethods {
		if m == method {
			return true
		}
	}
	return false
}

// AuthTokenAppQuery asks who authorised a token, for which methods, and
// whether it is still valid: the check before a batch of calls for a
// merchant, and the confirmation before acting on a cancellation. It is
// called by the ISV's own app (a client derived with
// [Client.WithAppAuthToken] refuses it before sending); the token goes
// inside biz_content.
//
// Alipay API: alipay.open.auth.token.app.query (查询某个应用授权AppAuthToken的授权信息).
func (c *Client) AuthTokenAppQuery(ctx context.Context, req *AuthTokenAppQueryRequest) (*AuthTokenAppQueryResponse, error) {
	const m = methodAuthTokenAppQuery
	if err := c.selfInvoked(m); err != nil {
		return nil, err
	}
	if req == nil || req.AppAuthToken.IsZero() {
		return nil, &ValidationError{Method: m, Field: "app_auth_token", Problem: "required"}
	}
	token := req.AppAuthToken.Reveal()
	if err := checkCredential(m, "app_auth_token", token, "", ""); err != nil {
		return nil, err
	}
	body, err := marshalJSON(struct {
		AppAuthToken string `json:"app_auth_token"`
	}{token})
	if err != nil {
		return nil, &ValidationError{Method: m, Field: "biz_content", Problem: err.Error()}
	}
	res, err := callScrubbed[AuthTokenAppQueryResponse](ctx, c, m, body, nil, func(err error) error {
		return scrubSecrets(err, token)
	})
	if err != nil {
		return nil, err
	}
	res.Raw = redactTokens(res.Raw)
	return res, nil
}
