package alipay

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// Notification verification beside its raw cost: the V1 string built from
// the form's values and one rsa.VerifyPKCS1v15. The SDK also refuses
// duplicates, checks sign_type, app_id, the fields and the timestamp window,
// and returns a Notification with its params.

// benchNotification returns a signed field.changed message (utc_timestamp
// at fixedTime) and the client that accepts it.
func benchNotification(b *testing.B) (*Client, url.Values) {
	b.Helper()
	params := signNotification(b, testNotifySigner(b), fieldChangedParams("2024052000262171013056307524611001"))
	return newNotifyClient(b), params
}

func BenchmarkVerifyNotification(b *testing.B) {
	c, params := benchNotification(b)
	if _, err := c.VerifyNotification(params); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.VerifyNotification(params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawVerifyNotification(b *testing.B) {
	_, params := benchNotification(b)
	pub := parsePublicPEM(b, "keys/alipay_test_public.pem")
	if err := rawVerifyNotification(pub, params); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := rawVerifyNotification(pub, params); err != nil {
			b.Fatal(err)
		}
	}
}

// rawVerifyNotification is the least a correct verifier does: the V1 string
// (every param but sign and sign_type, sorted, k=v joined by '&') and one
// SHA256withRSA verification.
func rawVerifyNotification(pub *rsa.PublicKey, params url.Values) error {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" && k != "sign_type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var content strings.Builder
	for i, k := range keys {
		if i > 0 {
			content.WriteByte('&')
		}
		content.WriteString(k + "=" + params.Get(k))
	}
	sig, err := base64.StdEncoding.DecodeString(params.Get("sign"))
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(content.String()))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
}
