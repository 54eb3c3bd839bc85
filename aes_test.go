package alipay

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/isvkit/alipay/internal/aescbc"
)

// aesKAT is one case of testdata/kat/aes.json.
type aesKAT struct {
	Name       string  `json:"name"`
	Key        string  `json:"key"`
	Plaintext  *string `json:"plaintext"`
	Ciphertext string  `json:"ciphertext"`
	Expect     string  `json:"expect"`
	Reason     string  `json:"reason"`
}

// TestAESKATClient runs aes.json through the client: WithAESKey, request
// encryption (modeParams) and response decryption (decryptNode).
func TestAESKATClient(t *testing.T) {
	cases := loadKAT[aesKAT](t, "aes")
	require.Len(t, cases, 14)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			c, err := NewClient(testAppID, append(baseOptions(t), WithAESKey(tc.Key))...)
			if tc.Reason == "bad_key_length" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "WithAESKey: AES key must be 16, 24 or 32 bytes")
				assert.NotContains(t, err.Error(), tc.Key)
				return
			}
			require.NoError(t, err)
			plain, err := c.decryptNode([]byte(`"` + tc.Ciphertext + `"`))
			if tc.Expect == "error" {
				require.Error(t, err)
				assert.Nil(t, plain)
				want := map[string]error{"bad_padding": aescbc.ErrPadding,
					"bad_ciphertext_length": aescbc.ErrCiphertextLength, "bad_base64": aescbc.ErrBase64}[tc.Reason]
				assert.True(t, errors.Is(err, want), "%v is not %s", err, tc.Reason)
				assert.NotContains(t, err.Error(), tc.Key)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, *tc.Plaintext, string(plain))
			if *tc.Plaintext == "" {
				return // an empty biz_content is never sent, so never encrypted
			}
			extra, biz, err := c.core.modeParams("alipay.open.app.api.scene.query", []byte(*tc.Plaintext))
			require.NoError(t, err)
			assert.Equal(t, []param{{"encrypt_type", "AES"}}, extra)
			assert.Equal(t, tc.Ciphertext, string(biz))
		})
	}
}

// TestAESKeyOption refuses bad keys without echoing them.
func TestAESKeyOption(t *testing.T) {
	for _, key := range []string{"", "  ", "not base64 at all!", "c2hvcnQ=", "zM+/R8elr0D6ivjOyoUBuQ"} {
		_, err := NewClient(testAppID, append(baseOptions(t), WithAESKey(key))...)
		require.Error(t, err, "%q", key)
		assert.True(t, strings.HasPrefix(err.Error(), "alipay: WithAESKey: "), err.Error())
		if strings.TrimSpace(key) != "" {
			assert.NotContains(t, err.Error(), strings.TrimSpace(key))
		}
	}
	for _, key := range []string{"zM+/R8elr0D6ivjOyoUBuQ==", " zM+/R8elr0D6ivjOyoUBuQ==\n",
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="} {
		c, err := NewClient(testAppID, append(baseOptions(t), WithAESKey(key))...)
		require.NoError(t, err, "%q", key)
		assert.True(t, c.core.hasAES())
		assert.NotContains(t, c.String(), "zM+")
	}
}

// TestAESWhatIsEncrypted: no biz_content (uploads, calls without params)
// and the certificate download stay plaintext; without a key nothing is
// encrypted.
func TestAESWhatIsEncrypted(t *testing.T) {
	c, err := NewClient(testAppID, append(baseOptions(t), WithAESKey("zM+/R8elr0D6ivjOyoUBuQ=="))...)
	require.NoError(t, err)
	extra, biz, err := c.core.modeParams("alipay.open.app.api.field.apply", nil)
	require.NoError(t, err)
	assert.Empty(t, extra)
	assert.Empty(t, biz)
	s, err := c.sign("alipay.open.mini.baseinfo.modify", nil, []param{{"app_name", "x"}})
	require.NoError(t, err)
	u, err := url.Parse(s.url)
	require.NoError(t, err)
	assert.False(t, u.Query().Has("encrypt_type"))
	_, biz, err = c.core.modeParams(methodAlipayCertDownload, []byte(`{"alipay_cert_sn":"x"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"alipay_cert_sn":"x"}`, string(biz))

	plainClient, _ := newMockClient(t)
	extra, biz, err = plainClient.core.modeParams("alipay.open.app.api.scene.query", []byte(`{"a":1}`))
	require.NoError(t, err)
	assert.Empty(t, extra)
	assert.Equal(t, `{"a":1}`, string(biz))
	assert.False(t, plainClient.core.hasAES())
}

// TestAESRoundTrip sends an encrypted request through a mock gateway and
// reads an encrypted response, and a plain unsigned error in AES mode.
func TestAESRoundTrip(t *testing.T) {
	const key = "zM+/R8elr0D6ivjOyoUBuQ=="
	const ct = "PHEkLj3d1IkAoxzbYz+zONKFL35DTQ5OXHO2TF4bY3YdarBBTUyWwvAgVGlWe8YAzo/fmHIkZehgxvHFYa3cd6V+ycipH/2CCHtppHzYazxy8qKBCEbVfpNStCAa3Vs3aXmf5UQ9j96nOcFIyVh9xSMkdIp9mgDEhGlU6oER2QU="
	c, mock := newMockClient(t, WithAESKey(key))
	var form url.Values
	var query url.Values
	body := signedBody(t, "keys/alipay_test_private_pkcs8.pem", "alipay.open.app.api.query", `"`+ct+`"`, "")
	mock.RegisterResponder("POST", gwPattern, func(req *http.Request) (*http.Response, error) {
		query = req.URL.Query()
		if err := req.ParseForm(); err != nil {
			return nil, err
		}
		form = req.PostForm
		return httpmock.NewStringResponse(200, body), nil
	})
	res, err := c.WithAppAuthToken(testToken).AppAPIQuery(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, res.APIs, 1)
	assert.Equal(t, "34556", res.APIs[0].PackageCode)
	assert.False(t, query.Has("encrypt_type"), "no biz_content: nothing to encrypt")
	assert.False(t, form.Has("biz_content"))

	raw, err := c.Call(context.Background(), "alipay.open.app.api.query", map[string]string{"k": "v"})
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"apis"`)
	assert.Equal(t, "AES", query.Get("encrypt_type"))
	assert.NotEqual(t, `{"k":"v"}`, form.Get("biz_content"))

	mock.RegisterResponder("POST", gwPattern, httpmock.NewStringResponder(200,
		`{"alipay_open_app_api_query_response":{"code":"40003","msg":"Insufficient Conditions","sub_code":"isv.decryption-error-unknown","sub_msg":"x"}}`))
	_, err = c.AppAPIQuery(context.Background(), nil)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.False(t, apiErr.Verified)
	assert.Equal(t, "isv.decryption-error-unknown", apiErr.SubCode)
}

// TestAESSignedGarbage: a correctly signed ciphertext that does not decrypt
// with the configured key fails at step "decrypt" without leaking the key.
func TestAESSignedGarbage(t *testing.T) {
	const key = "zM+/R8elr0D6ivjOyoUBuQ=="
	c, _ := newMockClient(t, WithAESKey(key))
	kat6 := `"4AOYHE0rpPnRnghunsGo+mY02DzANFLwNJJCiHfrNh2oaB2pn33PwOEOvH8mjhkE3Wh/jR+3jHM9nvoFvOsY/SqZbZzamRg9Eh3VkRqOhSM="`
	for _, node := range []string{kat6, `"not base64!"`, `""`} {
		body := signedBody(t, "keys/alipay_test_private_pkcs8.pem", "alipay.open.app.api.query", node, "")
		_, err := c.readResponse(context.Background(), "alipay.open.app.api.query", http.StatusOK, nil, []byte(body))
		var ve *VerifyError
		require.ErrorAs(t, err, &ve, node)
		assert.Equal(t, StepDecrypt, ve.Step)
		assert.NotContains(t, err.Error(), key)
	}
}
