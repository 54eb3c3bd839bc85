package alipay

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/isvkit/alipay/internal/aescbc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Keys of the phone vectors: the merchant's key and another one.
const (
	phoneAESKey = "JoRCASgqO5kV1lfdb5FpzQ=="
	otherAESKey = "xExzetNv0QPshaZvrFONjA=="
)

// testEnvelope encrypts plaintext with the Base64 AES key and signs the
// quoted ciphertext with the test Alipay key, as Alipay does.
func testEnvelope(t testing.TB, aesKey, plaintext string) []byte {
	t.Helper()
	ct := aesBase64(t, aesKey, plaintext)
	sign := newGatewaySigner(t).sign(`"` + ct + `"`)
	return []byte(`{"response":"` + ct + `","sign":"` + sign + `","sign_type":"RSA2","encrypt_type":"AES","charset":"UTF-8"}`)
}

// aesBase64 encrypts plaintext with the Base64 AES key.
func aesBase64(t testing.TB, aesKey, plaintext string) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(aesKey)
	require.NoError(t, err)
	ct, err := aescbc.EncryptBase64(key, []byte(plaintext))
	require.NoError(t, err)
	return ct
}

// sliceKeys is an AESKeySource with fixed keys for katMerchantApp.
type sliceKeys []string

func (s sliceKeys) AESKeys(_ context.Context, id string) ([]string, error) {
	if id == katMerchantApp {
		return s, nil
	}
	return nil, nil
}

// TestOpenDataKeyRotation: the current key first, then the previous one,
// after a verified signature; an envelope made for another merchant app
// (another key) fails at "decrypt".
func TestOpenDataKeyRotation(t *testing.T) {
	t.Parallel()
	env := testEnvelope(t, phoneAESKey, `{"code":"10000","msg":"Success","mobile":"13800000000"}`)
	ctx := context.Background()
	for name, keys := range map[string]sliceKeys{
		"current": {phoneAESKey, otherAESKey}, "previous": {otherAESKey, phoneAESKey},
	} {
		p, err := openDataClient(t, "keys/alipay_test_public.pem", keys).PhoneNumber(ctx, katMerchantApp, env)
		require.NoError(t, err, name)
		assert.Equal(t, "13800000000", p.Mobile)
	}
	_, err := openDataClient(t, "keys/alipay_test_public.pem", sliceKeys{otherAESKey}).PhoneNumber(ctx, katMerchantApp, env)
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, StepDecrypt, ve.Step)
	assert.Equal(t, "alipay: PhoneNumber: verification failed at decrypt", err.Error())
}

// TestOpenDataCertificateMode: in certificate mode the configured Alipay
// certificate's key verifies the envelope.
func TestOpenDataCertificateMode(t *testing.T) {
	t.Parallel()
	src, err := StaticAESKeys(map[string]string{katMerchantApp: phoneAESKey})
	require.NoError(t, err)
	c, err := NewClient(testAppID, WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAppCert(readTestdata(t, "certs/app_cert_public_key.crt")),
		WithAlipayCert(readTestdata(t, "certs/alipay_cert_public_key_rsa2.crt")),
		WithAlipayRootCert(readTestdata(t, "certs/test_root_bundle.crt")), WithAESKeySource(src))
	require.NoError(t, err)
	kat := loadKAT[phoneKAT](t, "phone_decrypt")
	p, err := c.PhoneNumber(context.Background(), katMerchantApp, []byte(kat[0].Envelope))
	require.NoError(t, err)
	assert.Equal(t, "13800000000", p.Mobile)
	env := testEnvelope(t, phoneAESKey, `{"code":"10000","msg":"Success","mobile":"1"}`)
	env = bytes.Replace(env, []byte(`"sign":"`), []byte(`"sign":"A`), 1) // no longer Base64
	_, err = c.PhoneNumber(context.Background(), katMerchantApp, env)
	assert.ErrorIs(t, err, ErrSignature)
}

// TestOpenDataRefusals: what is refused before or around the envelope.
func TestOpenDataRefusals(t *testing.T) {
	t.Parallel()
	env := testEnvelope(t, phoneAESKey, `{"code":"10000","msg":"Success","mobile":"13800000000"}`)
	ctx := context.Background()
	bare, err := NewClient(testAppID, WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")))
	require.NoError(t, err)
	_, err = bare.DecryptOpenData(ctx, katMerchantApp, env)
	assert.ErrorIs(t, err, ErrInvalidRequest)
	assert.ErrorContains(t, err, "WithAESKeySource")

	c := openDataClient(t, "keys/alipay_test_public.pem", sliceKeys{phoneAESKey})
	_, err = c.DecryptOpenData(ctx, " ", env)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "merchant_app_id", ve.Field)
	_, err = c.DecryptOpenData(ctx, "2021009999999999", env)
	assert.ErrorIs(t, err, ErrInvalidRequest)
	assert.ErrorContains(t, err, "no AES key for merchant app 2021009999999999")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	src := &countingKeys{keys: []string{phoneAESKey}}
	_, err = openDataClient(t, "keys/alipay_test_public.pem", src).PhoneNumber(cancelled, katMerchantApp, env)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, src.calls.Load())

	boom := errors.New("store down")
	_, err = openDataClient(t, "keys/alipay_test_public.pem", failingKeys{boom}).PhoneNumber(ctx, katMerchantApp, env)
	assert.ErrorIs(t, err, boom)

	_, err = openDataClient(t, "keys/alipay_test_public.pem", sliceKeys{"c2hvcnQ="}).PhoneNumber(ctx, katMerchantApp, env)
	assert.ErrorContains(t, err, "AES key 1 of merchant app "+katMerchantApp)
	assert.NotContains(t, err.Error(), "c2hvcnQ=")

	for plain, want := range map[string]string{
		`{"code":10000,"mobile":"13800000000"}`:          "invalid_plaintext",
		`{"code":"10000","mobile":13800000000}`:          "invalid_plaintext",
		`{"code":"10000","msg":"Success","subCode":"x"}`: "x",
		`{"msg":"Success","mobile":"13800000000"}`:       "",
	} {
		_, err := c.PhoneNumber(ctx, katMerchantApp, testEnvelope(t, phoneAESKey, plain))
		var ee *EnvelopeError
		var ae *APIError
		switch {
		case errors.As(err, &ee):
			assert.Equal(t, want, ee.Reason, plain)
		case assert.ErrorAs(t, err, &ae, plain):
			assert.Equal(t, want, ae.SubCode, plain)
			assert.True(t, ae.Verified)
		}
		assert.NotContains(t, fmt.Sprint(err), "13800000000")
	}
	_, err = c.PhoneNumber(ctx, katMerchantApp, append(env[:len(env)-1:len(env)-1], `,"response":"x"}`...))
	assert.ErrorIs(t, err, ErrSignature)
}

type failingKeys struct{ err error }

func (f failingKeys) AESKeys(context.Context, string) ([]string, error) { return nil, f.err }

// TestStaticAESKeys: every key is checked up front, errors name the app
// and never the key, the map is copied, and the source never prints keys.
func TestStaticAESKeys(t *testing.T) {
	t.Parallel()
	_, err := StaticAESKeys(map[string]string{"": phoneAESKey})
	assert.ErrorContains(t, err, "empty merchant app id")
	for _, bad := range []string{"", "not base64!", "c2hvcnQ=", phoneAESKey + "AAAA"} {
		_, err := StaticAESKeys(map[string]string{"2021A": phoneAESKey, "2021B": bad})
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "merchant app 2021B")
		if bad != "" {
			assert.NotContains(t, err.Error(), bad)
		}
	}
	m := map[string]string{katMerchantApp: " " + phoneAESKey + "\n"}
	src, err := StaticAESKeys(m)
	require.NoError(t, err)
	m[katMerchantApp] = otherAESKey
	keys, err := src.AESKeys(context.Background(), katMerchantApp)
	require.NoError(t, err)
	assert.Equal(t, []string{phoneAESKey}, keys)
	keys, err = src.AESKeys(context.Background(), "unknown")
	assert.NoError(t, err)
	assert.Empty(t, keys)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("src", "src", src)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s %x %d %q", src, src, src, src, src, src, src), logs.String()} {
		assert.NotContains(t, s, phoneAESKey)
		assert.NotContains(t, s, phoneAESKey[:8])
	}
	assert.Equal(t, "alipay.StaticAESKeys{1 merchant apps}", fmt.Sprint(src))
	_, err = NewClient(testAppID, WithAESKeySource(nil))
	assert.ErrorContains(t, err, "WithAESKeySource: nil source")
}

// TestPhoneNumberPrintsMasked: every way of printing a PhoneNumber masks
// it.
func TestPhoneNumberPrintsMasked(t *testing.T) {
	t.Parallel()
	for mobile, masked := range map[string]string{
		"13800000000": "138****0000", "1-2025550143": "1-2*****0143", "1234567": "*******", "": "",
		"12345678": "123*5678", "８８８８８８８８": "８８８*８８８８",
	} {
		p := &PhoneNumber{Mobile: mobile}
		assert.Equal(t, masked, p.Masked())
		assert.Equal(t, mobile != "", p.HasNumber())
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("phone", "p", p, "v", *p)
		printed := fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%d|%v|%#v", p, p, p, p, p, p, p, *p, *p)
		assert.Equal(t, strings.Repeat(masked+"|", 8)+masked, printed)
		if mobile != "" {
			assert.NotContains(t, logs.String(), mobile)
			assert.Contains(t, logs.String(), masked)
		}
	}
}

// TestOpenDataForgedMerchantAppID: the merchant app id comes from the
// front end (a path segment of the phone endpoint): one that is no app id
// (a line break forging a log line, megabytes, a store key of another
// kind) is refused before the key source is asked, without being echoed.
func TestOpenDataForgedMerchantAppID(t *testing.T) {
	t.Parallel()
	env := testEnvelope(t, phoneAESKey, `{"code":"10000","msg":"Success","mobile":"13800000000"}`)
	src := &countingKeys{keys: []string{phoneAESKey}}
	c := openDataClient(t, "keys/alipay_test_public.pem", src)
	for _, id := range []string{
		"2021\nlevel=ERROR msg=forged", strings.Repeat("2021", 1<<18), "../code:abc", "2021 0001", "２０２１",
	} {
		_, err := c.PhoneNumber(context.Background(), id, env)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, "%.20q", id)
		assert.Equal(t, "merchant_app_id", ve.Field)
		assert.NotContains(t, err.Error(), "forged")
		assert.NotContains(t, err.Error(), "2021\n")
		assert.Less(t, len(err.Error()), 200)
	}
	assert.Zero(t, src.calls.Load(), "the source never saw a forged id")
}
