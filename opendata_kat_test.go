package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// phoneKAT is one case of testdata/kat/phone_decrypt.json.
type phoneKAT struct {
	Name            string  `json:"name"`
	AlipayPublicKey string  `json:"alipay_public_key"`
	AESKey          string  `json:"aes_key"`
	Envelope        string  `json:"envelope"`
	Response        *string `json:"response"`
	Plaintext       *string `json:"plaintext"`
	Expect          string  `json:"expect"`
	Reason          string  `json:"reason"`
	Result          *struct {
		Code    string  `json:"code"`
		Msg     string  `json:"msg"`
		Mobile  string  `json:"mobile"`
		SubCode *string `json:"sub_code"`
		SubMsg  *string `json:"sub_msg"`
	} `json:"result"`
}

// katMerchantApp is the merchant mini-program the KAT envelopes are for.
const katMerchantApp = "2021004000000002"

// countingKeys is an AESKeySource that counts its calls.
type countingKeys struct {
	keys  []string
	calls atomic.Int32
}

func (s *countingKeys) AESKeys(_ context.Context, id string) ([]string, error) {
	s.calls.Add(1)
	if id != katMerchantApp {
		return nil, nil
	}
	return s.keys, nil
}

// openDataClient returns a client verifying with the KAT's Alipay key and
// decrypting with src.
func openDataClient(t *testing.T, publicKey string, src AESKeySource) *Client {
	t.Helper()
	c, err := NewClient(testAppID, WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(t, publicKey)), WithAESKeySource(src))
	require.NoError(t, err)
	return c
}

// TestPhoneDecryptKAT runs every vector through PhoneNumber and
// DecryptOpenData: successes give the number and the plaintext, business
// errors a verified *APIError with the camelCase or snake_case sub-code,
// rejects the documented error class and step. The key source is asked
// only after a signature verified, and no error text holds the number,
// the ciphertext, the plaintext or the AES key.
func TestPhoneDecryptKAT(t *testing.T) {
	t.Parallel()
	cases := loadKAT[phoneKAT](t, "phone_decrypt")
	require.Len(t, cases, 20)
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			src := &countingKeys{keys: []string{tc.AESKey}}
			c := openDataClient(t, tc.AlipayPublicKey, src)
			p, err := c.PhoneNumber(ctx, katMerchantApp, []byte(tc.Envelope))
			plain, err2 := c.DecryptOpenData(ctx, katMerchantApp, []byte(tc.Envelope))
			switch tc.Expect {
			case "ok":
				require.NoError(t, err)
				require.NoError(t, err2)
				assert.Equal(t, tc.Result.Mobile, p.Mobile)
				assert.Equal(t, tc.Reason == "ok", p.HasNumber())
				assert.JSONEq(t, *tc.Plaintext, string(plain))
			case "business_error":
				for _, e := range []error{err, err2} {
					var ae *APIError
					require.ErrorAs(t, e, &ae)
					assert.Equal(t, tc.Result.Code, ae.Code)
					assert.Equal(t, tc.Result.Msg, ae.Msg)
					assert.Equal(t, *tc.Result.SubCode, ae.SubCode)
					assert.Equal(t, *tc.Result.SubMsg, ae.SubMsg)
					assert.True(t, ae.Verified)
				}
				assert.Nil(t, p)
			default:
				require.Equal(t, "reject", tc.Expect)
				assert.Nil(t, p)
				assert.Nil(t, plain)
				for _, e := range []error{err, err2} {
					checkOpenDataReject(t, tc.Reason, e)
				}
			}
			if tc.Expect != "reject" || tc.Reason == "decrypt_failed" {
				assert.Equal(t, int32(2), src.calls.Load(), "keys fetched after verification")
			} else {
				assert.Zero(t, src.calls.Load(), "no key is fetched for an envelope that did not verify")
			}
			for _, e := range []error{err, err2} {
				if e != nil {
					assertNoOpenDataLeak(t, e.Error(), tc)
				}
			}
		})
	}
}

// checkOpenDataReject asserts the SDK error of a KAT reject reason.
func checkOpenDataReject(t *testing.T, reason string, err error) {
	t.Helper()
	switch reason {
	case "duplicate_key", "missing_sign", "sign_type_mismatch", "malformed_sign", "bad_signature":
		var ve *VerifyError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, VerifyStep(reason), ve.Step)
		assert.Empty(t, ve.Content)
		assert.ErrorIs(t, err, ErrSignature)
	case "decrypt_failed":
		var ve *VerifyError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, StepDecrypt, ve.Step)
		assert.ErrorIs(t, err, ErrSignature)
	case "invalid_envelope", "missing_response", "not_encrypted", "unsupported_encrypt_type", "unsupported_charset", "invalid_plaintext":
		var ee *EnvelopeError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, reason, ee.Reason)
		assert.ErrorIs(t, err, ErrBadEnvelope)
		assert.False(t, errors.Is(err, ErrSignature))
	default:
		t.Fatalf("unknown reason %q", reason)
	}
}

// assertNoOpenDataLeak checks an error text for the case's secrets.
func assertNoOpenDataLeak(t *testing.T, text string, tc phoneKAT) {
	t.Helper()
	assert.NotContains(t, text, tc.AESKey)
	if tc.Response != nil && len(*tc.Response) >= 16 {
		assert.NotContains(t, text, (*tc.Response)[:16])
	}
	if tc.Result != nil && tc.Result.Mobile != "" {
		assert.NotContains(t, text, tc.Result.Mobile)
	}
	var pl map[string]any
	if tc.Plaintext != nil && json.Unmarshal([]byte(*tc.Plaintext), &pl) == nil {
		if m, _ := pl["mobile"].(string); m != "" {
			assert.NotContains(t, text, m)
		}
	}
}
