package alipay

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// longBase64 matches a run that could be key material.
var longBase64 = regexp.MustCompile(`[A-Za-z0-9+/]{32,}`)

// assertNoKeyMaterial checks that text holds nothing of a key file: no
// 16-byte window of any PEM or Base64 body line, and no long Base64 run.
func assertNoKeyMaterial(t *testing.T, text string, file []byte) {
	t.Helper()
	assert.False(t, longBase64.MatchString(text), "long Base64 run in %q", text)
	for _, line := range strings.Split(string(file), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "-----") || strings.Contains(line, ":") {
			continue // armour and PEM headers are not secret
		}
		for i := 0; i+16 <= len(line); i++ {
			if strings.Contains(text, line[i:i+16]) {
				t.Errorf("error text %q contains key material %q", text, line[i:i+16])
				return
			}
		}
	}
}

// signOf returns the sign the client computes for one fixed request.
func signOf(t *testing.T, opts ...Option) string {
	t.Helper()
	c, err := NewClient(testAppID, append([]Option{WithClock(fixedClock)}, opts...)...)
	require.NoError(t, err)
	s, err := c.WithAppAuthToken(testToken).sign(methodAppAPIQuery, nil, nil)
	require.NoError(t, err)
	u, err := url.Parse(s.url)
	require.NoError(t, err)
	return u.Query().Get("sign")
}

// TestAppKeyEncodingsSignAlike: the four encodings of the app key, from
// bytes or a file, give the same signature; the three public encodings
// verify it.
func TestAppKeyEncodingsSignAlike(t *testing.T) {
	t.Parallel()
	pub := WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem")
	want := signOf(t, WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"), pub)
	for _, f := range []string{"app_private_pkcs8.pem", "app_private_pkcs1.pem", "app_private_pkcs8.b64", "app_private_pkcs1.b64"} {
		assert.Equal(t, want, signOf(t, WithPrivateKeyFile("testdata/keys/"+f), pub), f)
		assert.Equal(t, want, signOf(t, WithPrivateKey(readTestdata(t, "keys/"+f)), pub), f)
		// Base64 split over lines, as consoles and env files do.
		if strings.HasSuffix(f, ".b64") {
			b := strings.TrimSpace(string(readTestdata(t, "keys/"+f)))
			wrapped := b[:100] + "\r\n" + b[100:500] + "\n  " + b[500:]
			assert.Equal(t, want, signOf(t, WithPrivateKey([]byte(wrapped)), pub), f+" wrapped")
		}
	}
	c, err := NewClient(testAppID, WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"), pub, WithClock(fixedClock))
	require.NoError(t, err)
	s, err := c.WithAppAuthToken(testToken).sign(methodAppAPIQuery, nil, nil)
	require.NoError(t, err)
	content := fmt.Sprintf("app_auth_token=%s&app_id=%s&charset=utf-8&format=JSON&method=%s&sign_type=RSA2&timestamp=2024-05-20 13:14:15&version=1.0",
		testToken, testAppID, methodAppAPIQuery)
	sig, ok := decodeSign(want)
	require.True(t, ok)
	for _, f := range []string{"app_public.pem", "app_public.b64", "app_public_pkcs1.pem"} {
		k, err := parsePublicKey("test", readTestdata(t, "keys/"+f))
		require.NoError(t, err, f)
		assert.True(t, verifyRSA2(k, []byte(content), sig), f)
		assert.False(t, verifyRSA2(k, []byte(content+"x"), sig), f)
	}
	assert.Contains(t, s.url, url.QueryEscape(want))
}

// TestKeyFiles loads every file of testdata/keys with both key options:
// usable keys load, everything else is refused with a clear error that
// holds no key material.
func TestKeyFiles(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir("testdata/keys")
	require.NoError(t, err)
	require.Greater(t, len(entries), 30)
	badReason := map[string][2]string{ // what WithPrivateKey / WithAlipayPublicKey must say
		"bad_rsa1024_private_pkcs8.pem":      {"RSA key has 1024 bits, need ≥ 2048", "not a public key"},
		"bad_rsa1024_public.pem":             {"not a private key", "RSA key has 1024 bits, need ≥ 2048"},
		"bad_ec_p256_private_pkcs8.pem":      {"ECDSA key, want RSA", "not a public key"},
		"bad_ec_p256_public.pem":             {"not a private key", "ECDSA key, want RSA"},
		"bad_corrupted_base64.pem":           {"does not decode", "does not decode"},
		"bad_truncated_der.pem":              {"not a valid PKCS#8 or PKCS#1 private key", "not a public key"},
		"bad_encrypted_pkcs8.pem":            {"encrypted keys are not supported", "encrypted keys are not supported"},
		"bad_encrypted_pkcs1_legacy.pem":     {"encrypted keys are not supported", "encrypted keys are not supported"},
		"bad_certificate_instead_of_key.pem": {`"CERTIFICATE" is not a private key`, "got a certificate where a public key is expected"},
	}
	for _, e := range entries {
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			data := readTestdata(t, "keys/"+name)
			bad := strings.HasPrefix(name, "bad_")
			require.Equal(t, bad, badReason[name] != [2]string{}, "every bad file has its reasons")
			isPrivate := strings.Contains(name, "_private")
			isEC := strings.Contains(name, "_e1_") || strings.Contains(name, "_ec_")
			path := filepath.Join("testdata", "keys", name)
			for _, tc := range []struct {
				option string
				opts   []Option
				accept bool
				reason string
			}{
				{"WithPrivateKey", []Option{WithPrivateKey(data), WithPrivateKeyFile(path)}, !bad && isPrivate && !isEC, badReason[name][0]},
				{"WithAlipayPublicKey", []Option{WithAlipayPublicKey(data), WithAlipayPublicKeyFile(path)}, !bad && !isPrivate, badReason[name][1]},
			} {
				for i, opt := range tc.opts {
					var cfg config
					err := opt(&cfg)
					if tc.accept {
						assert.NoError(t, err, tc.option)
						continue
					}
					require.Error(t, err, tc.option)
					want := "alipay: " + tc.option + map[int]string{0: ": ", 1: "File: "}[i]
					assert.True(t, strings.HasPrefix(err.Error(), want), err.Error())
					assertNoKeyMaterial(t, err.Error(), data)
					assert.Contains(t, err.Error(), tc.reason)
				}
			}
		})
	}
}

// TestKeyInputsRefused covers inputs that are not key files at all.
func TestKeyInputsRefused(t *testing.T) {
	t.Parallel()
	priv := readTestdata(t, "keys/app_private_pkcs8.pem")
	pub := readTestdata(t, "keys/alipay_test_public.pem")
	for name, tc := range map[string]struct {
		opt  Option
		want string
	}{
		"missing_file":          {WithPrivateKeyFile("testdata/keys/nope.pem"), "alipay: WithPrivateKeyFile: stat testdata/keys/nope.pem"},
		"missing_public_file":   {WithAlipayPublicKeyFile("testdata/keys/nope.pem"), "alipay: WithAlipayPublicKeyFile: stat"},
		"empty_path":            {WithPrivateKeyFile(""), "alipay: WithPrivateKeyFile: empty path"},
		"empty_public_path":     {WithAlipayPublicKeyFile(""), "alipay: WithAlipayPublicKeyFile: empty path"},
		"nil":                   {WithPrivateKey(nil), "alipay: WithPrivateKey: key is empty"},
		"blank":                 {WithAlipayPublicKey([]byte(" \n\t")), "alipay: WithAlipayPublicKey: key is empty"},
		"not_base64":            {WithPrivateKey([]byte("hello, world")), "alipay: WithPrivateKey: neither PEM nor Base64"},
		"base64_not_key":        {WithAlipayPublicKey([]byte("aGVsbG8gd29ybGQ=")), "alipay: WithAlipayPublicKey: not a valid"},
		"public_as_private":     {WithPrivateKey(pub), `alipay: WithPrivateKey: PEM block "PUBLIC KEY" is not a private key`},
		"private_as_public":     {WithAlipayPublicKey(priv), `alipay: WithAlipayPublicKey: PEM block "PRIVATE KEY" is not a public key`},
		"trailing_garbage":      {WithPrivateKey(append(append([]byte{}, priv...), "garbage"...)), "alipay: WithPrivateKey: unexpected data"},
		"two_keys":              {WithAlipayPublicKey(append(append([]byte{}, pub...), pub...)), "alipay: WithAlipayPublicKey: unexpected data"},
		"private_b64_as_public": {WithAlipayPublicKey(readTestdata(t, "keys/app_private_pkcs8.b64")), "alipay: WithAlipayPublicKey: not a valid"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.opt(&config{})
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tc.want), err.Error())
			assertNoKeyMaterial(t, err.Error(), append(append([]byte{}, priv...), pub...))
			if strings.HasPrefix(name, "missing") {
				assert.ErrorIs(t, err, fs.ErrNotExist)
			}
		})
	}
}

// TestOtherKeyAlgorithmsRefused: Ed25519 and X25519 keys are named and
// refused like EC keys.
func TestOtherKeyAlgorithmsRefused(t *testing.T) {
	t.Parallel()
	edPub, edPriv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	xPriv, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	der := func(b []byte, err error) []byte { require.NoError(t, err); return b }
	for want, opt := range map[string]Option{
		"alipay: WithPrivateKey: Ed25519 key, want RSA": WithPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY",
			Bytes: der(x509.MarshalPKCS8PrivateKey(edPriv))})),
		"alipay: WithAlipayPublicKey: Ed25519 key, want RSA": WithAlipayPublicKey([]byte(base64.StdEncoding.EncodeToString(
			der(x509.MarshalPKIXPublicKey(edPub))))),
		"alipay: WithAlipayPublicKey: ECDH key, want RSA": WithAlipayPublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY",
			Bytes: der(x509.MarshalPKIXPublicKey(xPriv.PublicKey()))})),
		"alipay: WithPrivateKey: ECDH key, want RSA": WithPrivateKey([]byte(base64.StdEncoding.EncodeToString(
			der(x509.MarshalPKCS8PrivateKey(xPriv))))),
	} {
		assert.EqualError(t, opt(&config{}), want)
	}
}

// TestFormatTimestamp: UTC+8 from a FixedZone, whatever the instant's zone.
func TestFormatTimestamp(t *testing.T) {
	t.Parallel()
	for unix, want := range map[int64]string{
		1716182055: "2024-05-20 13:14:15", 1735662600: "2025-01-01 00:30:00", 1735660799: "2024-12-31 23:59:59",
		1709136000: "2024-02-29 00:00:00", 0: "1970-01-01 08:00:00", -8 * 3600: "1970-01-01 00:00:00",
	} {
		for _, loc := range []*time.Location{time.UTC, time.Local, time.FixedZone("X", -11*3600), time.FixedZone("Y", 14*3600)} {
			assert.Equal(t, want, formatTimestamp(time.Unix(unix, 0).In(loc)), "%d in %v", unix, loc)
		}
		assert.Equal(t, want, formatTimestamp(time.Unix(unix, 999999999)), "fractions are truncated")
	}
}

// TestSecretNeverPrints: the redacting type hides its value in every
// formatter, JSON and slog; its fingerprint is 8 hex digits.
func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := secret(testToken)
	var buf bytes.Buffer
	j, err := json.Marshal(map[string]any{"t": s})
	require.NoError(t, err)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "t", s)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "t", s, "s", struct{ T secret }{s})
	out := fmt.Sprintf("%v %s %+v %#v %q %x", s, s, s, s, s, s) + string(j) + buf.String()
	assert.NotContains(t, out, testToken)
	assert.NotContains(t, out, fmt.Sprintf("%x", testToken))
	assert.Contains(t, out, "[redacted]")
	assert.Regexp(t, `^[0-9a-f]{8}$`, s.fingerprint())
	assert.Empty(t, secret("").fingerprint())
}

// TestDecodeSign: standard Base64 with padding only.
func TestDecodeSign(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"AAEC": true, "AAE=": true, "": false, "AAE": false, "AA-_": false, "AA E=": false, "not-base64!!": false,
	} {
		_, got := decodeSign(in)
		assert.Equal(t, ok, got, "%q", in)
	}
}
