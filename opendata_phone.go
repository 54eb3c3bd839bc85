package alipay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// PhoneNumber is the verified, decrypted result of my.getPhoneNumber.
//
// It prints masked ("138****0000") with every fmt verb, %#v included, in
// slog records (text and JSON, as a value or inside a struct), through
// encoding/json and through every encoder that uses encoding.TextMarshaler,
// so logging or marshalling it reveals no number. The field Mobile is the
// one explicit way to the number itself: read it where the number is
// needed (to store it, or to answer your front end), and put that string,
// not the PhoneNumber, into what you persist or send.
//
// fmt cannot call the methods of a value in an unexported field of your own
// struct, and prints it raw: keep a PhoneNumber in an exported field, or log
// it directly.
type PhoneNumber struct {
	// Mobile is the number as Alipay gives it: 11 digits for a mainland
	// China number, "<country code>-<number>" otherwise (e.g.
	// "1-2025550143"), without "+86". Empty when the user has no phone
	// number bound to the account: see [PhoneNumber.HasNumber].
	Mobile string `json:"mobile"`
}

// HasNumber reports whether Alipay returned a number. A success without
// one means the user has no phone number bound: ask for it another way,
// never store "".
func (p PhoneNumber) HasNumber() bool { return p.Mobile != "" }

// Masked returns the number with all but its first 3 and last 4
// characters replaced by '*' ("13800000000" → "138****0000"); a number of
// fewer than 8 characters is masked whole.
func (p PhoneNumber) Masked() string {
	n := utf8.RuneCountInString(p.Mobile)
	if n < 8 {
		return strings.Repeat("*", n)
	}
	r := []rune(p.Mobile)
	return string(r[:3]) + strings.Repeat("*", n-7) + string(r[n-4:])
}

// String returns [PhoneNumber.Masked].
func (p PhoneNumber) String() string { return p.Masked() }

// GoString returns [PhoneNumber.Masked].
func (p PhoneNumber) GoString() string { return p.Masked() }

// Format writes [PhoneNumber.Masked] whatever the verb and flags.
func (p PhoneNumber) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, p.Masked()) }

// LogValue logs [PhoneNumber.Masked].
func (p PhoneNumber) LogValue() slog.Value { return slog.StringValue(p.Masked()) }

// MarshalJSON writes [PhoneNumber.Masked] as a JSON string: json.Marshal
// and slog's JSONHandler of a struct holding a PhoneNumber show no number.
// Marshal Mobile yourself where the number must be sent.
func (p PhoneNumber) MarshalJSON() ([]byte, error) { return json.Marshal(p.Masked()) }

// MarshalText writes [PhoneNumber.Masked], for encoders that use text (map
// keys, slog's TextHandler, many log libraries).
func (p PhoneNumber) MarshalText() ([]byte, error) { return []byte(p.Masked()), nil }

// PhoneNumber verifies and decrypts the envelope of my.getPhoneNumber that
// a user of the merchant mini-program merchantAppID shared, exactly as
// [Client.DecryptOpenData] does, and returns the number. A success without
// a number is a PhoneNumber whose HasNumber is false. A failure result is
// an [*APIError] (Verified true) whose SubCode says what to do:
// "isv.invalid-auth-relations" (40003: the user did not authorise through
// the button, or the authorisation lapsed: ask again),
// "isv.insufficient-isv-permissions" (40006: the field is not approved:
// check [Client.AppAPIFieldQuery]), "isv.missing-encrypt-key" or
// "isv.missing-default-signature-type" (40001: the app lacks an AES key or
// an Alipay public key, or the front end did not pass isvAppId),
// "isv.invalid-encrypt" (40002: reset the AES key), "aop.unknow-error"
// (20000: the user must tap again; a result cannot be fetched server-side).
// Errors never hold the number.
func (c *Client) PhoneNumber(ctx context.Context, merchantAppID string, envelope []byte) (*PhoneNumber, error) {
	var p PhoneNumber
	if _, err := c.openData(ctx, "PhoneNumber", merchantAppID, envelope, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
