package alipaytest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPhoneNumberEnvelopeKAT rebuilds the shared getPhoneNumber vectors
// that Alipay's serialiser would write byte for byte: the server must
// produce exactly their envelopes (AES with a zero IV and PKCS#1 v1.5 are
// deterministic).
func TestPhoneNumberEnvelopeKAT(t *testing.T) {
	t.Parallel()
	var f struct {
		Cases []struct {
			Name      string `json:"name"`
			AESKey    string `json:"aes_key"`
			Envelope  string `json:"envelope"`
			Plaintext string `json:"plaintext"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(repoFile(t, "kat/phone_decrypt.json"), &f))
	s := newTestServer(t)
	n := 0
	for _, c := range f.Cases {
		switch c.Name {
		case "ok_mobile_cn", "ok_mobile_overseas", "ok_no_mobile", "biz_invalid_auth_relations", "biz_unknow_error":
		default:
			continue
		}
		n++
		require.NoError(t, s.SetMerchantAESKey(DefaultMerchantAppID, c.AESKey))
		var p struct{ Code, Mobile, SubCode, SubMsg string }
		require.NoError(t, json.Unmarshal([]byte(c.Plaintext), &p))
		var got []byte
		var err error
		if p.Code == "10000" {
			got, err = s.PhoneNumberEnvelope(DefaultMerchantAppID, p.Mobile)
		} else {
			got, err = s.PhoneNumberErrorEnvelope(DefaultMerchantAppID, p.Code, p.SubCode, p.SubMsg)
		}
		require.NoError(t, err, c.Name)
		assert.Equal(t, c.Envelope, string(got), c.Name)
	}
	assert.Equal(t, 5, n)
}

// openEnvelope is the test's own verify-then-decrypt of an envelope.
func openEnvelope(t *testing.T, s *Server, env []byte, aesKey string) map[string]string {
	t.Helper()
	var e map[string]string
	require.NoError(t, json.Unmarshal(env, &e))
	assert.Equal(t, "RSA2", e["sign_type"])
	sig, err := base64.StdEncoding.DecodeString(e["sign"])
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(`"` + e["response"] + `"`))
	require.NoError(t, rsa.VerifyPKCS1v15(mustPublicKey(t, s.AlipayPublicKeyPEM()), crypto.SHA256, sum[:], sig),
		"signed over the quoted ciphertext")
	key, err := parseAESKey(aesKey)
	require.NoError(t, err)
	plain, err := aesDecrypt(key, e["response"])
	require.NoError(t, err)
	var out map[string]string
	require.NoError(t, json.Unmarshal(plain, &out))
	return out
}

func TestPhoneNumberEnvelopes(t *testing.T) {
	t.Parallel()
	const key = "JoRCASgqO5kV1lfdb5FpzQ=="
	s := newTestServer(t, WithMerchant(Merchant{Token: "t", AppID: "2021004000000020", AESKey: key}))
	env, err := s.PhoneNumberEnvelope("2021004000000020", "13800000000")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"code": "10000", "msg": "Success", "mobile": "13800000000"}, openEnvelope(t, s, env, key))

	env, err = s.PhoneNumberErrorEnvelope("2021004000000020", "40006", "isv.insufficient-isv-permissions", "ISV权限不足")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"code": "40006", "msg": "Insufficient Permissions",
		"subCode": "isv.insufficient-isv-permissions", "subMsg": "ISV权限不足"}, openEnvelope(t, s, env, key))

	_, err = s.PhoneNumberEnvelope(DefaultMerchantAppID, "13800000000")
	require.ErrorIs(t, err, ErrNoAESKey)
	_, err = s.PhoneNumberEnvelope("2021009999999999", "13800000000")
	require.ErrorIs(t, err, ErrUnknownMerchant)
	_, err = s.PhoneNumberErrorEnvelope("2021004000000020", "10000", "", "")
	require.Error(t, err)
	require.Error(t, s.SetMerchantAESKey(DefaultMerchantAppID, "c2hvcnQ="), "5 bytes is no AES key")
	_, err = NewServer(WithMerchant(Merchant{Token: "t", AppID: "a", AESKey: "not base64!"}))
	require.Error(t, err)
}
