package alipay

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// AppAuthNotify is the authorization notify (notify_type
// open_app_auth_notify): a merchant authorised the ISV's app, by a link, a
// QR code, a service-market order or a plugin order, and Alipay sends the
// new token to the ISV's app gateway. Tokens and the code are [Secret]s: an
// AppAuthNotify prints, logs and marshals without them.
type AppAuthNotify struct {
	// Token is detail's authorization: app_auth_token, app_refresh_token,
	// auth_app_id (the merchant app; absent in plugin authorizations),
	// user_id, expires_in and re_expires_in.
	Token AppToken `json:"token"`
	// AppID is detail.app_id, the ISV app the merchant authorised.
	AppID string `json:"app_id"`
	// AuthTime is detail.auth_time, when the merchant authorised (epoch
	// milliseconds; a number or a numeric string).
	AuthTime FlexTime `json:"auth_time"`
	// AppAuthCode is detail.app_auth_code, the code of this authorization.
	// Alipay does not say whether the notify spent it: never exchange it
	// again (the token is here). The registry keeps a digest of it, so
	// that the redirect that brings the same code counts as success.
	AppAuthCode Secret `json:"app_auth_code"`
	// Trigger is notify_context.trigger, what started the authorization
	// (e.g. "appstore" for the service market); an open set.
	Trigger string `json:"trigger,omitempty"`
	// OutBizNo is notify_context.trigger_context.out_biz_no, the ISV's own
	// correlation value from the authorization link, when sent.
	OutBizNo string `json:"out_biz_no,omitempty"`
	// Status is the notify's status parameter ("execute_auth").
	Status string `json:"status,omitempty"`
	// Error is biz_content's error member as received: {} normally; see
	// [AppAuthNotify.HasError].
	Error json.RawMessage `json:"error,omitempty"`
	// Merchant is the registry's record after the token was stored; nil
	// without [WithNotifyMerchantStore], or when nothing was stored (no
	// token or no auth_app_id in the notify, or a notify for another app).
	Merchant *Merchant `json:"-"`
}

// HasError reports whether the notify carries a non-empty error member
// (an old sample shows {"appstore_online_pay":"FAIL"}): the authorization
// happened, but a step Alipay ran around it failed.
func (e *AppAuthNotify) HasError() bool {
	var v any
	if json.Unmarshal(e.Error, &v) != nil {
		return len(bytes.TrimSpace(e.Error)) > 0
	}
	switch v := v.(type) {
	case nil:
		return false
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	case string:
		return v != ""
	case bool:
		return v
	default:
		return true
	}
}

// appAuthNotifyBiz is the wire form of the notify's biz_content.
type appAuthNotifyBiz struct {
	NotifyContext struct {
		Trigger        string          `json:"trigger"`
		TriggerContext json.RawMessage `json:"trigger_context"`
	} `json:"notify_context"`
	Detail struct {
		AppToken
		AppID       string   `json:"app_id"`
		AuthTime    FlexTime `json:"auth_time"`
		AppAuthCode Secret   `json:"app_auth_code"`
	} `json:"detail"`
	Error json.RawMessage `json:"error"`
}

// AppAuthNotify decodes the authorization notify (notify_type
// open_app_auth_notify) from its biz_content before redaction. It fails
// for another notification, for a biz_content that is encrypted without
// the key, in a charset other than UTF-8 or not one JSON object, and when
// the auth_app_id of the form and of detail differ. No error quotes a
// token.
func (n *Notification) AppAuthNotify() (*AppAuthNotify, error) {
	biz, err := n.bizObject("", NotifyTypeAppAuth)
	if err != nil {
		return nil, err
	}
	var w appAuthNotifyBiz
	if err := json.Unmarshal(biz, &w); err != nil {
		return nil, fmt.Errorf("alipay: notification %s: biz_content: %w", n.NotifyID, err)
	}
	d := w.Detail
	if n.AuthAppID != "" && d.AuthAppID != "" && n.AuthAppID != d.AuthAppID {
		return nil, fmt.Errorf("alipay: notification %s: auth_app_id %s differs from detail.auth_app_id %s", n.NotifyID, n.AuthAppID, d.AuthAppID)
	}
	ev := &AppAuthNotify{
		Token: d.AppToken, AppID: d.AppID, AuthTime: d.AuthTime, AppAuthCode: d.AppAuthCode,
		Trigger: w.NotifyContext.Trigger, OutBizNo: outBizNo(w.NotifyContext.TriggerContext),
		Status: n.Params["status"], Error: w.Error,
	}
	if ev.Token.AuthAppID == "" {
		ev.Token.AuthAppID = n.AuthAppID
	}
	return ev, nil
}

// outBizNo reads out_biz_no from trigger_context: an object, or a string
// holding one; "" otherwise.
func outBizNo(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var tc struct {
		OutBizNo string `json:"out_biz_no"`
	}
	if json.Unmarshal(raw, &tc) != nil {
		return ""
	}
	return tc.OutBizNo
}

// AuthAppAuthCancelled is the payload of the
// alipay.open.auth.appauth.cancelled message (第三方应用授权取消消息): a
// merchant withdrew its authorization of the ISV's app. Alipay documents
// only auth_app_id; Raw keeps the whole biz_content.
type AuthAppAuthCancelled struct {
	// AuthAppID is the merchant app whose authorization ended.
	AuthAppID string `json:"auth_app_id"`
	// Raw is the biz_content as received.
	Raw json.RawMessage `json:"-"`
	// Confirmed reports whether, with [WithNotifyMerchantStore], the
	// registry records the merchant as cancelled: Alipay's token query
	// confirmed that the stored token is invalid or unknown. False without
	// a registry, for a merchant the registry does not know, and when the
	// query says the token still works (the merchant authorised again).
	Confirmed bool `json:"confirmed"`
	// Merchant is the registry's record after the handler acted; nil
	// without a registry or for an unknown merchant.
	Merchant *Merchant `json:"-"`
}

// AuthAppAuthCancelled decodes an alipay.open.auth.appauth.cancelled
// message. It fails for another message, for a biz_content that is
// encrypted without the key, in a charset other than UTF-8 or not one JSON
// object, and when auth_app_id is absent or not a string.
func (n *Notification) AuthAppAuthCancelled() (*AuthAppAuthCancelled, error) {
	biz, err := n.bizObject(MsgMethodAuthAppAuthCancelled, "")
	if err != nil {
		return nil, err
	}
	var w struct {
		AuthAppID string `json:"auth_app_id"`
	}
	if err := json.Unmarshal(biz, &w); err != nil {
		return nil, fmt.Errorf("alipay: notification %s: biz_content: %w", n.NotifyID, err)
	}
	if w.AuthAppID == "" {
		return nil, fmt.Errorf("alipay: notification %s: biz_content has no auth_app_id", n.NotifyID)
	}
	return &AuthAppAuthCancelled{AuthAppID: w.AuthAppID, Raw: json.RawMessage(biz)}, nil
}

// AuthUserAuthCancelled is the payload of the
// alipay.open.auth.userauth.cancelled message (用户授权取消消息): a user
// withdrew the authorization they gave an app (member information), not a
// merchant event: the registry is not touched. Alipay's sample carries
// user_id; newer apps may get open_id instead, so both are read.
type AuthUserAuthCancelled struct {
	// UserID is the user's Alipay user id (2088…), when sent.
	UserID string `json:"user_id"`
	// OpenID is the user's open id, when sent instead.
	OpenID string `json:"open_id"`
	// AppID is the app the user had authorised.
	AppID string `json:"app_id"`
	// CancelTime is when the user cancelled (epoch milliseconds).
	CancelTime FlexTime `json:"cancel_time"`
	// Raw is the biz_content as received.
	Raw json.RawMessage `json:"-"`
}

// AuthUserAuthCancelled decodes an alipay.open.auth.userauth.cancelled
// message. It fails for another message, for a biz_content that is
// encrypted without the key, in a charset other than UTF-8 or not one JSON
// object, and when neither user_id nor open_id is set.
func (n *Notification) AuthUserAuthCancelled() (*AuthUserAuthCancelled, error) {
	biz, err := n.bizObject(MsgMethodAuthUserAuthCancelled, "")
	if err != nil {
		return nil, err
	}
	var ev AuthUserAuthCancelled
	if err := json.Unmarshal(biz, &ev); err != nil {
		return nil, fmt.Errorf("alipay: notification %s: biz_content: %w", n.NotifyID, err)
	}
	if ev.UserID == "" && ev.OpenID == "" {
		return nil, fmt.Errorf("alipay: notification %s: biz_content has neither user_id nor open_id", n.NotifyID)
	}
	ev.Raw = json.RawMessage(biz)
	return &ev, nil
}
