package alipay

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/isvkit/alipay/internal/jsonnode"
	"github.com/stretchr/testify/require"
)

// FuzzResponse feeds arbitrary bodies, for arbitrary methods, through the
// client's whole response pipeline (readResponse: extract, verify, decrypt,
// status) under every key configuration of testdata/kat/response_verify.json
// (the test key, the real Alipay key of
// testdata/keys/real_alipay_public_kat3.pem, certificate mode, AES). Nothing may
// panic, and:
//
//   - the result is a success or an error, never both nor neither, and the
//     error is an *APIError, a *VerifyError or a *ResponseError;
//
//   - a success, or an *APIError marked verified, comes only from a body
//     whose node bytes (or the node with every `\/` replaced by `/`) are
//     content that the test Alipay keys really signed (a verified vector's
//     signed_content): no edit of a signed body, whatever it moves around,
//     verifies;
//
//   - a success returns exactly that vector's business JSON;
//
//   - an unverified *APIError comes only from a body without a sign.
//
//     go test -run '^$' -fuzz '^FuzzResponse$' -fuzztime 10m .
func FuzzResponse(f *testing.F) {
	cases := loadKAT[responseKAT](f, "response_verify")
	genuine := map[string]string{} // signed_content → business JSON
	type config struct{ mode, pub, aes, cert, root string }
	var clients []*Client
	seen := map[config]bool{}
	for _, tc := range cases {
		f.Add([]byte(tc.Body), tc.Method)
		if tc.Expect == "verified" {
			genuine[deref(tc.SignedContent)] = deref(tc.BusinessJSON)
		}
		cfg := config{tc.Mode, tc.PublicKey, tc.AESKey, tc.AlipayCert, tc.AlipayRootCert}
		if !seen[cfg] {
			seen[cfg] = true
			c, err := NewClient(testAppID, responseKATOptions(tc)...)
			require.NoError(f, err)
			clients = append(clients, c.WithAppAuthToken(testToken))
		}
	}
	if len(genuine) < 10 || len(clients) < 4 {
		f.Fatalf("%d genuine contents, %d clients", len(genuine), len(clients))
	}
	f.Add([]byte(`{"x_response":{"code":"40004","sub_code":"`+testToken+`"}}`), "x")
	f.Fuzz(func(t *testing.T, body []byte, method string) {
		for _, c := range clients {
			res, err := c.readResponse(context.Background(), method, http.StatusOK, http.Header{}, body)
			checkFuzzResponse(t, genuine, body, method, res, err)
		}
	})
}

// checkFuzzResponse asserts FuzzResponse's rules for one outcome.
func checkFuzzResponse(t *testing.T, genuine map[string]string, body []byte, method string, res *verifiedBody, err error) {
	t.Helper()
	var (
		apiErr *APIError
		verErr *VerifyError
		resErr *ResponseError
	)
	switch {
	case (res == nil) == (err == nil):
		t.Fatalf("result %v with error %v", res, err)
	case err != nil && !errors.As(err, &apiErr) && !errors.As(err, &verErr) && !errors.As(err, &resErr):
		t.Fatalf("error of type %T: %v", err, err)
	case res == nil && (apiErr == nil || !apiErr.Verified):
		if apiErr != nil { // unverified: only without a sign
			env, xerr := jsonnode.Extract(body, jsonnode.NodeName(method))
			if xerr != nil || env.Sign != "" || !env.SignOK {
				t.Fatalf("unverified APIError for a body with a sign: %q", body)
			}
		}
		return
	}
	env, xerr := jsonnode.Extract(body, jsonnode.NodeName(method))
	if xerr != nil {
		t.Fatalf("verified a body Extract refuses: %v", xerr)
	}
	var signed []string // business JSON of each vector whose signed content the node is
	for _, content := range [][]byte{env.Value, bytes.ReplaceAll(env.Value, []byte(`\/`), []byte("/"))} {
		if business, ok := genuine[string(content)]; ok {
			signed = append(signed, business)
		}
	}
	if len(signed) == 0 {
		t.Fatalf("verified a node nobody signed: %q (result %v, error %v)", env.Value, res, err)
	}
	if res != nil && string(res.body) != signed[0] && (len(signed) == 1 || string(res.body) != signed[1]) {
		t.Fatalf("success %q, the signed vectors' business JSON is %q", res.body, signed)
	}
}
