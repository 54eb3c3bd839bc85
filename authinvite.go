package alipay

import (
	"context"
	"encoding/base64"
	"net/url"
)

// methodAuthAppAuthInviteCreate is the Alipay method of the invitation.
const methodAuthAppAuthInviteCreate = "alipay.open.auth.appauth.invite.create"

// AuthAppAuthInviteCreateRequest invites a merchant app to authorise the
// ISV. Alipay's SDK models mark no field required; the SDK checks only the
// forms it knows.
type AuthAppAuthInviteCreateRequest struct {
	// AuthAppID is the merchant app invited (指定授权的商户appid).
	AuthAppID string `json:"auth_app_id,omitempty"`
	// RedirectURL receives the app_auth_code after the authorization
	// (授权回调地址): an absolute http(s) URL, e.g. the path of
	// [Client.AuthRedirectHandler].
	RedirectURL string `json:"redirect_url,omitempty"`
	// State is passed back to RedirectURL as given, in the query parameter
	// state (自定义参数); Alipay requires Base64. A [StateSigner] state
	// qualifies, and [Client.AuthRedirectHandler] checks it.
	State string `json:"state,omitempty"`
}

// AuthAppAuthInviteCreateResponse holds the page of the invitation: the
// authorization link to send the merchant.
type AuthAppAuthInviteCreateResponse struct {
	ResponseMeta
	// TaskPageURL is the page where the merchant sees and accepts the
	// invitation (商户授权的详情页地址).
	TaskPageURL string `json:"task_page_url"`
}

// AuthAppAuthInviteCreate asks Alipay to invite a merchant app to authorise
// the ISV's app. The answer's TaskPageURL is the authorization link to send
// the merchant; with State from [StateSigner.Issue] and RedirectURL served
// by [Client.AuthRedirectHandler], the authorization comes back there (see
// [StateSigner]). It is called by the ISV's own app: a client derived with
// [Client.WithAppAuthToken] refuses it before sending.
//
// Alipay API: alipay.open.auth.appauth.invite.create (ISV向商户发起应用授权邀约).
func (c *Client) AuthAppAuthInviteCreate(ctx context.Context, req *AuthAppAuthInviteCreateRequest) (*AuthAppAuthInviteCreateResponse, error) {
	const m = methodAuthAppAuthInviteCreate
	if err := c.selfInvoked(m); err != nil {
		return nil, err
	}
	if req == nil {
		return nil, &ValidationError{Method: m, Problem: "nil request"}
	}
	if req.AuthAppID != "" && checkMerchantID(req.AuthAppID) != nil {
		return nil, &ValidationError{Method: m, Field: "auth_app_id", Problem: "not an app id"}
	}
	if req.RedirectURL != "" {
		u, err := url.Parse(req.RedirectURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &ValidationError{Method: m, Field: "redirect_url", Problem: "not an absolute http(s) URL"}
		}
	}
	if req.State != "" {
		if _, err := base64.StdEncoding.DecodeString(req.State); err != nil {
			return nil, &ValidationError{Method: m, Field: "state", Problem: "Alipay requires Base64"}
		}
	}
	body, err := marshalJSON(req)
	if err != nil {
		return nil, &ValidationError{Method: m, Field: "biz_content", Problem: err.Error()}
	}
	return callTyped[AuthAppAuthInviteCreateResponse](ctx, c, m, body, nil)
}
