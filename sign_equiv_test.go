package alipay

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The performance work replaced standard-library calls by code of our own
// that must give the same bytes: these tests pin each replacement to the
// call it replaced.

// TestQueryEscapeMatchesURL: writeQueryEscaped, writeQueryEscapedBytes and
// queryEscapedLen agree with url.QueryEscape on every byte and on mixed
// strings.
func TestQueryEscapeMatchesURL(t *testing.T) {
	t.Parallel()
	inputs := []string{"", "2024-05-20 13:14:15", "utf-8", "a+b/c=d", "中文 ~-_.", "\x00\x7f\xff%", testToken}
	for c := 0; c < 256; c++ {
		inputs = append(inputs, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	for _, s := range inputs {
		want := url.QueryEscape(s)
		var b, bb strings.Builder
		writeQueryEscaped(&b, s)
		writeQueryEscaped(&bb, []byte(s))
		assert.Equal(t, want, b.String(), "%q", s)
		assert.Equal(t, want, bb.String(), "%q", s)
		assert.Equal(t, len(want), queryEscapedLen(s), "%q", s)
		assert.Equal(t, len(want), queryEscapedLen([]byte(s)), "%q", s)
	}
}

// TestEncodeFormMatchesURL: encodeForm is the params, in order, each key
// and value through url.QueryEscape, joined by '&'.
func TestEncodeFormMatchesURL(t *testing.T) {
	t.Parallel()
	params := []param{{"app_auth_token", testToken}, {"biz_content", `{"a":"b c&d=e+f/中"}`}, {"k ey", "v"}}
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = url.QueryEscape(p.key) + "=" + url.QueryEscape(p.value)
	}
	assert.Equal(t, strings.Join(parts, "&"), encodeForm(params))
	assert.Equal(t, "", encodeForm(nil))
}

// TestSignURLMatchesQueryEscape: the URL sign builds is the gateway, then
// each protocol param through url.QueryEscape, then the Base64 sign.
func TestSignURLMatchesQueryEscape(t *testing.T) {
	t.Parallel()
	c, _ := newMockClient(t)
	s, err := c.WithAppAuthToken(testToken).sign("alipay.open.app.api.query", []byte(`{"x":"y z"}`), []param{{"t", "v w"}})
	require.NoError(t, err)
	u, err := url.Parse(s.url)
	require.NoError(t, err)
	q := u.Query()
	want := testGW + "?app_id=" + testAppID + "&method=alipay.open.app.api.query&format=JSON&charset=utf-8&sign_type=RSA2&timestamp=" +
		url.QueryEscape(formatTimestamp(fixedTime)) + "&version=1.0&sign=" + url.QueryEscape(q.Get("sign"))
	assert.Equal(t, want, s.url)
	assert.Equal(t, []param{{"app_auth_token", testToken}, {"biz_content", `{"x":"y z"}`}, {"t", "v w"}}, s.body)
}

// TestSignLargeKey: a 4096-bit app key gives a 512-byte signature whose
// Base64 outgrows sign's stack buffer; the URL still carries all of it and
// it verifies over the string to sign.
func TestSignLargeKey(t *testing.T) {
	t.Parallel()
	c, err := NewClient(testAppID, WithPrivateKeyFile("testdata/keys/app_private_rsa4096_pkcs8.pem"),
		WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem"), WithClock(fixedClock), WithGatewayURL(testGW))
	require.NoError(t, err)
	s, err := c.sign(methodAppAPIQuery, nil, nil)
	require.NoError(t, err)
	u, err := url.Parse(s.url)
	require.NoError(t, err)
	sig, ok := decodeSign(u.Query().Get("sign"))
	require.True(t, ok)
	require.Len(t, sig, 512)
	params := []param{}
	for k := range u.Query() {
		if k != "sign" {
			params = append(params, param{k, u.Query().Get(k)})
		}
	}
	assert.True(t, verifyRSA2(&c.core.key.PublicKey, signContent(params), sig))
}
