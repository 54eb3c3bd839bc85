package alipay

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Values NewClient and the options refuse are named in errors, and errors
// reach logs and stderr: a swapped environment variable (the private key in
// ALIPAY_APP_ID) must not print the key. An error therefore describes the
// problem and quotes at most a short prefix of the value, and nothing of a
// value that looks like key material.

const (
	maxQuoted    = 12 // bytes of a rejected value an error may quote
	maxBase64Run = 16 // a longer run of Base64 characters may be a key, a token or a signature
	maxAppIDLen  = 32 // Alipay app ids are 16 digits
)

// describeRejected names the rejected value s for an error message: quoted
// whole when short, else its first bytes quoted with its length, and
// nothing but its length when it looks like key material.
func describeRejected(s string) string {
	if looksLikeKeyMaterial(s) {
		return fmt.Sprintf("(%d bytes that look like key material; not quoted)", len(s))
	}
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cut]), len(s))
}

// looksLikeKeyMaterial reports whether s holds PEM armour or a run of more
// than maxBase64Run Base64 characters (PEM bodies, bare Base64 keys, AES
// keys, tokens, signatures and hex all do).
func looksLikeKeyMaterial(s string) bool {
	if strings.Contains(s, "-----") || strings.Contains(s, "PRIVATE KEY") {
		return true
	}
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("+/=-_", c) >= 0 {
			if run++; run > maxBase64Run {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// checkAppID returns NewClient's error for an appID that cannot be an app
// id, or nil. An app id is printable ASCII without '&' or '=' (it is
// signed and sent as a form value), at most maxAppIDLen bytes, and does not
// look like key material: it is logged and shown by Client.String.
func checkAppID(appID string) error {
	var problem string
	switch {
	case appID == "":
		problem = "empty"
	case looksLikeKeyMaterial(appID):
		problem = "it looks like a key, a token or a signature, not an app id (swapped settings?)"
	case len(appID) > maxAppIDLen:
		problem = fmt.Sprintf("longer than %d bytes", maxAppIDLen)
	case strings.ContainsAny(appID, "&="):
		problem = "it contains '&' or '='"
	default:
		for i := 0; i < len(appID); i++ {
			if c := appID[i]; c <= ' ' || c >= 0x7f {
				problem = "it contains a space, a control character or a non-ASCII character"
				break
			}
		}
	}
	if problem == "" {
		return nil
	}
	return fmt.Errorf("alipay: NewClient: invalid app id %s: %s; give the APPID of the open platform console (16 digits)",
		describeRejected(appID), problem)
}

// describeURL names a rejected gateway URL: like describeRejected, but
// nothing of a URL with an '@', whose prefix may hold a password.
func describeURL(u string) string {
	if strings.Contains(u, "@") {
		return fmt.Sprintf("(%d bytes with an '@'; not quoted: it may hold a password)", len(u))
	}
	return describeRejected(u)
}
