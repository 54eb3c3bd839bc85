package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Notification limits and defaults.
const (
	// DefaultNotifyMaxBytes bounds the body [Client.NotifyHandler] reads
	// unless [WithNotifyMaxBytes] says otherwise. Alipay's messages are a few
	// KiB.
	DefaultNotifyMaxBytes = 64 << 10

	// DefaultNotifyMaxAge is the replay window: a notification whose
	// utc_timestamp is older is refused with step "stale_timestamp".
	// Alipay retries an unacknowledged trade notification for about 25 hours
	// (after 4m, 10m, 10m, 1h, 2h, 6h, 15h: the last retry about 24h24m
	// after the first delivery); the message service's schedule, and
	// whether a retry keeps the first delivery's utc_timestamp, are not
	// documented. So the window covers that whole
	// schedule with margin: a shorter one could refuse, and so lose, the late
	// retries of a message whose first deliveries failed. Replays inside the
	// window are caught by deduplication, which remembers a processed
	// notify_id for longer than the window (see [Client.NotifyHandler]);
	// replays outside it are refused.
	DefaultNotifyMaxAge = 26 * time.Hour

	// DefaultNotifyLease is how long [Client.NotifyHandler] holds the claim on
	// a notify_id while the user's function runs, unless [WithNotifyLease]
	// says otherwise; the function's ctx ends with it.
	DefaultNotifyLease = time.Minute

	// notifyClockSkew is how far in the future a utc_timestamp may lie
	// (Alipay's clock against ours).
	notifyClockSkew = 5 * time.Minute

	// maxNotifyMaxAge bounds WithNotifyMaxAge, so the dedupe TTL stays sane.
	maxNotifyMaxAge = 30 * 24 * time.Hour
)

// NotifyOption configures the verification of notifications and the
// handler of the app gateway. Options check their argument: an invalid one
// (or a nil one) makes [Client.NewNotifyHandler] and
// [NotifyVerifier.NewNotifyHandler] fail when the handler is built, and
// makes VerifyNotification return the error.
type NotifyOption func(*notifyConfig) error

// notifyConfig is what the notify options collect.
type notifyConfig struct {
	appIDs    map[string]bool                                       // accepted besides the client's own app id
	appIDFunc func(ctx context.Context, appID string) (bool, error) // asked for other app ids; nil when none
	merchants MerchantStore                                         // the registry; nil when none
	confirm   *Client                                               // confirms cancellations; nil: the handler's client
	maxBytes  int64
	maxAge    time.Duration
	lease     time.Duration
	store     DedupeStore
}

// newNotifyConfig applies opts over the defaults.
func newNotifyConfig(opts []NotifyOption) (notifyConfig, error) {
	cfg := notifyConfig{maxBytes: DefaultNotifyMaxBytes, maxAge: DefaultNotifyMaxAge, lease: DefaultNotifyLease}
	for i, opt := range opts {
		if opt == nil {
			return cfg, fmt.Errorf("alipay: notify option %d is nil", i)
		}
		if err := opt(&cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// dedupeTTL is how long a processed notify_id is remembered: longer than a
// replay can be accepted (utc_timestamp up to notifyClockSkew ahead, then
// maxAge old), so every replay inside the window meets the dedupe store.
func (cfg *notifyConfig) dedupeTTL() time.Duration { return cfg.maxAge + 2*notifyClockSkew }

// WithNotifyAppIDs accepts notifications addressed (app_id) to these apps as
// well as to the client's own app id, e.g. the merchant apps an ISV serves
// (Alipay does not document which app receives field.changed in the ISV
// case).
// Route by the verified [Notification.AppID] and the event's UserAppID.
func WithNotifyAppIDs(appIDs ...string) NotifyOption {
	return func(c *notifyConfig) error {
		if c.appIDs == nil {
			c.appIDs = make(map[string]bool, len(appIDs))
		}
		for _, id := range appIDs {
			if id == "" || strings.ContainsAny(id, " \t\r\n&=") {
				return fmt.Errorf("alipay: WithNotifyAppIDs: invalid app id %q", id)
			}
			c.appIDs[id] = true
		}
		return nil
	}
}

// WithNotifyAppIDFunc accepts notifications addressed (app_id) to the apps
// for which fn reports true, besides the client's own app id and those of
// [WithNotifyAppIDs]: e.g. a lookup in the ISV's own table of merchants, so
// that merchants added while the server runs are accepted without building
// a new handler. fn is asked only after the signature verified, only about
// app ids of 1 to 64 letters, digits, '.', '_' and '-', with a ctx bounded
// by 10 s; it must be safe for concurrent use. An error from fn makes the
// handler answer "fail" (HTTP 503), so that Alipay delivers the message
// again.
func WithNotifyAppIDFunc(fn func(ctx context.Context, appID string) (bool, error)) NotifyOption {
	return func(c *notifyConfig) error {
		if fn == nil {
			return errors.New("alipay: WithNotifyAppIDFunc: nil function")
		}
		c.appIDFunc = fn
		return nil
	}
}

// WithNotifyMerchantStore connects the handler to the registry of merchant
// authorizations. Notifications addressed to any merchant the store holds
// (in any state) are accepted, as the store is at the time of each message;
// the authorization notify stores the new token before "success" is
// answered; and alipay.open.auth.appauth.cancelled marks the merchant
// cancelled once [Client.AuthTokenAppQuery] confirms it. See
// [Client.NewNotifyHandler].
func WithNotifyMerchantStore(store MerchantStore) NotifyOption {
	return func(c *notifyConfig) error {
		if store == nil {
			return errors.New("alipay: WithNotifyMerchantStore: nil store")
		}
		c.merchants = store
		return nil
	}
}

// WithNotifyConfirmClient sets the ISV client (of [NewClient], for the same
// app id) that confirms a cancellation with [Client.AuthTokenAppQuery]
// before the handler marks a merchant cancelled. A handler built by
// [Client.NewNotifyHandler] uses its own client by default; one built by
// [NotifyVerifier.NewNotifyHandler] holds no private key, cannot sign the
// query, and so needs this option together with [WithNotifyMerchantStore].
func WithNotifyConfirmClient(isv *Client) NotifyOption {
	return func(c *notifyConfig) error {
		if isv == nil || isv.core == nil || isv.core.key == nil {
			return errors.New("alipay: WithNotifyConfirmClient: nil client or a client without a private key")
		}
		c.confirm = &Client{core: isv.core} // the ISV itself, even if isv acts for a merchant
		return nil
	}
}

// WithNotifyMaxAge sets the replay window (default [DefaultNotifyMaxAge]):
// a notification whose utc_timestamp is older than d, or more than five
// minutes in the future, is refused. d must lie in (0, 30 days]. Keep it
// longer than Alipay's retry schedule (about 25 h) or late retries of a
// message that failed once are lost.
func WithNotifyMaxAge(d time.Duration) NotifyOption {
	return func(c *notifyConfig) error {
		if d <= 0 || d > maxNotifyMaxAge {
			return fmt.Errorf("alipay: WithNotifyMaxAge: %v is not in (0, 720h]", d)
		}
		c.maxAge = d
		return nil
	}
}

// Notification is a verified notification delivered to the app gateway:
// a message of the Alipay message service (version 1.1, with msg_method),
// or the authorization notify (notify_type open_app_auth_notify, version
// 1.0, no msg_method). See docs/protocol.md. Every field comes from
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
	// EncryptType is "AES" when biz_content is encrypted. The signature is
	// checked over the ciphertext as received (Alipay publishes no signed
	// sample to confirm it); then, with [WithAESKey], biz_content is
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
// Status is normalised case-insensitively, StatusRaw keeps the text received
// and unknown keys are ignored. Alipay does not document the exact payload.
type AppAPIFieldChanged struct {
	AuthFieldDTO
}

// AppAPIFieldChanged decodes the biz_content of an
// alipay.open.app.api.field.changed message. It fails when the message is
// another msg_method, when biz_content is still encrypted (no [WithAESKey]) or in a charset other
// than UTF-8, or when it is not exactly one JSON object; the raw text stays
// in [Notification.BizContent].
func (n *Notification) AppAPIFieldChanged() (*AppAPIFieldChanged, error) {
	biz, err := n.bizObject(methodAppAPIFieldChanged, "")
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
