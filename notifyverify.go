package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/isvkit/alipay/internal/aescbc"
)

// VerifyNotification verifies one notification of the app gateway and
// returns it: a message of the message service (version 1.1, with
// msg_method) or the authorization notify (notify_type
// open_app_auth_notify, version 1.0 or empty, without msg_method). params
// must be the request's parameters after exactly one form decoding, the
// body merged with the URL query, as [net/http.Request.ParseForm] leaves
// them in r.Form; never decode values again.
//
// The checks run in this order, and the first that fails gives a
// [*VerifyError] (unwrapping to [ErrSignature]) with its step:
// [StepDuplicateParam], [StepMissingSign], [StepSignTypeMismatch],
// [StepMalformedSign], [StepBadSignature] (over the V1 content: every
// parameter but sign and sign_type, sorted by key, k=v joined by '&', empty
// values kept), [StepAppIDMismatch], [StepMissingField],
// [StepAmbiguousField], [StepBadNotifyID], [StepUnsupportedVersion]
// (authorization notify only), [StepBadTimestamp], [StepStaleTimestamp]
// and [StepDecrypt]; docs/wire.md#notifications says why each exists.
// A failure of the lookups of [WithNotifyAppIDFunc] or
// [WithNotifyMerchantStore] is returned as an error that is not a
// VerifyError.
//
// The error's Content is the V1 content (at most 512 bytes) with every
// token and app_auth_code replaced by "[redacted]"; no error holds the
// signature. The options that apply are WithNotifyAppIDs,
// WithNotifyAppIDFunc, WithNotifyMerchantStore and WithNotifyMaxAge; the
// lookups of the two in the middle run without a ctx of the caller,
// bounded by 10 s (use [NotifyVerifier.VerifyNotification] to pass one).
// An option that configures only a handler (WithNotifyMaxBytes,
// WithDedupeStore, WithNotifyLease, WithNotifyConfirmClient) is refused
// with an error naming it.
// VerifyNotification does not deduplicate: see [Client.NewNotifyHandler].
func (c *Client) VerifyNotification(params url.Values, opts ...NotifyOption) (*Notification, error) {
	cfg, err := newVerifyConfig(opts)
	if err != nil {
		return nil, err
	}
	return c.verifyNotification(context.Background(), params, &cfg)
}

// verifyNotification applies the decision order of VerifyNotification.
func (c *Client) verifyNotification(ctx context.Context, params url.Values, cfg *notifyConfig) (*Notification, error) {
	kind := logKind(params.Get("msg_method"), params.Get("notify_type"))
	flat := make(map[string]string, len(params))
	for k, vs := range params {
		switch len(vs) {
		case 0: // not received
		case 1:
			flat[k] = vs[0]
		default:
			return nil, &VerifyError{Method: kind, Step: StepDuplicateParam}
		}
	}
	content := v1Content(flat)
	fail := func(step VerifyStep) error {
		return &VerifyError{Method: kind, Step: step, Content: c.snippet([]byte(scrubTokenMembers(string(content))))}
	}
	sign := flat["sign"]
	if sign == "" {
		return nil, fail(StepMissingSign)
	}
	if st, ok := flat["sign_type"]; ok && st != signTypeRSA2 {
		return nil, fail(StepSignTypeMismatch)
	}
	sig, ok := decodeSign(sign)
	if !ok {
		return nil, fail(StepMalformedSign)
	}
	if !c.verifyNotifyContent(content, sig) {
		return nil, fail(StepBadSignature)
	}
	// Verified from here on: every value below is Alipay's.
	delete(flat, "sign")
	delete(flat, "sign_type")
	switch ok, err := c.acceptsAppID(ctx, cfg, flat["app_id"]); {
	case err != nil:
		return nil, err
	case !ok:
		return nil, fail(StepAppIDMismatch)
	}
	if flat["msg_method"] == "" && flat["notify_type"] == NotifyTypeAppAuth {
		return c.verifiedAuthNotify(flat, cfg, fail)
	}
	if flat["notify_id"] == "" || flat["msg_method"] == "" || flat["utc_timestamp"] == "" {
		return nil, fail(StepMissingField)
	}
	if !unambiguousSplit(flat) {
		return nil, fail(StepAmbiguousField)
	}
	if !validNotifyID(flat["notify_id"]) {
		return nil, fail(StepBadNotifyID)
	}
	ts, ok := parseUTCTimestamp(flat["utc_timestamp"])
	if !ok {
		return nil, fail(StepBadTimestamp)
	}
	return c.verifiedNotification(flat, ts, cfg, fail)
}

// verifiedAuthNotify finishes the checks of the authorization notify
// (signature and app_id verified) and returns it with its secrets
// redacted from BizContent and Params.
func (c *Client) verifiedAuthNotify(flat map[string]string, cfg *notifyConfig, fail func(VerifyStep) error) (*Notification, error) {
	if flat["notify_id"] == "" || flat["notify_time"] == "" {
		return nil, fail(StepMissingField)
	}
	if !unambiguousSplit(flat) {
		return nil, fail(StepAmbiguousField)
	}
	if !validNotifyID(flat["notify_id"]) {
		return nil, fail(StepBadNotifyID)
	}
	if v := flat["version"]; v != "" && v != "1.0" {
		return nil, fail(StepUnsupportedVersion)
	}
	ts, err := time.ParseInLocation(time.DateTime, flat["notify_time"], alipayZone)
	if err != nil {
		return nil, fail(StepBadTimestamp)
	}
	n, err := c.verifiedNotification(flat, ts, cfg, fail)
	if err != nil {
		return nil, err
	}
	if n.EncryptType == "" || n.decrypted {
		n.secretBiz = NewSecret(n.BizContent)
		n.BizContent = string(redactTokens([]byte(n.BizContent))) // "" if it were not JSON
		if flat["encrypt_type"] == "" {
			flat["biz_content"] = n.BizContent
		}
	}
	return n, nil
}

// verifiedNotification checks the replay window of a notification sent at
// ts, decrypts its biz_content when it is encrypted and the client has the
// key, and returns it.
func (c *Client) verifiedNotification(flat map[string]string, ts time.Time, cfg *notifyConfig, fail func(VerifyStep) error) (*Notification, error) {
	now := c.core.now()
	if now.Sub(ts) > cfg.maxAge || ts.Sub(now) > notifyClockSkew {
		return nil, fail(StepStaleTimestamp)
	}
	biz, decrypted := flat["biz_content"], false
	if strings.EqualFold(flat["encrypt_type"], "AES") && c.core.hasAES() {
		plain, err := aescbc.DecryptBase64([]byte(c.core.aesKey), biz)
		if err != nil {
			return nil, fail(StepDecrypt)
		}
		biz, decrypted = string(plain), true
	}
	return &Notification{
		NotifyID:     flat["notify_id"],
		UTCTimestamp: ts,
		MsgMethod:    flat["msg_method"],
		NotifyType:   flat["notify_type"],
		AppID:        flat["app_id"],
		AuthAppID:    flat["auth_app_id"],
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

// errAppIDLookup wraps a failure of the app id function or the registry.
var errAppIDLookup = errors.New("alipay: notification app id lookup failed")

// acceptsAppID reports whether a verified notification addressed to appID
// is for this gateway: the client's app id, a listed one, one the user's
// function accepts, or a merchant the registry knows (any state). The
// function and the registry are asked only about well-formed app ids.
func (c *Client) acceptsAppID(ctx context.Context, cfg *notifyConfig, appID string) (bool, error) {
	if appID != "" && (appID == c.core.appID || cfg.appIDs[appID]) {
		return true, nil
	}
	if checkMerchantID(appID) != nil || (cfg.appIDFunc == nil && cfg.merchants == nil) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
	defer cancel()
	if cfg.appIDFunc != nil {
		ok, err := cfg.appIDFunc(ctx, appID)
		if err != nil {
			return false, fmt.Errorf("%w: app id function: %w", errAppIDLookup, err)
		}
		if ok {
			return true, nil
		}
	}
	if cfg.merchants != nil {
		_, err := cfg.merchants.Get(ctx, appID)
		switch {
		case errors.Is(err, ErrMerchantNotFound):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("%w: merchant store: %w", errAppIDLookup, err)
		}
		return true, nil
	}
	return false, nil
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

// logKind names a notification for errors and logs before verification:
// its msg_method, else its notify_type, when it looks like a name (see
// logMethod), else "notification".
func logKind(msgMethod, notifyType string) string {
	if msgMethod == "" && safeToken(notifyType, 100) {
		return notifyType
	}
	return logMethod(msgMethod)
}
