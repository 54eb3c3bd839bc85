package alipay

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
)

// redacted is what every printed form of a [Secret] shows.
const redacted = "[redacted]"

// Secret holds a credential (an app_auth_token, a refresh token, an AES
// key) so that it cannot reach a log, an error string or a %v by accident:
// fmt (every verb, %+v and %#v included, also as a field of a struct or an
// element of a slice), log/slog (text and JSON, as a value or inside a
// struct) and encoding/json all show "[redacted]". Only [Secret.Reveal]
// returns the value.
//
// A Secret is a struct holding a pointer to the string, so that even
// printers that cannot call its methods (fmt on an unexported field, with
// any verb) show an address, never the text: fmt follows a pointer to a
// struct, slice or map, but not a pointer to a string. The zero Secret is empty. Secrets are
// immutable and safe to copy and share.
//
// Because json.Marshal writes "[redacted]", a struct holding Secrets cannot
// be persisted with encoding/json: a store writes Reveal() explicitly (and
// should seal it, as redisstore does).
type Secret struct {
	v *string
}

// NewSecret wraps s. An empty s gives the zero Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Reveal returns the value. Call it only where the value is sent or
// stored, never to print it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether s is empty.
func (s Secret) IsZero() bool { return s.v == nil || *s.v == "" }

// Equal reports whether s and o hold the same value, in time independent
// of where they differ.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// Fingerprint returns the first 8 hex digits of the SHA-256 of the value
// ("" when empty): enough to tell two tokens apart in a log, useless to an
// attacker.
func (s Secret) Fingerprint() string {
	if s.IsZero() {
		return ""
	}
	sum := sha256.Sum256([]byte(*s.v))
	return hex.EncodeToString(sum[:4])
}

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]", so %#v reveals nothing either.
func (Secret) GoString() string { return redacted }

// Format writes "[redacted]" for every verb and flag.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue logs "[redacted]".
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON writes "[redacted]" (see the type's doc about persistence).
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText writes "[redacted]", for encoders that use text (map keys,
// some log handlers).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// UnmarshalJSON reads a JSON string (null and "" give the zero Secret), so
// that a response decodes straight into Secret fields.
func (s *Secret) UnmarshalJSON(data []byte) error {
	var str *string
	if err := json.Unmarshal(data, &str); err != nil {
		return fmt.Errorf("alipay: a secret must be a JSON string (got %d bytes of another type)", len(data))
	}
	if str == nil {
		*s = Secret{}
		return nil
	}
	*s = NewSecret(*str)
	return nil
}
