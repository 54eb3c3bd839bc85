package alipay

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// minRSABits is the smallest RSA modulus accepted for RSA2 keys.
const minRSABits = 2048

// cst is the fixed UTC+8 zone of Alipay's timestamp parameter. It is a
// FixedZone on purpose: time.LoadLocation needs tzdata, which minimal
// containers lack (docs/wire.md#timestamp).
var cst = time.FixedZone("CST", 8*60*60)

// timestampLayout is the layout of the timestamp request parameter.
const timestampLayout = "2006-01-02 15:04:05"

// formatTimestamp renders t as Alipay's timestamp parameter in UTC+8.
func formatTimestamp(t time.Time) string { return t.In(cst).Format(timestampLayout) }

// param is one text parameter of a request, in the order it was added.
type param struct{ key, value string }

// appendSignContent appends to dst the string to sign
// (docs/wire.md#the-string-to-sign):
// every parameter with a non-empty key and value, sorted by key in byte
// order, joined as k=v with '&'. Values are raw: neither escaped nor
// trimmed. params is sorted in place.
func appendSignContent(dst []byte, params []param) []byte {
	slices.SortFunc(params, func(a, b param) int { return strings.Compare(a.key, b.key) })
	start := len(dst)
	for _, p := range params {
		if p.key == "" || p.value == "" {
			continue
		}
		if len(dst) > start {
			dst = append(dst, '&')
		}
		dst = append(dst, p.key...)
		dst = append(dst, '=')
		dst = append(dst, p.value...)
	}
	return dst
}

// encodeForm renders params as an application/x-www-form-urlencoded body.
func encodeForm(params []param) string {
	n := 0
	for _, p := range params {
		n += queryEscapedLen(p.key) + 2 + queryEscapedLen(p.value)
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		writeQueryEscaped(&b, p.key)
		b.WriteByte('=')
		writeQueryEscaped(&b, p.value)
	}
	return b.String()
}

// queryUnreserved reports whether url.QueryEscape leaves c as it is.
func queryUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// queryEscapedLen returns len(url.QueryEscape(s)).
func queryEscapedLen[S string | []byte](s S) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !queryUnreserved(c) && c != ' ' {
			n += 2
		}
	}
	return n
}

// writeQueryEscaped writes url.QueryEscape(s) to b without building it
// first: unreserved bytes as they are, a space as '+', any other byte as %XX
// with upper-case hex digits.
func writeQueryEscaped[S string | []byte](b *strings.Builder, s S) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; queryUnreserved(c) {
			b.WriteByte(c)
		} else {
			writeQueryByte(b, c)
		}
	}
}

// writeQueryByte writes a byte that url.QueryEscape escapes.
func writeQueryByte(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	if c == ' ' {
		b.WriteByte('+')
		return
	}
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
}

// signRSA2Raw signs content with SHA256withRSA (PKCS#1 v1.5) and returns the
// signature's bytes.
func signRSA2Raw(key *rsa.PrivateKey, content []byte) ([]byte, error) {
	digest := sha256.Sum256(content)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("alipay: signing failed: %w", err)
	}
	return sig, nil
}

// verifyRSA2 reports whether sig (raw bytes) is a valid SHA256withRSA
// signature of content.
func verifyRSA2(key *rsa.PublicKey, content, sig []byte) bool {
	digest := sha256.Sum256(content)
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig) == nil
}

// decodeSign decodes a standard Base64 signature with padding; it refuses
// anything else (spaces from a lost '+', URL-safe alphabet, no padding).
func decodeSign(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, false
	}
	return b, true
}

// keyError is the error of a key that cannot be used. Its text names the
// source (an option or a file) and the problem, never key material.
func keyError(source, problem string) error {
	return fmt.Errorf("alipay: %s: %s", source, problem)
}

// parsePrivateKey reads an RSA private key given as PEM ("PRIVATE KEY" or
// "RSA PRIVATE KEY") or as bare Base64 of PKCS#8 or PKCS#1 DER (the Java
// SDK's format). It refuses encrypted, non-RSA and short keys.
func parsePrivateKey(source string, data []byte) (*rsa.PrivateKey, error) {
	der, kind, err := keyDER(source, data)
	if err != nil {
		return nil, err
	}
	var key any
	switch kind {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(der)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(der)
	case "":
		if key, err = x509.ParsePKCS8PrivateKey(der); err != nil {
			key, err = x509.ParsePKCS1PrivateKey(der)
		}
	default:
		return nil, keyError(source, fmt.Sprintf("PEM block %q is not a private key", kind))
	}
	if err != nil {
		return nil, keyError(source, "not a valid PKCS#8 or PKCS#1 private key")
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, keyError(source, fmt.Sprintf("%s key, want RSA", keyAlgorithm(key)))
	}
	if bits := rk.N.BitLen(); bits < minRSABits {
		return nil, keyError(source, fmt.Sprintf("RSA key has %d bits, need ≥ %d", bits, minRSABits))
	}
	if rk.Validate() != nil {
		return nil, keyError(source, "RSA private key is inconsistent")
	}
	return rk, nil
}

// parsePublicKey reads an RSA public key given as PEM ("PUBLIC KEY" or
// "RSA PUBLIC KEY") or as bare Base64 of SubjectPublicKeyInfo or PKCS#1 DER.
func parsePublicKey(source string, data []byte) (*rsa.PublicKey, error) {
	der, kind, err := keyDER(source, data)
	if err != nil {
		return nil, err
	}
	var key any
	switch kind {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(der)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(der)
	case "":
		if key, err = x509.ParsePKIXPublicKey(der); err != nil {
			key, err = x509.ParsePKCS1PublicKey(der)
		}
	case "CERTIFICATE":
		return nil, keyError(source, "got a certificate where a public key is expected (certificate mode takes the WithAlipayCert… options)")
	default:
		return nil, keyError(source, fmt.Sprintf("PEM block %q is not a public key", kind))
	}
	if err != nil {
		return nil, keyError(source, "not a valid SubjectPublicKeyInfo or PKCS#1 public key")
	}
	return checkPublicKey(source, key)
}

// checkPublicKey requires an RSA public key of at least minRSABits.
func checkPublicKey(source string, key any) (*rsa.PublicKey, error) {
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, keyError(source, fmt.Sprintf("%s key, want RSA", keyAlgorithm(key)))
	}
	if bits := rk.N.BitLen(); bits < minRSABits {
		return nil, keyError(source, fmt.Sprintf("RSA key has %d bits, need ≥ %d", bits, minRSABits))
	}
	return rk, nil
}

// keyDER returns the DER bytes of a PEM or bare-Base64 key and the PEM block
// type ("" for bare Base64).
func keyDER(source string, data []byte) ([]byte, string, error) {
	text := strings.TrimSpace(string(data))
	if text == "" {
		return nil, "", keyError(source, "key is empty")
	}
	if strings.HasPrefix(text, "-----BEGIN") {
		block, rest := pem.Decode([]byte(text))
		if block == nil {
			return nil, "", keyError(source, "PEM armour present but the block does not decode (corrupted Base64?)")
		}
		if strings.TrimSpace(string(rest)) != "" && !strings.Contains(block.Type, "CERTIFICATE") {
			return nil, "", keyError(source, "unexpected data after the PEM block")
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, "", keyError(source, "encrypted keys are not supported: decrypt the key first")
		}
		return block.Bytes, block.Type, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		return nil, "", keyError(source, "neither PEM nor Base64")
	}
	return der, "", nil
}

// keyAlgorithm names the algorithm of a parsed key for error messages.
func keyAlgorithm(key any) string {
	name := fmt.Sprintf("%T", key)
	switch {
	case strings.Contains(name, "ecdsa"):
		return "ECDSA"
	case strings.Contains(name, "ed25519"):
		return "Ed25519"
	case strings.Contains(name, "ecdh"):
		return "ECDH"
	default:
		return "unsupported"
	}
}

// secret holds a value that must never reach a log, an error string or a
// %v: an app_auth_token or an AES key. Only the signing code converts it
// back to a string.
type secret string

// String implements fmt.Stringer without revealing the value.
func (secret) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer without revealing the value.
func (secret) GoString() string { return "[redacted]" }

// LogValue implements slog.LogValuer without revealing the value.
func (secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalText implements encoding.TextMarshaler without revealing the value.
func (secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// fingerprint returns the first 8 hex digits of the SHA-256 of a secret:
// enough to correlate log records, useless to an attacker.
func (s secret) fingerprint() string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}
