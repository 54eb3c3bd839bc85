// Package opendata verifies and decrypts the envelope a mini-program front
// end receives from an open-data JSAPI such as my.getPhoneNumber and posts to
// its backend:
//
//	{"response":"<Base64 AES ciphertext>","sign":"<Base64 RSA2 signature>",
//	 "sign_type":"RSA2","encrypt_type":"AES","charset":"UTF-8"}
//
// Alipay signs the ciphertext wrapped in double quotes (the JSON string, as
// for any encrypted gateway response) with SHA256withRSA, and encrypts the
// result JSON with the mini-program's AES key: AES-CBC, zero IV, PKCS#7.
//
// The checks are stricter than Alipay's own samples: the envelope is parsed
// once, refusing duplicate members (a last-wins parser would read an
// injected second "response"); a missing or empty sign, a sign_type other
// than RSA2, an encrypt_type other than AES, a charset other than UTF-8 and
// an unencrypted response are refused; nothing is decrypted before the
// signature verified, which the types enforce: only a [Verified] can be
// decrypted. Nothing is repaired (a '+' that became a space in transport is
// refused, not restored).
//
// Errors carry a reason only: never the ciphertext, the plaintext or a key.
package opendata

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/isvkit/alipay/internal/aescbc"
)

// MaxEnvelope is the largest envelope accepted, in bytes. A phone-number
// envelope is about 500 bytes; the bound keeps a hostile client from making
// the backend parse megabytes.
const MaxEnvelope = 64 << 10

// Reasons of an [Error], in the order the checks run. They are the reject
// reasons of the known-answer vectors (testdata/kat/phone_decrypt.json).
const (
	ReasonInvalidEnvelope        = "invalid_envelope"         // not one JSON object, or too large
	ReasonDuplicateKey           = "duplicate_key"            // a member given twice
	ReasonMissingResponse        = "missing_response"         // no, null or empty "response"
	ReasonNotEncrypted           = "not_encrypted"            // "response" is an object
	ReasonMissingSign            = "missing_sign"             // no, null or empty "sign"
	ReasonSignTypeMismatch       = "sign_type_mismatch"       // sign_type present and not RSA2
	ReasonUnsupportedEncryptType = "unsupported_encrypt_type" // encrypt_type present and not AES
	ReasonUnsupportedCharset     = "unsupported_charset"      // charset present and not UTF-8
	ReasonMalformedSign          = "malformed_sign"           // sign not strict standard Base64
	ReasonBadSignature           = "bad_signature"            // SHA256withRSA over the quoted response fails
	ReasonDecryptFailed          = "decrypt_failed"           // no key gives a JSON object
)

// Error is an envelope that was refused; Reason is one of the Reason
// constants.
type Error struct{ Reason string }

// Error returns "opendata: <reason>".
func (e *Error) Error() string { return "opendata: " + e.Reason }

// Envelope is a parsed envelope that passed every check but the signature.
type Envelope struct {
	response string // the JSON-decoded "response": Base64 ciphertext
	sign     []byte // the decoded signature
}

// Verified is an envelope whose signature verified: the only value that can
// be decrypted.
type Verified struct{ response string }

// Parse reads an envelope and runs every check that needs no key.
func Parse(envelope []byte) (*Envelope, error) {
	if len(envelope) > MaxEnvelope {
		return nil, &Error{ReasonInvalidEnvelope}
	}
	m, err := members(envelope)
	if err != nil {
		return nil, err
	}
	resp := m["response"]
	switch {
	case len(resp) == 0 || string(resp) == "null" || string(resp) == `""`:
		return nil, &Error{ReasonMissingResponse}
	case resp[0] == '{':
		return nil, &Error{ReasonNotEncrypted}
	case resp[0] != '"':
		return nil, &Error{ReasonInvalidEnvelope}
	}
	rawSign := m["sign"]
	sign, isString := stringMember(rawSign)
	switch {
	case len(rawSign) == 0 || string(rawSign) == "null" || (isString && sign == ""):
		return nil, &Error{ReasonMissingSign}
	case !isString:
		return nil, &Error{ReasonMalformedSign} // a number, an object…
	}
	for _, c := range [...]struct {
		name, reason string
		ok           func(string) bool
	}{
		{"sign_type", ReasonSignTypeMismatch, func(s string) bool { return s == "RSA2" }},
		{"encrypt_type", ReasonUnsupportedEncryptType, func(s string) bool { return s == "AES" }},
		{"charset", ReasonUnsupportedCharset, func(s string) bool { return strings.EqualFold(s, "UTF-8") }},
	} {
		raw := m[c.name]
		if len(raw) == 0 || string(raw) == "null" {
			continue // absent: the default (RSA2, AES, UTF-8)
		}
		if v, ok := stringMember(raw); !ok || !c.ok(v) {
			return nil, &Error{c.reason}
		}
	}
	sig, ok := decodeSign(sign)
	if !ok {
		return nil, &Error{ReasonMalformedSign}
	}
	response, _ := stringMember(resp)
	return &Envelope{response: response, sign: sig}, nil
}

// Verify checks the signature with key over `"` + response + `"`, the
// JSON-decoded response wrapped in double quotes (not over the envelope's
// raw bytes: a JSON writer may have escaped '/' as `\/`).
func (e *Envelope) Verify(key *rsa.PublicKey) (*Verified, error) {
	if key == nil {
		return nil, &Error{ReasonBadSignature}
	}
	content := make([]byte, 0, len(e.response)+2)
	content = append(append(append(content, '"'), e.response...), '"')
	digest := sha256.Sum256(content)
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], e.sign) != nil {
		return nil, &Error{ReasonBadSignature}
	}
	return &Verified{response: e.response}, nil
}

// Decrypt decrypts the verified ciphertext with each key in turn (current
// first) and returns the first plaintext that is a UTF-8 JSON object, with
// the index of the key that gave it. A wrong key fails its PKCS#7 check
// (every pad byte is checked) or gives no JSON object; it never yields "".
// Trying several keys leaks nothing: the signature authenticated the
// ciphertext already.
func (v *Verified) Decrypt(keys [][]byte) (json.RawMessage, int, error) {
	for i, key := range keys {
		plain, err := aescbc.DecryptBase64(key, v.response)
		if err != nil || !IsObject(plain) {
			continue
		}
		return plain, i, nil
	}
	return nil, -1, &Error{ReasonDecryptFailed}
}

// IsObject reports whether b is valid UTF-8 holding exactly one JSON object.
func IsObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && utf8.Valid(b) && json.Valid(b)
}

// members reads the top level of the envelope with a token walk and returns
// each member's raw value by decoded key. A key given twice (after JSON
// decoding, so "respons\u0065" repeats "response") is refused.
func members(envelope []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(envelope) {
		return nil, &Error{ReasonInvalidEnvelope}
	}
	dec := json.NewDecoder(bytes.NewReader(envelope))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, &Error{ReasonInvalidEnvelope}
	}
	m := make(map[string]json.RawMessage, 5)
	var dup bool
	for dec.More() {
		tok, err := dec.Token()
		key, isKey := tok.(string)
		if err != nil || !isKey {
			return nil, &Error{ReasonInvalidEnvelope}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &Error{ReasonInvalidEnvelope}
		}
		if _, seen := m[key]; seen {
			dup = true // reported once the whole envelope is known to be JSON
		}
		m[key] = raw
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, &Error{ReasonInvalidEnvelope}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{ReasonInvalidEnvelope} // trailing data
	}
	if dup {
		return nil, &Error{ReasonDuplicateKey}
	}
	return m, nil
}

// stringMember decodes a raw JSON string value; ok is false for any other
// type (null included).
func stringMember(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// decodeSign decodes a signature in strict standard Base64 with padding. It
// refuses anything else, including the spaces left by a '+' that a form
// decoding turned into ' ', and line breaks (which Go's decoder would skip).
func decodeSign(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, false
	}
	return b, true
}

// IsError reports whether err is an *Error with the given reason.
func IsError(err error, reason string) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == reason
}
