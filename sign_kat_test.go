package alipay

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requestKAT is one case of testdata/kat/request_sign.json.
type requestKAT struct {
	Name         string            `json:"name"`
	PrivateKey   string            `json:"private_key"`
	UnixTime     int64             `json:"unix_time"`
	Params       orderedParams     `json:"params"`
	Files        []string          `json:"files"`
	Dropped      []string          `json:"dropped"`
	StringToSign string            `json:"string_to_sign"`
	Sign         string            `json:"sign"`
	AES          map[string]string `json:"aes"`
}

// protocolKeys are the parameters the client itself sets.
var protocolKeys = map[string]bool{
	"app_id": true, "method": true, "format": true, "charset": true, "sign_type": true,
	"timestamp": true, "version": true, "app_auth_token": true, "biz_content": true,
	"app_cert_sn": true, "alipay_root_cert_sn": true, "encrypt_type": true,
}

// TestRequestSignKAT reproduces every string to sign and signature of
// request_sign.json from the raw parameters.
func TestRequestSignKAT(t *testing.T) {
	for _, tc := range loadKAT[requestKAT](t, "request_sign") {
		t.Run(tc.Name, func(t *testing.T) {
			key, err := parsePrivateKey("test", readTestdata(t, tc.PrivateKey))
			require.NoError(t, err)
			params := make([]param, 0, len(tc.Params))
			for _, p := range tc.Params {
				params = append(params, param{p.key, p.value})
			}
			content := signContent(params)
			assert.Equal(t, tc.StringToSign, string(content))
			sig, err := signRSA2(key, content)
			require.NoError(t, err)
			assert.Equal(t, tc.Sign, sig)
			assert.Equal(t, tc.Params.get("timestamp"), formatTimestamp(time.Unix(tc.UnixTime, 0)))
		})
	}
}

// TestClientSignKAT drives the client's own request builder with each KAT's
// business parameters and checks what would go on the wire: protocol params
// and sign in the query, business params in the body, dropped params nowhere,
// and the same signature.
func TestClientSignKAT(t *testing.T) {
	for _, tc := range loadKAT[requestKAT](t, "request_sign") {
		t.Run(tc.Name, func(t *testing.T) {
			at := time.Unix(tc.UnixTime, 0)
			opts := []Option{WithPrivateKeyFile("testdata/" + tc.PrivateKey),
				WithGatewayURL(testGW), WithClock(func() time.Time { return at })}
			if tc.Params.get("app_cert_sn") != "" {
				opts = append(opts, certModeOptions()...)
			} else {
				opts = append(opts, WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem"))
			}
			biz := tc.Params.get("biz_content")
			if tc.AES != nil {
				opts = append(opts, WithAESKey(tc.AES["key"]))
				biz = tc.AES["biz_content_plaintext"]
				require.Equal(t, tc.AES["biz_content_ciphertext"], tc.Params.get("biz_content"))
			}
			c, err := NewClient(tc.Params.get("app_id"), opts...)
			require.NoError(t, err)
			if tok := tc.Params.get("app_auth_token"); tok != "" {
				c = c.WithAppAuthToken(tok)
			}
			var text []param
			for _, p := range tc.Params {
				if !protocolKeys[p.key] && p.key != "notify_url" && p.key != "return_url" && p.key != "auth_token" && p.key != "alipay_sdk" {
					text = append(text, param{p.key, p.value})
				}
			}
			s, err := c.sign(tc.Params.get("method"), []byte(biz), text)
			require.NoError(t, err)

			u, err := url.Parse(s.url)
			require.NoError(t, err)
			q := u.Query()
			assert.Equal(t, tc.Sign, q.Get("sign"))
			var got []param
			for k, vs := range q {
				require.Len(t, vs, 1, "query key %s sent twice", k)
				assert.False(t, k == "app_auth_token" || k == "biz_content", "%s belongs in the body", k)
				if k != "sign" {
					got = append(got, param{k, vs[0]})
				}
			}
			seen := map[string]bool{}
			for _, p := range s.body {
				require.False(t, seen[p.key] || q.Has(p.key), "key %s sent twice", p.key)
				seen[p.key] = true
				got = append(got, p)
			}
			assert.Equal(t, tc.StringToSign, string(signContent(got)))
			for _, d := range tc.Dropped {
				assert.False(t, seen[d] || q.Has(d), "dropped param %s was sent", d)
			}
			assert.False(t, strings.Contains(s.url, "app_auth_token"), "token in URL")
			for _, k := range []string{"app_cert_sn", "alipay_root_cert_sn", "encrypt_type"} {
				assert.Equal(t, tc.Params.get(k), q.Get(k), "%s belongs in the URL", k)
			}
		})
	}
}

// orderedParams decodes a JSON object of strings keeping its key order.
type orderedParams []param

func (o *orderedParams) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("params: want an object")
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, param{k.(string), v})
	}
	return nil
}

func (o orderedParams) get(k string) string {
	for _, p := range o {
		if p.key == k {
			return p.value
		}
	}
	return ""
}

// signContent returns the string to sign of params (appendSignContent into
// a new slice); params is sorted in place.
func signContent(params []param) []byte {
	n := 0
	for _, p := range params {
		n += len(p.key) + len(p.value) + 2
	}
	return appendSignContent(make([]byte, 0, n), params)
}

// signRSA2 signs content with SHA256withRSA (PKCS#1 v1.5) and returns the
// standard Base64 signature.
func signRSA2(key *rsa.PrivateKey, content []byte) (string, error) {
	sig, err := signRSA2Raw(key, content)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}
