package alipay

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// responseKAT is one case of testdata/kat/response_verify.json.
type responseKAT struct {
	Name           string  `json:"name"`
	Method         string  `json:"method"`
	Mode           string  `json:"mode"`
	PublicKey      string  `json:"public_key"`
	AlipayCert     string  `json:"alipay_cert"`
	AlipayRootCert string  `json:"alipay_root_cert"`
	AESKey         string  `json:"aes_key"`
	Body           string  `json:"body"`
	Expect         string  `json:"expect"`
	Reason         string  `json:"reason"`
	Node           *string `json:"node"`
	NodeValue      *string `json:"node_value"`
	Sign           *string `json:"sign"`
	AlipayCertSN   *string `json:"alipay_cert_sn"`
	SignedContent  *string `json:"signed_content"`
	BusinessJSON   *string `json:"business_json"`
	Code           *string `json:"code"`
	SubCode        *string `json:"sub_code"`
	DownloadCert   string  `json:"download_cert"`
	ExpectRotation string  `json:"expect_with_rotation"`
	ReasonRotation string  `json:"reason_with_rotation"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// responseKATClient builds the client a response KAT case describes.
func responseKATClient(t *testing.T, tc responseKAT) *Client {
	t.Helper()
	c, err := NewClient(testAppID, responseKATOptions(tc)...)
	require.NoError(t, err)
	return c
}

// responseKATOptions are the options of the client a case describes. In
// certificate mode the app certificate is the generated one and the clock
// is certTestTime, when every generated certificate but the expired one is
// valid.
func responseKATOptions(tc responseKAT) []Option {
	opts := []Option{WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"), WithGatewayURL(testGW)}
	switch tc.Mode {
	case "cert":
		opts = append(opts, WithClock(certClock),
			WithAppCertFile("testdata/certs/app_cert_public_key.crt"),
			WithAlipayCertFile("testdata/"+tc.AlipayCert),
			WithAlipayRootCertFile("testdata/"+tc.AlipayRootCert))
	default:
		opts = append(opts, WithAlipayPublicKeyFile("testdata/"+tc.PublicKey))
	}
	if tc.AESKey != "" {
		opts = append(opts, WithAESKey(tc.AESKey))
	}
	return opts
}

// checkResponseKAT asserts the outcome of readResponse against a case.
func checkResponseKAT(t *testing.T, tc responseKAT, expect, reason string, res *verifiedBody, err error) {
	t.Helper()
	switch expect {
	case "verified":
		if deref(tc.Code) == "10000" && tc.SubCode == nil {
			require.NoError(t, err)
			assert.Equal(t, deref(tc.BusinessJSON), string(res.body))
			return
		}
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.True(t, apiErr.Verified)
		assert.Equal(t, deref(tc.Code), apiErr.Code)
		assert.Equal(t, deref(tc.SubCode), apiErr.SubCode)
	case "unsigned_error":
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Nil(t, res)
		assert.False(t, apiErr.Verified)
		assert.Equal(t, deref(tc.Code), apiErr.Code)
		assert.Equal(t, deref(tc.SubCode), apiErr.SubCode)
		assert.Contains(t, apiErr.Error(), "[unverified]")
	case "reject":
		require.Error(t, err)
		assert.Nil(t, res)
		var ve *VerifyError
		var re *ResponseError
		switch {
		case errors.As(err, &ve):
			assert.Equal(t, VerifyStep(reason), ve.Step)
			assert.ErrorIs(t, err, ErrSignature)
		case errors.As(err, &re):
			assert.Equal(t, ResponseReason(reason), re.Reason)
			assert.ErrorIs(t, err, ErrBadResponse)
		default:
			t.Fatalf("reject with unexpected error type %T: %v", err, err)
		}
	default:
		t.Fatalf("unknown expectation %q", expect)
	}
}

// TestResponseVerifyKAT runs every case of response_verify.json (public-key
// mode, certificate mode without rotation, AES) through the client's
// response pipeline.
func TestResponseVerifyKAT(t *testing.T) {
	for _, tc := range loadKAT[responseKAT](t, "response_verify") {
		t.Run(tc.Name, func(t *testing.T) {
			c := responseKATClient(t, tc)
			res, err := c.readResponse(context.Background(), tc.Method, http.StatusOK, http.Header{}, []byte(tc.Body))
			checkResponseKAT(t, tc, tc.Expect, tc.Reason, res, err)
		})
	}
}
