package opendata

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
)

// FuzzOpen: the procedure never panics, refuses with an *Error only, and
// accepts nothing that an independent check rejects: the input is one valid
// JSON object without duplicates, its "response" a string, and its "sign" a
// valid SHA256withRSA signature of the quoted response (checked here with
// encoding/json and crypto/rsa directly). The seeds are the vectors.
func FuzzOpen(f *testing.F) {
	cases := loadCases(f)
	for _, tc := range cases {
		f.Add([]byte(tc.Envelope))
	}
	f.Add([]byte(`{"response":"\u0000","sign":"AA==","sign_type":"RSA2","x":{"y":[1,2,{"z":null}]}}`))
	pub := publicKey(f, cases[0].AlipayPublicKey)
	keys := [][]byte{rawKey(f, cases[0].AESKey), rawKey(f, "xExzetNv0QPshaZvrFONjA==")}
	f.Fuzz(func(t *testing.T, envelope []byte) {
		env, err := Parse(envelope)
		if err != nil {
			if env != nil {
				t.Fatal("envelope with an error")
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(envelope, &m); err != nil {
			t.Fatalf("accepted invalid JSON %q", envelope)
		}
		v, err := env.Verify(pub)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		var resp, sign string
		if json.Unmarshal(m["response"], &resp) != nil || json.Unmarshal(m["sign"], &sign) != nil {
			t.Fatalf("verified without string response and sign: %q", envelope)
		}
		sig, err := base64.StdEncoding.DecodeString(sign)
		digest := sha256.Sum256([]byte(`"` + resp + `"`))
		if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			t.Fatalf("verified an envelope whose signature is not valid: %q", envelope)
		}
		plain, i, err := v.Decrypt(keys)
		if err == nil && (!IsObject(plain) || i < 0 || i >= len(keys)) {
			t.Fatalf("decrypted to %q with key %d", plain, i)
		}
	})
}
