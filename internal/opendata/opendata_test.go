package opendata

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isvkit/alipay/internal/aescbc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The vectors live in the root package's testdata.
const testdata = "../../testdata"

type katCase struct {
	Name            string  `json:"name"`
	AlipayPublicKey string  `json:"alipay_public_key"`
	AESKey          string  `json:"aes_key"`
	Envelope        string  `json:"envelope"`
	Plaintext       *string `json:"plaintext"`
	Expect          string  `json:"expect"`
	Reason          string  `json:"reason"`
}

func loadCases(t testing.TB) []katCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "kat", "phone_decrypt.json"))
	require.NoError(t, err)
	var f struct{ Cases []katCase }
	require.NoError(t, json.Unmarshal(b, &f))
	require.Len(t, f.Cases, 20)
	return f.Cases
}

func publicKey(t testing.TB, name string) *rsa.PublicKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	require.NoError(t, err)
	block, _ := pem.Decode(b)
	require.NotNil(t, block)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	require.NoError(t, err)
	return k.(*rsa.PublicKey)
}

func rawKey(t testing.TB, b64 string) []byte {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	return k
}

// open runs the whole procedure and returns the plaintext or the reason.
func open(envelope []byte, key *rsa.PublicKey, keys [][]byte) (json.RawMessage, string) {
	env, err := Parse(envelope)
	if err != nil {
		return nil, err.(*Error).Reason
	}
	v, err := env.Verify(key)
	if err != nil {
		return nil, err.(*Error).Reason
	}
	plain, _, err := v.Decrypt(keys)
	if err != nil {
		return nil, err.(*Error).Reason
	}
	return plain, ""
}

// TestKATReasons: every vector ends with its documented reason, or with
// its plaintext.
func TestKATReasons(t *testing.T) {
	for _, tc := range loadCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			plain, reason := open([]byte(tc.Envelope), publicKey(t, tc.AlipayPublicKey), [][]byte{rawKey(t, tc.AESKey)})
			if tc.Expect == "reject" {
				assert.Equal(t, tc.Reason, reason)
				assert.Nil(t, plain)
				return
			}
			require.Empty(t, reason)
			assert.Equal(t, *tc.Plaintext, string(plain))
		})
	}
}

// TestDecryptKeyOrder: the current key is tried first, a wrong current key
// falls through to the previous one, and no key yields decrypt_failed.
func TestDecryptKeyOrder(t *testing.T) {
	tc := loadCases(t)[0]
	pub := publicKey(t, tc.AlipayPublicKey)
	right := rawKey(t, tc.AESKey)
	wrong := rawKey(t, "xExzetNv0QPshaZvrFONjA==")
	env, err := Parse([]byte(tc.Envelope))
	require.NoError(t, err)
	v, err := env.Verify(pub)
	require.NoError(t, err)
	for _, c := range []struct {
		keys [][]byte
		idx  int
	}{{[][]byte{right, wrong}, 0}, {[][]byte{wrong, right}, 1}, {[][]byte{wrong}, -1}, {nil, -1}, {[][]byte{{1, 2, 3}}, -1}} {
		plain, i, err := v.Decrypt(c.keys)
		assert.Equal(t, c.idx, i)
		if c.idx < 0 {
			assert.True(t, IsError(err, ReasonDecryptFailed))
			assert.Nil(t, plain)
		} else {
			assert.Equal(t, *tc.Plaintext, string(plain))
		}
	}
	_, err = env.Verify(nil)
	assert.True(t, IsError(err, ReasonBadSignature))
}

// TestParseRules covers what the vectors do not: each envelope is built
// from the first vector's members.
func TestParseRules(t *testing.T) {
	tc := loadCases(t)[0]
	var m map[string]string
	require.NoError(t, json.Unmarshal([]byte(tc.Envelope), &m))
	resp, sign := `"response":"`+m["response"]+`"`, `"sign":"`+m["sign"]+`"`
	obj := func(members ...string) string { return "{" + strings.Join(members, ",") + "}" }
	pub := publicKey(t, tc.AlipayPublicKey)
	key := [][]byte{rawKey(t, tc.AESKey)}
	for envelope, want := range map[string]string{
		obj(resp, sign):                                  "",
		" \n" + obj(resp, sign) + "\n ":                  "",
		obj(resp, sign, `"charset":"utf-8"`):             "",
		obj(resp, sign, `"sign_type":null`):              "",
		obj(resp, sign, `"other":[1,{"a":2}]`):           "",
		obj(`"respons\u0065":"`+m["response"]+`"`, sign): "",
		"":                                       ReasonInvalidEnvelope,
		"[]":                                     ReasonInvalidEnvelope,
		`"x"`:                                    ReasonInvalidEnvelope,
		obj(resp, sign) + "{}":                   ReasonInvalidEnvelope,
		obj(resp, sign) + "x":                    ReasonInvalidEnvelope,
		obj(resp, sign)[:40]:                     ReasonInvalidEnvelope,
		obj(resp, sign, `"x":"`+"\xff"+`"`):      ReasonInvalidEnvelope,
		obj(`"response":12`, sign):               ReasonInvalidEnvelope,
		obj(`"response":["a"]`, sign):            ReasonInvalidEnvelope,
		obj(resp, sign, `"response":"x"`):        ReasonDuplicateKey,
		obj(resp, sign, `"respons\u0065":"x"`):   ReasonDuplicateKey,
		obj(resp, sign, `"sign":""`):             ReasonDuplicateKey,
		obj(resp, sign, `"a":1,"a":1`):           ReasonDuplicateKey,
		obj(sign):                                ReasonMissingResponse,
		obj(`"response":null`, sign):             ReasonMissingResponse,
		obj(`"response":""`, sign):               ReasonMissingResponse,
		obj(`"response":{}`, sign):               ReasonNotEncrypted,
		obj(resp):                                ReasonMissingSign,
		obj(resp, `"sign":null`):                 ReasonMissingSign,
		obj(resp, `"sign":""`):                   ReasonMissingSign,
		obj(resp, `"sign":123`):                  ReasonMalformedSign,
		obj(resp, `"sign":{}`):                   ReasonMalformedSign,
		obj(resp, sign, `"sign_type":"RSA"`):     ReasonSignTypeMismatch,
		obj(resp, sign, `"sign_type":"rsa2"`):    ReasonSignTypeMismatch,
		obj(resp, sign, `"sign_type":""`):        ReasonSignTypeMismatch,
		obj(resp, sign, `"sign_type":2`):         ReasonSignTypeMismatch,
		obj(resp, sign, `"encrypt_type":"SM4"`):  ReasonUnsupportedEncryptType,
		obj(resp, sign, `"charset":"GBK"`):       ReasonUnsupportedCharset,
		obj(resp, `"sign":"`+m["sign"][:21]+`"`): ReasonMalformedSign,
		obj(resp, `"sign":"`+strings.TrimRight(m["sign"], "=")+`"`):                          ReasonMalformedSign,
		obj(resp, `"sign":"`+m["sign"][:10]+`\n`+m["sign"][10:]+`"`):                         ReasonMalformedSign,
		obj(resp, `"sign":"`+strings.NewReplacer("+", "-", "/", "_").Replace(m["sign"])+`"`): ReasonMalformedSign,
		obj(`"response":"`+m["response"][1:]+`"`, sign):                                      ReasonBadSignature,
		obj(`"response":"\"`+m["response"]+`\""`, sign):                                      ReasonBadSignature,
	} {
		_, reason := open([]byte(envelope), pub, key)
		assert.Equal(t, want, reason, "%s", envelope)
	}
	big := obj(resp, sign, `"pad":"`+strings.Repeat("x", MaxEnvelope)+`"`)
	_, reason := open([]byte(big), pub, key)
	assert.Equal(t, ReasonInvalidEnvelope, reason)
}

// TestDecryptRefusesNonObjects: a verified ciphertext whose plaintext is
// not one UTF-8 JSON object is refused.
func TestDecryptRefusesNonObjects(t *testing.T) {
	key := rawKey(t, "JoRCASgqO5kV1lfdb5FpzQ==")
	for _, plain := range []string{``, `[]`, `"x"`, `{"a":1} x`, `{"a":"` + "\xff" + `"}`, `{"a":`, ` 12 `} {
		ct, err := aescbc.EncryptBase64(key, []byte(plain))
		require.NoError(t, err)
		_, _, err = (&Verified{response: ct}).Decrypt([][]byte{key})
		assert.True(t, IsError(err, ReasonDecryptFailed), "%q", plain)
	}
	assert.True(t, IsObject([]byte(" {\"a\":1}\n")))
}
