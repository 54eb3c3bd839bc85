package alipay

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzPhoneNumber drives the whole decrypt path of a client (PhoneNumber,
// which runs DecryptOpenData's procedure) with mutated envelopes. It never
// panics; every error is one of the documented classes; and nothing is
// returned as a result (a number or a verified *APIError) unless the
// envelope's sign is a valid signature of the quoted response, checked here
// with encoding/json and crypto/rsa alone. Error texts never hold the
// envelope's response.
func FuzzPhoneNumber(f *testing.F) {
	for _, tc := range loadKAT[phoneKAT](f, "phone_decrypt") {
		f.Add([]byte(tc.Envelope))
	}
	f.Add(testEnvelope(f, phoneAESKey, `{"code":"10000","msg":"Success","mobile":"13800000000","x":[{}]}`))
	f.Add(testEnvelope(f, otherAESKey, `{"code":"40003","subCode":"isv.invalid-auth-relations"}`))
	src, err := StaticAESKeys(map[string]string{katMerchantApp: phoneAESKey})
	if err != nil {
		f.Fatal(err)
	}
	c, err := NewClient(testAppID, WithPrivateKey(readTestdata(f, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(f, "keys/alipay_test_public.pem")), WithAESKeySource(src))
	if err != nil {
		f.Fatal(err)
	}
	pub := c.core.alipayKey
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, envelope []byte) {
		p, err := c.PhoneNumber(ctx, katMerchantApp, envelope)
		var (
			ae *APIError
			ve *VerifyError
			ee *EnvelopeError
		)
		switch {
		case err == nil:
			if p == nil {
				t.Fatal("no error and no result")
			}
		case errors.As(err, &ae):
			if !ae.Verified {
				t.Fatalf("unverified business error %v", err)
			}
		case errors.As(err, &ve), errors.As(err, &ee):
			if p != nil {
				t.Fatal("result with an error")
			}
			var m map[string]json.RawMessage
			var resp string
			if json.Unmarshal(envelope, &m) == nil && json.Unmarshal(m["response"], &resp) == nil && len(resp) >= 12 &&
				strings.Contains(err.Error(), resp) {
				t.Fatalf("error %q quotes the response", err)
			}
			return
		default:
			t.Fatalf("error of another class: %T %v", err, err)
		}
		if !signedByAlipay(pub, envelope) {
			t.Fatalf("accepted an envelope without a valid signature: %q", envelope)
		}
	})
}

// signedByAlipay checks an envelope's signature independently of the SDK.
func signedByAlipay(pub *rsa.PublicKey, envelope []byte) bool {
	var e struct {
		Response *string `json:"response"`
		Sign     string  `json:"sign"`
	}
	if json.Unmarshal(envelope, &e) != nil || e.Response == nil {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(e.Sign)
	digest := sha256.Sum256([]byte(`"` + *e.Response + `"`))
	return err == nil && rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
}
