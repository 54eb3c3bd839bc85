package alipay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/isvkit/alipay/internal/aescbc"
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

// NotifyOption configures [Client.VerifyNotification] and
// [Client.NotifyHandler]. Options check their argument; an invalid one makes
// VerifyNotification return the error, and makes the handler answer every
// request with HTTP 500 and log the error.
type NotifyOption func(*notifyConfig) error

// notifyConfig is what the notify options collect.
type notifyConfig struct {
	appIDs   map[string]bool // accepted besides the client's own app id
	maxBytes int64
	maxAge   time.Duration
	lease    time.Duration
	store    DedupeStore
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

// Notification is a verified message of the Alipay message service
// (version 1.1), delivered to the app gateway (see docs/protocol.md).
// Every field comes from parameters covered by the signature.
type Notification struct {
	// NotifyID is the notification id (通知ID), the deduplication key: 1 to
	// 64 ASCII letters and digits.
	NotifyID string `json:"notify_id"`
	// UTCTimestamp is when Alipay sent the message (utc_timestamp, Unix
	// milliseconds).
	UTCTimestamp time.Time `json:"utc_timestamp"`
	// MsgMethod names the message, e.g. "alipay.open.app.api.field.changed".
	MsgMethod string `json:"msg_method"`
	// AppID is the app receiving the message: the client's app id or one of
	// [WithNotifyAppIDs].
	AppID string `json:"app_id"`
	// MsgType is "sys", "usr" or "app", when sent.
	MsgType string `json:"msg_type,omitempty"`
	// MsgAppID is the app the message belongs to, when sent.
	MsgAppID string `json:"msg_app_id,omitempty"`
	// Version is the protocol version, "1.1" for the message service.
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
	// the AES ciphertext (which Params keeps).
	BizContent string `json:"biz_content"`
	// Params holds every verified parameter (all but sign and sign_type),
	// including the ones above and any this version does not model.
	Params map[string]string `json:"params,omitempty"`

	decrypted bool // BizContent was decrypted from the AES ciphertext
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
	if n == nil {
		return nil, errors.New("alipay: nil notification")
	}
	if n.MsgMethod != methodAppAPIFieldChanged {
		return nil, fmt.Errorf("alipay: notification %s: msg_method is %q, not %s", n.NotifyID, n.MsgMethod, methodAppAPIFieldChanged)
	}
	if n.EncryptType != "" && !n.decrypted {
		return nil, fmt.Errorf("alipay: notification %s: biz_content is encrypted (%s) and no matching key is configured (WithAESKey)", n.NotifyID, n.EncryptType)
	}
	if cs := strings.ToUpper(n.Charset); cs != "" && cs != "UTF-8" && cs != "UTF8" {
		return nil, fmt.Errorf("alipay: notification %s: charset %q is not supported: decode BizContent yourself", n.NotifyID, n.Charset)
	}
	if kind := jsonKind(n.BizContent); kind != "object" {
		return nil, fmt.Errorf("alipay: notification %s: biz_content is %s, not one JSON object", n.NotifyID, kind)
	}
	var ev AppAPIFieldChanged
	if err := json.Unmarshal([]byte(n.BizContent), &ev.AuthFieldDTO); err != nil {
		return nil, fmt.Errorf("alipay: notification %s: biz_content: %w", n.NotifyID, err)
	}
	return &ev, nil
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

// VerifyNotification verifies one message-service notification and returns
// it. params must be the request's parameters after exactly one form
// decoding, the body merged with the URL query, as [net/http.Request.ParseForm]
// leaves them in r.Form; never decode values again.
//
// The checks run in this order, and the first that fails gives a
// [*VerifyError] (unwrapping to [ErrSignature]) with this Step:
//
//   - "duplicate_param": a parameter appears more than once;
//   - "missing_sign": sign is absent or empty;
//   - "sign_type_mismatch": sign_type is present and not RSA2: the algorithm
//     comes from the configuration, never from the message;
//   - "malformed_sign": sign is not strict standard Base64 (a '+' that became
//     a space on the way is refused, not repaired);
//   - "bad_signature": the V1 content (every parameter but sign and
//     sign_type, sorted by key, k=v joined by '&', empty values kept) does
//     not verify with SHA256withRSA under the Alipay public key;
//   - "app_id_mismatch": app_id is neither the client's nor one of
//     [WithNotifyAppIDs];
//   - "missing_field": notify_id, msg_method or utc_timestamp is absent or
//     empty (trade notifications of the old 1.0 protocol end here);
//   - "ambiguous_field": the V1 content could be read as other parameters,
//     as when a signed message is re-sent with "notify_id=<id>&notify_type=…"
//     folded into one value to pass under a new notify_id. Refused: a
//     parameter name that is empty or holds '&', '=' or a control
//     character; a protocol field (notify_id, notify_type, notify_time,
//     utc_timestamp, app_id, auth_app_id, msg_method, msg_type, msg_app_id,
//     version, charset, sign_type, encrypt_type) holding '&', '=', a control
//     character or a non-ASCII byte; a biz_content that is neither empty
//     nor exactly one JSON value (nor, with encrypt_type, Base64); '&' in
//     any other value. Business text inside biz_content's JSON may hold
//     '&', '=' and '%';
//   - "bad_notify_id": notify_id is not 1 to 64 ASCII letters and digits
//     (Alipay's are 32 to 35: digits, or hex for trade notifications);
//   - "bad_timestamp": utc_timestamp is not 13 digits of Unix milliseconds;
//   - "stale_timestamp": utc_timestamp lies outside the window of
//     [WithNotifyMaxAge] (or more than 5 minutes ahead of the client's clock).
//
// The error's Content is the V1 content (at most 512 bytes); no error holds
// the signature. Options other than WithNotifyAppIDs and WithNotifyMaxAge
// are ignored here. VerifyNotification does not deduplicate: see
// [Client.NotifyHandler].
func (c *Client) VerifyNotification(params url.Values, opts ...NotifyOption) (*Notification, error) {
	cfg, err := newNotifyConfig(opts)
	if err != nil {
		return nil, err
	}
	return c.verifyNotification(params, &cfg)
}

// verifyNotification applies the decision order of VerifyNotification.
func (c *Client) verifyNotification(params url.Values, cfg *notifyConfig) (*Notification, error) {
	flat := make(map[string]string, len(params))
	for k, vs := range params {
		switch len(vs) {
		case 0: // not received
		case 1:
			flat[k] = vs[0]
		default:
			return nil, &VerifyError{Method: logMethod(params.Get("msg_method")), Step: "duplicate_param"}
		}
	}
	method := logMethod(flat["msg_method"])
	content := v1Content(flat)
	fail := func(step string) error {
		return &VerifyError{Method: method, Step: step, Content: c.snippet(content)}
	}
	sign := flat["sign"]
	if sign == "" {
		return nil, fail("missing_sign")
	}
	if st, ok := flat["sign_type"]; ok && st != signTypeRSA2 {
		return nil, fail("sign_type_mismatch")
	}
	sig, ok := decodeSign(sign)
	if !ok {
		return nil, fail("malformed_sign")
	}
	if !c.verifyNotifyContent(content, sig) {
		return nil, fail("bad_signature")
	}
	// Verified from here on: every value below is Alipay's.
	delete(flat, "sign")
	delete(flat, "sign_type")
	appID := flat["app_id"]
	if appID != c.core.appID && !cfg.appIDs[appID] {
		return nil, fail("app_id_mismatch")
	}
	if flat["notify_id"] == "" || flat["msg_method"] == "" || flat["utc_timestamp"] == "" {
		return nil, fail("missing_field")
	}
	if !unambiguousSplit(flat) {
		return nil, fail("ambiguous_field")
	}
	if !validNotifyID(flat["notify_id"]) {
		return nil, fail("bad_notify_id")
	}
	ts, ok := parseUTCTimestamp(flat["utc_timestamp"])
	if !ok {
		return nil, fail("bad_timestamp")
	}
	now := c.core.now()
	if now.Sub(ts) > cfg.maxAge || ts.Sub(now) > notifyClockSkew {
		return nil, fail("stale_timestamp")
	}
	biz, decrypted := flat["biz_content"], false
	if strings.EqualFold(flat["encrypt_type"], "AES") && c.core.hasAES() {
		plain, err := aescbc.DecryptBase64([]byte(c.core.aesKey), biz)
		if err != nil {
			return nil, fail("decrypt")
		}
		biz, decrypted = string(plain), true
	}
	return &Notification{
		NotifyID:     flat["notify_id"],
		UTCTimestamp: ts,
		MsgMethod:    flat["msg_method"],
		AppID:        appID,
		MsgType:      flat["msg_type"],
		MsgAppID:     flat["msg_app_id"],
		Version:      flat["version"],
		Charset:      flat["charset"],
		EncryptType:  flat["encrypt_type"],
		BizContent:   biz,
		Params:       flat,
		decrypted:    decrypted,
	}, nil
}

// verifyNotifyContent reports whether sig is a valid RSA2 signature of
// content under one of the Alipay keys a notification may be signed with.
func (c *Client) verifyNotifyContent(content []byte, sig []byte) bool {
	for _, key := range c.core.notifyKeys() {
		if key != nil && verifyRSA2(key, content, sig) {
			return true
		}
	}
	return false
}

// v1Content builds the V1 string: every parameter but
// sign and sign_type, sorted by key in byte order, k=v joined by '&', values
// as received and empty values kept.
func v1Content(flat map[string]string) []byte {
	keys := make([]string, 0, len(flat))
	n := 0
	for k, v := range flat {
		if k == "sign" || k == "sign_type" {
			continue
		}
		keys = append(keys, k)
		n += len(k) + len(v) + 2
	}
	sort.Strings(keys)
	buf := make([]byte, 0, n)
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, '&')
		}
		buf = append(buf, k...)
		buf = append(buf, '=')
		buf = append(buf, flat[k]...)
	}
	return buf
}
