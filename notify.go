package alipay

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Names of the notifications the SDK decodes. Compare a message's
// [Notification.MsgMethod] with the MsgMethod… constants (and subscribe to
// those messages in the open platform console), and the authorization
// notify's [Notification.NotifyType] with NotifyTypeAppAuth.
const (
	// MsgMethodAppAPIFieldChanged: the audit of a user-information field
	// application ended; decode it with [Notification.AppAPIFieldChanged].
	MsgMethodAppAPIFieldChanged = "alipay.open.app.api.field.changed"
	// MsgMethodAuthAppAuthCancelled: a merchant cancelled the ISV's
	// authorization; decode it with [Notification.AuthAppAuthCancelled].
	MsgMethodAuthAppAuthCancelled = "alipay.open.auth.appauth.cancelled"
	// MsgMethodAuthUserAuthCancelled: a user cancelled their authorization
	// of a merchant's app; decode it with [Notification.AuthUserAuthCancelled].
	MsgMethodAuthUserAuthCancelled = "alipay.open.auth.userauth.cancelled"
	// NotifyTypeAppAuth is the notify_type of the authorization notify (it
	// has no msg_method); decode it with [Notification.AppAuthNotify].
	NotifyTypeAppAuth = "open_app_auth_notify"
)

// Notification is a verified notification delivered to the app gateway:
// a message of the Alipay message service (version 1.1, with msg_method),
// or the authorization notify (notify_type open_app_auth_notify, version
// 1.0, no msg_method); see docs/wire.md#notifications. Every field comes from
// parameters covered by the signature.
type Notification struct {
	// NotifyID is the notification id (通知ID), the deduplication key: 1 to
	// 64 ASCII letters and digits.
	NotifyID string `json:"notify_id"`
	// UTCTimestamp is when Alipay sent the message: utc_timestamp (Unix
	// milliseconds), or, for the authorization notify, notify_time
	// ("yyyy-MM-dd HH:mm:ss" in UTC+8).
	UTCTimestamp time.Time `json:"utc_timestamp"`
	// MsgMethod names the message, e.g. "alipay.open.app.api.field.changed";
	// empty for the authorization notify.
	MsgMethod string `json:"msg_method"`
	// NotifyType is "open_app_auth_notify" for the authorization notify,
	// empty for a message-service message.
	NotifyType string `json:"notify_type,omitempty"`
	// AppID is the app receiving the message: the client's app id, one of
	// [WithNotifyAppIDs], or one accepted by [WithNotifyAppIDFunc] or the
	// registry of [WithNotifyMerchantStore].
	AppID string `json:"app_id"`
	// AuthAppID is the merchant app that authorised, in the authorization
	// notify (absent in plugin authorizations).
	AuthAppID string `json:"auth_app_id,omitempty"`
	// MsgType is "sys", "usr" or "app", when sent.
	MsgType string `json:"msg_type,omitempty"`
	// MsgAppID is the app the message belongs to, when sent.
	MsgAppID string `json:"msg_app_id,omitempty"`
	// Version is the protocol version: "1.1" for the message service, "1.0"
	// (or empty) for the authorization notify.
	Version string `json:"version,omitempty"`
	// Charset is the charset Alipay signed with, e.g. "UTF-8".
	Charset string `json:"charset,omitempty"`
	// EncryptType is "AES" when biz_content is encrypted. Alipay has no
	// signed sample of an encrypted message; the signature is checked over
	// the ciphertext as received (docs/wire.md row U7), then, with [WithAESKey], biz_content is
	// decrypted (a failure is the step "decrypt"). Without the key
	// BizContent stays the Base64 ciphertext.
	EncryptType string `json:"encrypt_type,omitempty"`
	// BizContent is the payload: the JSON as received, or decrypted from
	// the AES ciphertext (which Params keeps). In the authorization notify
	// the tokens and the app_auth_code are replaced by "[redacted]", here
	// and in Params, so that printing a Notification never shows them:
	// [Notification.AppAuthNotify] gives them as [Secret]s.
	BizContent string `json:"biz_content"`
	// Params holds every verified parameter (all but sign and sign_type),
	// including the ones above and any this version does not model.
	Params map[string]string `json:"params,omitempty"`

	decrypted bool   // BizContent was decrypted from the AES ciphertext
	secretBiz Secret // the authorization notify's biz_content before redaction (a Secret: fmt never shows it)
}

// AppAPIFieldChanged is the payload of the alipay.open.app.api.field.changed
// message (用户信息申请记录审核通知), sent when the audit of a user-information
// field application ends. It carries the fields of an application record;
// Status is normalised case-insensitively and StatusRaw keeps the text
// received. Alipay does not publish this payload: unknown keys are ignored
// and [Notification.BizContent] keeps the raw text (docs/wire.md row U6).
type AppAPIFieldChanged struct {
	AuthFieldDTO
}

// AppAPIFieldChanged decodes the biz_content of an
// alipay.open.app.api.field.changed message. It fails when the message is
// another msg_method, when biz_content is still encrypted (no [WithAESKey]) or in a charset other
// than UTF-8, or when it is not exactly one JSON object; the raw text stays
// in [Notification.BizContent].
func (n *Notification) AppAPIFieldChanged() (*AppAPIFieldChanged, error) {
	biz, err := n.bizObject(MsgMethodAppAPIFieldChanged, "")
	if err != nil {
		return nil, err
	}
	var ev AppAPIFieldChanged
	if err := json.Unmarshal(biz, &ev.AuthFieldDTO); err != nil {
		return nil, fmt.Errorf("alipay: notification %s: biz_content: %w", n.NotifyID, err)
	}
	return &ev, nil
}

// bizObject returns the biz_content of n, checked to be one JSON object in
// UTF-8, when n is the message msgMethod or, with msgMethod "", the notify
// of notifyType.
func (n *Notification) bizObject(msgMethod, notifyType string) ([]byte, error) {
	if n == nil {
		return nil, errors.New("alipay: nil notification")
	}
	switch {
	case msgMethod != "" && n.MsgMethod != msgMethod:
		return nil, fmt.Errorf("alipay: notification %s: msg_method is %q, not %s", n.NotifyID, n.MsgMethod, msgMethod)
	case msgMethod == "" && (n.MsgMethod != "" || n.NotifyType != notifyType):
		return nil, fmt.Errorf("alipay: notification %s: not the %s notify", n.NotifyID, notifyType)
	}
	if n.EncryptType != "" && !n.decrypted {
		return nil, fmt.Errorf("alipay: notification %s: biz_content is encrypted (%s) and no matching key is configured (WithAESKey)", n.NotifyID, n.EncryptType)
	}
	if cs := strings.ToUpper(n.Charset); cs != "" && cs != "UTF-8" && cs != "UTF8" {
		return nil, fmt.Errorf("alipay: notification %s: charset %q is not supported: decode BizContent yourself", n.NotifyID, n.Charset)
	}
	biz := n.BizContent
	if !n.secretBiz.IsZero() {
		biz = n.secretBiz.Reveal()
	}
	if kind := jsonKind(biz); kind != "object" {
		return nil, fmt.Errorf("alipay: notification %s: biz_content is %s, not one JSON object", n.NotifyID, kind)
	}
	return []byte(biz), nil
}

// jsonKind names what s holds: "object", "array", another JSON kind, or
// "not JSON" (invalid, empty, or several values).
func jsonKind(s string) string {
	if !json.Valid([]byte(s)) {
		return "not JSON"
	}
	switch strings.TrimLeft(s, " \t\r\n")[0] {
	case '{':
		return "object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	default:
		return "a JSON scalar"
	}
}
