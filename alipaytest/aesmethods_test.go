package alipaytest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// isvAESKey is the ISV app's own content-encryption key in these tests.
const isvAESKey = "aYA0GP8JEW+D7/UFaskCWA=="

func aesKeyCall(t *testing.T, c *alipay.Client, method, merchantAppID string) (string, error) {
	t.Helper()
	raw, err := c.Call(testCtx(t), method, map[string]string{"merchant_app_id": merchantAppID})
	if err != nil {
		return "", err
	}
	var out struct {
		AESKey string `json:"aes_key"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	return out.AESKey, nil
}

func TestMerchantAESKeySetAndGet(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithAppAESKey(DefaultAppID, isvAESKey))
	c := newClient(t, s) // the server's key for the app, through the client's own AES code

	key, err := aesKeyCall(t, c, methodAESGet, DefaultMerchantAppID)
	require.NoError(t, err)
	assert.Empty(t, key, "no key set yet")

	first, err := aesKeyCall(t, c, methodAESSet, DefaultMerchantAppID)
	require.NoError(t, err)
	k, err := parseAESKey(first)
	require.NoError(t, err)
	assert.Len(t, k, 16)
	got, ok := s.MerchantAESKey(DefaultMerchantAppID)
	assert.True(t, ok)
	assert.Equal(t, first, got)
	key, err = aesKeyCall(t, c, methodAESGet, DefaultMerchantAppID)
	require.NoError(t, err)
	assert.Equal(t, first, key)

	second, err := aesKeyCall(t, c, methodAESSet, DefaultMerchantAppID)
	require.NoError(t, err)
	assert.NotEqual(t, first, second, "set replaces the key")
	env, err := s.PhoneNumberEnvelope(DefaultMerchantAppID, "13800000000")
	require.NoError(t, err)
	assert.Equal(t, "13800000000", openEnvelope(t, s, env, second)["mobile"])

	// On the wire: encrypted request, no token, the plain text recorded.
	recs := s.Requests()
	last := recs[len(recs)-1]
	assert.Equal(t, "AES", last.Params.Get("encrypt_type"))
	assert.Empty(t, last.AppAuthToken)
	assert.NotContains(t, last.Params.Get("biz_content"), "merchant_app_id")
	assert.JSONEq(t, `{"merchant_app_id":"`+DefaultMerchantAppID+`"}`, last.PlainBizContent)
}

func TestMerchantAESKeyRefusals(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithAppAESKey(DefaultAppID, isvAESKey))
	c := newClient(t, s, alipay.WithAESKey(isvAESKey))

	_, err := aesKeyCall(t, c.WithAppAuthToken(DefaultMerchantToken), methodAESSet, DefaultMerchantAppID)
	requireSubCode(t, err, "40004", "ACCESS_DENIED") // self-invoked: no app_auth_token
	_, err = aesKeyCall(t, c, methodAESGet, "2021009999999999")
	requireSubCode(t, err, "40004", "ACCESS_DENIED") // not authorised to this ISV
	_, err = aesKeyCall(t, c, methodAESGet, "")
	requireSubCode(t, err, "40004", "INVALID_PARAMETER")
	unencrypted, err := alipay.NewClient(DefaultAppID, alipay.WithGatewayURL(s.URL), // NewClient would add the server's AES key
		alipay.WithPrivateKey(s.AppPrivateKeyPEM()), alipay.WithAlipayPublicKey(s.AlipayPublicKeyPEM()))
	require.NoError(t, err)
	_, err = aesKeyCall(t, unencrypted, methodAESSet, DefaultMerchantAppID)
	requireSubCode(t, err, "40001", "isv.decryption-error-missing-encrypt-type")

	wrong := newClient(t, s, alipay.WithAESKey("zM+/R8elr0D6ivjOyoUBuQ=="))
	_, err = aesKeyCall(t, wrong, methodAESGet, DefaultMerchantAppID)
	requireSubCode(t, err, "40003", "isv.decryption-error-unknown")

	plain := newTestServer(t) // knows no AES key for the app
	_, err = aesKeyCall(t, newClient(t, plain, alipay.WithAESKey(isvAESKey)), methodAESGet, DefaultMerchantAppID)
	requireSubCode(t, err, "40002", "isv.decryption-error-not-valid-encrypt-key")

	require.NoError(t, s.CancelAuthorization(DefaultMerchantAppID))
	_, err = aesKeyCall(t, c, methodAESGet, DefaultMerchantAppID)
	requireSubCode(t, err, "40004", "ACCESS_DENIED")
	_, ok := s.MerchantAESKey(DefaultMerchantAppID)
	assert.False(t, ok)
}

// Any method answers encrypted when asked encrypted.
func TestEncryptedCallsOfOtherMethods(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithAppAESKey(DefaultAppID, isvAESKey))
	m := newClient(t, s, alipay.WithAESKey(isvAESKey)).WithAppAuthToken(DefaultMerchantToken)
	scenes, err := m.AppAPISceneQuery(testCtx(t), &alipay.AppAPISceneQueryRequest{APIName: "getPhoneNumber", FieldName: "mobile"})
	require.NoError(t, err)
	require.NotEmpty(t, scenes.AuthFieldScene)
	recs := s.Requests()
	assert.Equal(t, "AES", recs[len(recs)-1].Params.Get("encrypt_type"))

	// Raw: the node is a quoted ciphertext, signed with its quotes.
	key, err := parseAESKey(isvAESKey)
	require.NoError(t, err)
	ct, err := aesEncrypt(key, []byte(`{"api_name":"getPhoneNumber","field_name":"mobile"}`)) // checked by TestAESKAT
	require.NoError(t, err)
	resp, err := testHTTP.Do(newCall(t, s, methodSceneQuery).set("encrypt_type", "AES").set("biz_content", ct).request(t))
	require.NoError(t, err)
	defer resp.Body.Close()
	var top map[string]json.RawMessage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&top))
	node := top["alipay_open_app_api_scene_query_response"]
	require.True(t, len(node) > 2 && node[0] == '"', "%s", node)
	var sign, text string
	require.NoError(t, json.Unmarshal(top["sign"], &sign))
	sig, err := base64.StdEncoding.DecodeString(sign)
	require.NoError(t, err)
	sum := sha256.Sum256(node)
	require.NoError(t, rsa.VerifyPKCS1v15(mustPublicKey(t, s.AlipayPublicKeyPEM()), crypto.SHA256, sum[:], sig))
	require.NoError(t, json.Unmarshal(node, &text))
	plain, err := aesDecrypt(key, text)
	require.NoError(t, err)
	assert.Contains(t, string(plain), `"code":"10000"`)
}
