package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/isvkit/alipay/internal/opendata"
)

// Open data: the encrypted, signed envelope a mini-program front end gets
// from a JSAPI such as my.getPhoneNumber and posts to the ISV's backend. The
// procedure is in internal/opendata; this file adds the keys and the errors.

// ErrBadEnvelope is the class of open-data envelopes that are not what
// Alipay produces: not one JSON object, no "response", an unencrypted
// response, an encrypt_type other than AES or a charset other than UTF-8,
// or a decrypted plaintext of the wrong shape. See [EnvelopeError].
var ErrBadEnvelope = errors.New("alipay: unusable open-data envelope")

// EnvelopeError reports an open-data envelope refused for its form. It
// unwraps to [ErrBadEnvelope]. Signature problems (a missing, malformed or
// wrong sign, a sign_type other than RSA2, a duplicate member) and a
// ciphertext no key decrypts are [*VerifyError]s instead, unwrapping to
// [ErrSignature]. Treat both as a bad request from the front end.
type EnvelopeError struct {
	Method string // "DecryptOpenData" or "PhoneNumber"
	// Reason is "invalid_envelope" (not one JSON object, or larger than
	// 64 KiB), "missing_response", "not_encrypted", "unsupported_encrypt_type",
	// "unsupported_charset" or "invalid_plaintext" (the verified plaintext
	// lacks the expected fields' types).
	Reason string
}

// Error names the method and the reason; it never quotes the envelope.
func (e *EnvelopeError) Error() string {
	return "alipay: " + e.Method + ": unusable open-data envelope (" + e.Reason + ")"
}

// Unwrap returns [ErrBadEnvelope].
func (e *EnvelopeError) Unwrap() error { return ErrBadEnvelope }

// AESKeySource gives the AES keys of merchant mini-programs, to decrypt
// their open data. AESKeys returns the Base64 keys of merchantAppID, the
// current key first, then older ones still accepted (after
// [Client.AuthAppAESSet] replaced a key, envelopes made under the old one
// may still arrive); none (nil, nil) when the app is unknown. It is called
// only after an envelope's signature verified, and must be safe for
// concurrent use.
type AESKeySource interface {
	AESKeys(ctx context.Context, merchantAppID string) ([]string, error)
}

// staticAESKeys is the AESKeySource of StaticAESKeys: one validated key per
// merchant app. It never prints its keys.
type staticAESKeys struct{ keys map[string]string }

// StaticAESKeys returns a source holding one Base64 AES key per merchant
// app id (the keys of the open platform console or of
// [Client.AuthAppAESGet]). Every key is checked now (standard Base64 of 16,
// 24 or 32 bytes); an error names the app id, never the key. The map is
// copied.
func StaticAESKeys(keys map[string]string) (AESKeySource, error) {
	s := &staticAESKeys{keys: make(map[string]string, len(keys))}
	for id, key := range keys {
		if strings.TrimSpace(id) == "" {
			return nil, errors.New("alipay: StaticAESKeys: empty merchant app id")
		}
		if _, err := parseAESKey("StaticAESKeys: merchant app "+id, key); err != nil {
			return nil, err
		}
		s.keys[id] = strings.TrimSpace(key)
	}
	return s, nil
}

// AESKeys returns the one key of merchantAppID, or none.
func (s *staticAESKeys) AESKeys(_ context.Context, merchantAppID string) ([]string, error) {
	if k, ok := s.keys[merchantAppID]; ok {
		return []string{k}, nil
	}
	return nil, nil
}

// Format prints the number of merchants only, whatever the verb.
func (s *staticAESKeys) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "alipay.StaticAESKeys{%d merchant apps}", len(s.keys))
}

// LogValue logs the number of merchants only.
func (s *staticAESKeys) LogValue() slog.Value { return slog.IntValue(len(s.keys)) }

// WithAESKeySource sets where [Client.DecryptOpenData] and
// [Client.PhoneNumber] find each merchant mini-program's AES key (not the
// ISV's own key of [WithAESKey]).
func WithAESKeySource(src AESKeySource) Option {
	return func(c *config) error {
		if src == nil {
			return errors.New("alipay: WithAESKeySource: nil source")
		}
		c.aesKeySource = src
		return nil
	}
}

// openDataStatus is the status part of a decrypted open-data plaintext.
// Failures carry camelCase subCode/subMsg; snake_case is read too.
type openDataStatus struct {
	Code         string `json:"code"`
	Msg          string `json:"msg"`
	SubCodeCamel string `json:"subCode"`
	SubMsgCamel  string `json:"subMsg"`
	SubCode      string `json:"sub_code"`
	SubMsg       string `json:"sub_msg"`
}

// DecryptOpenData verifies the open-data envelope a mini-program of the
// merchant app merchantAppID obtained (the text of res.response of
// my.getPhoneNumber and similar JSAPIs, posted by the front end as is), then
// decrypts it with that app's AES key, and returns the plaintext JSON
// object. A result whose code is not 10000 (or that has a sub-code) is an
// [*APIError] with Verified set, its sub-code read from subCode/subMsg or
// sub_code/sub_msg.
//
// The checks, in order: the envelope is one JSON object of at most 64 KiB
// with no member given twice; "response" is a string (the ciphertext; an
// unencrypted object is refused); "sign" is present; sign_type, when
// present, is RSA2, encrypt_type AES and charset UTF-8; sign is strict
// standard Base64; it is a SHA256withRSA signature of `"` + response + `"`
// by the client's Alipay public key (in certificate mode the configured
// Alipay certificate's key). Only then are the merchant's keys fetched from
// the [WithAESKeySource] source and tried in order (AES-CBC, zero IV, every
// PKCS#7 pad byte checked); a key that fails is never taken for an empty
// result. The keys bind the envelope to the merchant: one made for another
// merchant app fails to decrypt.
//
// Errors: [*ValidationError] (ErrInvalidRequest) for a merchantAppID that
// is not an app id (it often comes from the front end: it is checked before
// anything else and never echoed), no source configured, or no key for the
// app; the source's
// own error wrapped; [*EnvelopeError] (ErrBadEnvelope) for a malformed
// envelope; [*VerifyError] (ErrSignature) with Step "duplicate_key",
// "missing_sign", "sign_type_mismatch", "malformed_sign", "bad_signature" or
// "decrypt". No error holds the ciphertext, the plaintext or a key.
func (c *Client) DecryptOpenData(ctx context.Context, merchantAppID string, envelope []byte) (json.RawMessage, error) {
	return c.openData(ctx, "DecryptOpenData", merchantAppID, envelope, nil)
}

// openData is DecryptOpenData under the name of its caller; when into is
// not nil the plaintext is also decoded into it.
func (c *Client) openData(ctx context.Context, name, merchantAppID string, envelope []byte, into any) (json.RawMessage, error) {
	// The id often comes from the front end (a path segment): it is
	// checked, and not echoed, before it reaches an error, a log or the
	// key source.
	if checkMerchantID(merchantAppID) != nil {
		return nil, &ValidationError{Method: name, Field: "merchant_app_id",
			Problem: "not an app id (1 to 64 letters, digits, '.', '_' and '-')"}
	}
	src := c.core.aesKeys
	if src == nil {
		return nil, &ValidationError{Method: name, Problem: "no AES key source: use WithAESKeySource"}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", name, err)
	}
	env, err := opendata.Parse(envelope)
	if err != nil {
		return nil, openDataError(name, err)
	}
	verified, err := env.Verify(c.core.alipayKey) // the certificate's key in certificate mode
	if err != nil {
		return nil, openDataError(name, err)
	}
	texts, err := src.AESKeys(ctx, merchantAppID)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: AES keys of merchant app %s: %w", name, merchantAppID, err)
	}
	if len(texts) == 0 {
		return nil, &ValidationError{Method: name, Field: "merchant_app_id", Problem: "no AES key for merchant app " + merchantAppID}
	}
	keys := make([][]byte, len(texts))
	for i, t := range texts {
		k, err := parseAESKey(name+": AES key "+strconv.Itoa(i+1)+" of merchant app "+merchantAppID, t)
		if err != nil {
			return nil, err
		}
		keys[i] = []byte(k)
	}
	plain, _, err := verified.Decrypt(keys)
	if err != nil {
		return nil, openDataError(name, err)
	}
	var st openDataStatus
	if json.Unmarshal(plain, &st) != nil || (into != nil && json.Unmarshal(plain, into) != nil) {
		return nil, &EnvelopeError{Method: name, Reason: "invalid_plaintext"}
	}
	subCode, subMsg := st.SubCodeCamel, st.SubMsgCamel
	if subCode == "" && subMsg == "" {
		subCode, subMsg = st.SubCode, st.SubMsg
	}
	if st.Code != "10000" || subCode != "" {
		return nil, &APIError{Method: name, Code: st.Code, Msg: st.Msg, SubCode: subCode, SubMsg: subMsg, Verified: true}
	}
	return plain, nil
}

// openDataError maps a refusal of internal/opendata to the SDK's errors.
func openDataError(name string, err error) error {
	var oe *opendata.Error
	if !errors.As(err, &oe) {
		return fmt.Errorf("alipay: %s: %w", name, err)
	}
	switch oe.Reason {
	case opendata.ReasonDuplicateKey, opendata.ReasonMissingSign, opendata.ReasonSignTypeMismatch,
		opendata.ReasonMalformedSign, opendata.ReasonBadSignature:
		return &VerifyError{Method: name, Step: VerifyStep(oe.Reason)} // spelled as the Step constants
	case opendata.ReasonDecryptFailed:
		return &VerifyError{Method: name, Step: StepDecrypt}
	default:
		return &EnvelopeError{Method: name, Reason: oe.Reason}
	}
}
