package alipay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/isvkit/alipay/internal/aescbc"
)

// Alipay method names of the merchant AES key calls.
const (
	methodAuthAppAESSet = "alipay.open.auth.app.aes.set"
	methodAuthAppAESGet = "alipay.open.auth.app.aes.get"
)

// encryptedOnly reports whether method's success must arrive encrypted:
// the AES key calls are always encrypted, and a plain success holding a
// key (which only a failure may be, in Alipay's answers) is refused.
func encryptedOnly(method string) bool {
	return method == methodAuthAppAESSet || method == methodAuthAppAESGet
}

// maxMerchantAppID is the documented maximum length of merchant_app_id.
const maxMerchantAppID = 128

// AESKey is a merchant mini-program's AES key (the key of its open data,
// see [Client.DecryptOpenData]). It never prints: every fmt verb, %#v and
// slog show "[redacted]" (or "[none]" for no key), and JSON encodes it as
// {}. Read it with [AESKey.Base64] where it must be stored.
type AESKey struct{ b64 string }

// Base64 returns the key in standard Base64, as the open platform shows it
// and as [StaticAESKeys] and [AESKeySource] take it; "" for no key.
func (k AESKey) Base64() string { return k.b64 }

// IsZero reports whether there is no key.
func (k AESKey) IsZero() bool { return k.b64 == "" }

// String returns "[redacted]", or "[none]" for no key.
func (k AESKey) String() string {
	if k.IsZero() {
		return "[none]"
	}
	return "[redacted]"
}

// GoString is String.
func (k AESKey) GoString() string { return k.String() }

// Format writes String whatever the verb and flags.
func (k AESKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue logs String.
func (k AESKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// UnmarshalJSON reads aes_key: "" or null is no key; anything else must be
// standard Base64 of a 16-, 24- or 32-byte key. The error never quotes the
// value.
func (k *AESKey) UnmarshalJSON(data []byte) error {
	var s *string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("aes_key is not a string")
	}
	if s == nil || *s == "" {
		*k = AESKey{}
		return nil
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(*s)
	if err != nil || aescbc.CheckKey(raw) != nil {
		return errors.New("aes_key is not standard Base64 of a 16-, 24- or 32-byte key")
	}
	*k = AESKey{b64: *s}
	return nil
}

// AuthAppAESSetRequest names the app whose AES key to set.
type AuthAppAESSetRequest struct {
	// MerchantAppID is the merchant mini-program's app id, or the
	// template's app id to set a template's key. Required.
	MerchantAppID string `json:"merchant_app_id"`
}

// AuthAppAESSetResponse holds the new key. Its ResponseMeta.Raw is empty:
// it would hold the key.
type AuthAppAESSetResponse struct {
	ResponseMeta
	// AESKey is the app's new AES key.
	AESKey AESKey `json:"aes_key"`
}

// AuthAppAESGetRequest names the app whose AES key to read.
type AuthAppAESGetRequest struct {
	// MerchantAppID is the merchant mini-program's app id, or the
	// template's app id to read a template's key. Required.
	MerchantAppID string `json:"merchant_app_id"`
}

// AuthAppAESGetResponse holds the current key. Its ResponseMeta.Raw is
// empty: it would hold the key.
type AuthAppAESGetResponse struct {
	ResponseMeta
	// AESKey is the app's current AES key; zero when the app has none
	// (Alipay sends an empty aes_key): see [AuthAppAESGetResponse.HasKey].
	AESKey AESKey `json:"aes_key"`
}

// HasKey reports whether the app has an AES key.
func (r *AuthAppAESGetResponse) HasKey() bool { return !r.AESKey.IsZero() }

// AuthAppAESSet sets a new AES key for a merchant mini-program (or a
// template) authorised to the ISV, and returns it. Every call REPLACES the
// key: envelopes the front end encrypted under the old key no longer
// decrypt with the new one, so keep the old key as the previous one of
// your [AESKeySource] for a while. For the same reason it is never retried:
// after a transport error, a timeout or a cancelled ctx the outcome is
// unknown, so read the key with [Client.AuthAppAESGet] rather than calling
// set again; the same holds for a success without a key (a
// [*ResponseError] with Reason "missing_aes_key"). Prefer get first, and
// set only when it reports no key.
//
// The ISV calls it for itself: use the client of [NewClient], not one of
// [Client.WithAppAuthToken] (refused before sending, as is a client without
// [WithAESKey]: request and response are encrypted with the ISV app's own
// AES key, which must be set in the console first; a success that comes
// back in plain text is a [*ResponseError] with Reason "not_encrypted").
//
// Alipay API: alipay.open.auth.app.aes.set (授权应用aes密钥设置).
func (c *Client) AuthAppAESSet(ctx context.Context, req *AuthAppAESSetRequest) (*AuthAppAESSetResponse, error) {
	if req == nil {
		req = &AuthAppAESSetRequest{}
	}
	biz, err := c.aesKeyCall(methodAuthAppAESSet, req.MerchantAppID, req)
	if err != nil {
		return nil, err
	}
	res, err := callTyped[AuthAppAESSetResponse](ctx, c, methodAuthAppAESSet, biz, nil)
	if err != nil {
		return nil, err
	}
	if res.AESKey.IsZero() { // the key changed, but we do not know it
		return nil, &ResponseError{Method: methodAuthAppAESSet, StatusCode: http.StatusOK, Reason: ReasonMissingAESKey, TraceID: res.TraceID}
	}
	res.Raw = nil
	return res, nil
}

// AuthAppAESGet reads the AES key of a merchant mini-program (or a
// template) authorised to the ISV. An app without a key gives a response
// whose HasKey is false. It is a read: safe to repeat.
//
// As for [Client.AuthAppAESSet], the ISV calls it for itself with
// [WithAESKey] set; a client of [Client.WithAppAuthToken] or one without
// the key is refused before sending.
//
// Alipay API: alipay.open.auth.app.aes.get (授权应用aes密钥查询).
func (c *Client) AuthAppAESGet(ctx context.Context, req *AuthAppAESGetRequest) (*AuthAppAESGetResponse, error) {
	if req == nil {
		req = &AuthAppAESGetRequest{}
	}
	biz, err := c.aesKeyCall(methodAuthAppAESGet, req.MerchantAppID, req)
	if err != nil {
		return nil, err
	}
	res, err := callTyped[AuthAppAESGetResponse](ctx, c, methodAuthAppAESGet, biz, nil)
	if err != nil {
		return nil, err
	}
	res.Raw = nil
	return res, nil
}

// scrubKeyError empties the parts of an error that quote the response (a
// VerifyError's Content, a ResponseError's Body): in an AES key call they
// could hold a key, should a response ever come unencrypted. Every attempt
// of an AES key call goes through it (scrubAttempt).
func scrubKeyError(err error) error {
	var ve *VerifyError
	if errors.As(err, &ve) {
		ve.Content = ""
	}
	var re *ResponseError
	if errors.As(err, &re) {
		re.Body = ""
	}
	return err
}

// aesKeyCall checks what both AES key calls need and returns the
// biz_content of req.
func (c *Client) aesKeyCall(method, merchantAppID string, req any) ([]byte, error) {
	if err := c.selfInvoked(method); err != nil {
		return nil, err
	}
	if !c.core.hasAES() {
		return nil, &ValidationError{Method: method, Field: "encrypt_type",
			Problem: "request and response must be encrypted with the ISV app's own AES key: use WithAESKey"}
	}
	if err := requireFields(method, "", "merchant_app_id", merchantAppID); err != nil {
		return nil, err
	}
	if len(merchantAppID) > maxMerchantAppID || strings.TrimSpace(merchantAppID) != merchantAppID {
		return nil, &ValidationError{Method: method, Field: "merchant_app_id",
			Problem: fmt.Sprintf("an app id of at most %d characters without spaces", maxMerchantAppID)}
	}
	biz, err := marshalJSON(req)
	if err != nil {
		return nil, &ValidationError{Method: method, Field: "biz_content", Problem: err.Error()}
	}
	return biz, nil
}
