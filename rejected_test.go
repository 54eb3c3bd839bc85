package alipay

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertNoneOf fails when text holds secret, any 16-byte piece of it, or
// PEM armour.
func assertNoneOf(t *testing.T, text, secret string) {
	t.Helper()
	assert.NotContains(t, text, "-----")
	assert.NotContains(t, text, "MII")
	for _, line := range strings.Fields(secret) {
		for i := 0; i+16 <= len(line); i += 8 {
			if piece := line[i : i+16]; !strings.HasPrefix(piece, "-----") {
				assert.NotContains(t, text, piece)
			}
		}
	}
}

// TestPrivateKeyAsAppIDNotQuoted: swapped settings put the private key (or
// another secret) where the app id belongs; NewClient refuses it and its
// error, which reaches stderr and logs, quotes none of it.
func TestPrivateKeyAsAppIDNotQuoted(t *testing.T) {
	priv := WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem")
	pub := WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem")
	for name, secret := range map[string]string{
		"PEM private key":         string(readTestdata(t, "keys/app_private_pkcs8.pem")),
		"PEM key on one line":     strings.ReplaceAll(string(readTestdata(t, "keys/app_private_pkcs1.pem")), "\n", " "),
		"bare Base64 private key": strings.TrimSpace(string(readTestdata(t, "keys/app_private_pkcs8.b64"))),
		"bare Base64 public key":  strings.TrimSpace(string(readTestdata(t, "keys/alipay_test_public.b64"))),
		"AES key":                 "zM+/R8elr0D6ivjOyoUBuQ==",
		"app_auth_token":          testToken,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := NewClient(secret, priv, pub)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.True(t, strings.HasPrefix(err.Error(), "alipay: NewClient: invalid app id ("), err.Error())
			assert.Contains(t, err.Error(), "not quoted")
			assertNoneOf(t, err.Error(), secret)
			assert.Less(t, len(err.Error()), 300)
		})
	}
}

// TestAppIDProblemsDescribed: each refused app id is named by its problem
// and at most a short prefix.
func TestAppIDProblemsDescribed(t *testing.T) {
	for appID, want := range map[string]string{
		"":                         `invalid app id "": empty`,
		"2021 0001":                `invalid app id "2021 0001": it contains a space, a control character or a non-ASCII character`,
		"2021\x1b[31m":             `invalid app id "2021\x1b[31m": it contains a space`,
		"应用2021":                   `invalid app id "应用2021": it contains a space, a control character or a non-ASCII character`,
		"2021&method=x":            `invalid app id "2021&method="… (13 bytes): it contains '&' or '='`,
		"2021.0001.0002.0003 x":    `invalid app id "2021.0001.00"… (21 bytes): it contains a space`,
		strings.Repeat("2021.", 8): `invalid app id "2021.2021.20"… (40 bytes): longer than 32 bytes`,
	} {
		_, err := NewClient(appID, keyOptions(t)...)
		require.Error(t, err, appID)
		assert.True(t, strings.HasPrefix(err.Error(), "alipay: NewClient: "+want), "%q: %v", appID, err)
		assert.ErrorContains(t, checkAppID(appID), want, "NewClient's check")
	}
	_, err := NewClient("2021.0001.00\u00e9", keyOptions(t)...)
	assert.ErrorContains(t, err, `"2021.0001.00"… (14 bytes)`, "a prefix never cuts a character")
	for _, appID := range []string{testAppID, "9021000122682345"} {
		_, err := NewClient(appID, keyOptions(t)...)
		assert.NoError(t, err)
	}
}
