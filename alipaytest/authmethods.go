package alipaytest

import (
	"encoding/json"
	"strconv"
	"time"
)

// Authorization methods. They are self-invoked: the ISV app calls them for
// itself, so a common app_auth_token is refused. Alipay does not document
// what it answers to one; the fake answers 40004 APP_NOT_ISV, as a call
// made with a merchant's token acts as the merchant's app, which is no
// third-party app.
const (
	methodTokenApp      = "alipay.open.auth.token.app"
	methodTokenAppQuery = "alipay.open.auth.token.app.query"
)

// authMethods are the merchant-side methods token.app.query lists as
// authorised (auth_methods).
var authMethods = []string{
	methodBaseInfoQuery, methodBaseInfoModify, methodAPIQuery, methodSceneQuery, methodFieldApply,
	methodFieldQuery, methodCategoryQuery, methodCategoryRequireQuery,
}

// bizJSON decodes the request's biz_content into v. A missing or malformed
// biz_content is a 40004 failure with sub_code sub.
func bizJSON(in *incoming, v any, sub string) *answer {
	biz := in.biz()
	if biz == "" {
		return failure(codeBusinessError, sub, "参数有误: 缺少 biz_content")
	}
	if err := json.Unmarshal([]byte(biz), v); err != nil {
		return failure(codeBusinessError, sub, "参数有误: biz_content 不是合法的 JSON 对象")
	}
	return nil
}

// expiry renders seconds as a JSON number, or a numeric string with
// WithStringExpiries.
func (s *Server) expiry(seconds int64) any {
	if s.cfg.stringExpiries {
		return strconv.FormatInt(seconds, 10)
	}
	return seconds
}

// tokenDTO is one entry of token.app's tokens[].
type tokenDTO struct {
	AppAuthToken    string `json:"app_auth_token"`
	AppRefreshToken string `json:"app_refresh_token"`
	AuthAppID       string `json:"auth_app_id"`
	UserID          string `json:"user_id"`
	ExpiresIn       any    `json:"expires_in"`
	ReExpiresIn     any    `json:"re_expires_in"`
}

func (s *Server) tokenEntry(g *grant) tokenDTO {
	return tokenDTO{
		AppAuthToken: g.token, AppRefreshToken: g.refresh, AuthAppID: g.m.appID, UserID: g.m.userID,
		ExpiresIn: s.expiry(expiresIn), ReExpiresIn: s.expiry(reExpiresIn),
	}
}

// tokensAnswer is token.app's success: every token in tokens[] (a batch
// authorization has several), none at the top level.
func (s *Server) tokensAnswer(gs []*grant) *answer {
	out := make([]tokenDTO, len(gs))
	for i, g := range gs {
		out[i] = s.tokenEntry(g)
	}
	return success(struct {
		Tokens []tokenDTO `json:"tokens"`
	}{out})
}

// tokenApp exchanges an app_auth_code or refreshes a token. The caller
// holds s.mu.
func (s *Server) tokenApp(in *incoming, caller string) *answer {
	if s.merchants[caller] != nil {
		return failure(codeBusinessError, "APP_NOT_ISV", "调用方应用 "+caller+" 不是第三方应用")
	}
	var q struct {
		GrantType    string `json:"grant_type"`
		Code         string `json:"code"`
		RefreshToken string `json:"refresh_token"`
	}
	if a := bizJSON(in, &q, "GRANT_TYPE_INVALID"); a != nil {
		return a
	}
	now := s.now()
	switch q.GrantType {
	case "authorization_code":
		return s.exchangeCode(caller, q.Code, now)
	case "refresh_token":
		return s.refreshToken(caller, q.RefreshToken, now)
	}
	return failure(codeBusinessError, "GRANT_TYPE_INVALID", "grant_type 只能是 authorization_code 或 refresh_token")
}

func (s *Server) exchangeCode(caller, code string, now time.Time) *answer {
	c := s.codes[code]
	switch {
	case code == "" || c == nil:
		return failure(codeBusinessError, "AUTH_CODE_NOT_EXIST", "授权码不存在")
	case c.isvAppID != caller:
		return failure(codeBusinessError, "APP_ID_NOT_CONSISTENT", "授权码不是颁发给调用方应用的")
	case c.used:
		return failure(codeBusinessError, "AUTH_CODE_NOT_VALID", "授权码已使用")
	case !now.Before(c.expiresAt):
		return failure(codeBusinessError, "AUTH_CODE_NOT_VALID", "授权码已过期")
	}
	c.used = true
	return s.tokensAnswer(c.grants)
}

// refreshToken issues a new token for a refresh token: the refresh token
// is spent and the old token dies after the grace period.
func (s *Server) refreshToken(caller, refresh string, now time.Time) *answer {
	g := s.refreshes[refresh]
	switch {
	case refresh == "" || g == nil:
		return failure(codeBusinessError, "REFRESH_TOKEN_NOT_EXIST", "刷新令牌不存在")
	case g.isvAppID != caller:
		return failure(codeBusinessError, "APP_ID_NOT_CONSISTENT", "刷新令牌不是颁发给调用方应用的")
	case g.refreshUsed || g.cancelled || !g.diesAt.IsZero():
		return failure(codeBusinessError, "REFRESH_TOKEN_NOT_VALID", "刷新令牌已失效")
	case !now.Before(g.refreshExpires):
		return failure(codeBusinessError, "REFRESH_TOKEN_TIME_OUT", "刷新令牌已过期")
	}
	g.refreshUsed = true
	s.supersede(g.m, now)
	ng := &grant{token: newToken(), refresh: newToken(), m: g.m, isvAppID: g.isvAppID, issuedAt: now}
	s.addGrant(ng)
	return s.tokensAnswer([]*grant{ng})
}

// tokenQueryNode is token.app.query's answer.
type tokenQueryNode struct {
	AuthAppID   string   `json:"auth_app_id"`
	UserID      string   `json:"user_id"`
	Status      string   `json:"status"`
	AuthMethods []string `json:"auth_methods"`
	AuthStart   string   `json:"auth_start"`
	AuthEnd     string   `json:"auth_end"`
	ExpiresIn   any      `json:"expires_in"`
	IsByAppAuth bool     `json:"is_by_app_auth"`
}

// tokenAppQuery reports on the token given inside biz_content. The caller
// holds s.mu.
func (s *Server) tokenAppQuery(in *incoming, caller string) *answer {
	if s.merchants[caller] != nil {
		return failure(codeBusinessError, "APP_NOT_ISV", "调用方应用 "+caller+" 不是第三方应用")
	}
	var q struct {
		AppAuthToken string `json:"app_auth_token"`
	}
	if a := bizJSON(in, &q, "ILLEGAL_PARAM"); a != nil {
		return a
	}
	g := s.grants[q.AppAuthToken]
	switch {
	case q.AppAuthToken == "":
		return failure(codeBusinessError, "ILLEGAL_PARAM", "app_auth_token 不能为空（放在 biz_content 中）")
	case g == nil:
		return failure(codeBusinessError, "AUTH_TOKEN_NOT_EXISTED", "授权令牌不存在")
	case g.isvAppID != caller:
		return failure(codeBusinessError, "AUTH_TOKEN_NOT_CONSISTENT", "授权令牌不是颁发给调用方应用的")
	}
	status := "valid"
	if !g.live(s.now()) {
		status = "invalid"
	}
	start := g.issuedAt.In(cst())
	return success(tokenQueryNode{
		AuthAppID: g.m.appID, UserID: g.m.userID, Status: status,
		AuthMethods: append([]string(nil), authMethods...),
		AuthStart:   start.Format(timestampLayout), AuthEnd: start.Add(expiresIn * time.Second).Format(timestampLayout),
		ExpiresIn: s.expiry(expiresIn),
	})
}
