package alipay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSecretsOpenDataNeverPrinted drives every error path of the open-data
// helpers and of the AES key calls with known AES keys, known phone numbers
// and known ciphertexts, and checks every error text (%v, %+v, %#v, and
// each wrapped error) and every Debug log record: none holds an AES key, a
// phone number or a 16-character window of a ciphertext.
func TestSecretsOpenDataNeverPrinted(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var texts []string
	record := func(label string, err error) {
		t.Helper()
		if !assert.Error(t, err, label) {
			return
		}
		texts = append(texts, label+": "+fmt.Sprintf("%v\n%+v\n%#v", err, err, err))
		for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
			texts = append(texts, label+" (wrapped): "+fmt.Sprintf("%v %#v", e, e))
		}
	}
	secrets := []string{phoneAESKey, otherAESKey, isvAESKey, "c2hvcnQ=", "13800000000", "13912345678"}
	ctx := context.Background()

	// Open data: every vector and more, through both helpers.
	src, err := StaticAESKeys(map[string]string{katMerchantApp: phoneAESKey})
	require.NoError(t, err)
	c, err := NewClient(testAppID, append(baseOptions(t), WithAESKeySource(src), WithLogger(logger))...)
	require.NoError(t, err)
	envelopes := map[string][]byte{}
	for _, tc := range loadKAT[phoneKAT](t, "phone_decrypt") {
		if tc.Expect != "ok" {
			envelopes[tc.Name] = []byte(tc.Envelope)
		}
		if tc.Response != nil {
			secrets = append(secrets, *tc.Response)
		}
		if tc.Result != nil && tc.Result.Mobile != "" {
			secrets = append(secrets, tc.Result.Mobile)
		}
	}
	for name, plain := range map[string]string{
		"wrong key":         "",
		"code as number":    `{"code":10000,"mobile":"13912345678"}`,
		"mobile as number":  `{"code":"10000","mobile":13912345678}`,
		"failure with data": `{"code":"40003","msg":"Insufficient Conditions","subCode":"isv.invalid-auth-relations","mobile":"13912345678"}`,
	} {
		key := phoneAESKey
		if plain == "" {
			key, plain = otherAESKey, `{"code":"10000","mobile":"13912345678"}`
		}
		envelopes[name] = testEnvelope(t, key, plain)
		var e struct{ Response string }
		require.NoError(t, json.Unmarshal(envelopes[name], &e))
		secrets = append(secrets, e.Response)
	}
	for name, env := range envelopes {
		_, err := c.PhoneNumber(ctx, katMerchantApp, env)
		record("PhoneNumber "+name, err)
		if _, err = c.DecryptOpenData(ctx, katMerchantApp, env); name != "mobile as number" {
			record("DecryptOpenData "+name, err) // the number's type is PhoneNumber's concern
		}
	}
	bad, err := NewClient(testAppID, append(baseOptions(t), WithAESKeySource(sliceKeys{"c2hvcnQ=", phoneAESKey + "!"}))...)
	require.NoError(t, err)
	_, err = bad.PhoneNumber(ctx, katMerchantApp, envelopes["failure with data"])
	record("bad key from the source", err)
	_, err = StaticAESKeys(map[string]string{katMerchantApp: "c2hvcnQ="})
	record("StaticAESKeys short key", err)
	_, err = StaticAESKeys(map[string]string{katMerchantApp: phoneAESKey + "="})
	record("StaticAESKeys bad Base64", err)

	// AES key calls: answers that quote a key in plain text.
	keyNode := `{"code":"10000","msg":"Success","aes_key":"` + phoneAESKey + `"}`
	signer := newGatewaySigner(t)
	for name, body := range map[string]string{
		"plain node, bad sign":     `{"alipay_open_auth_app_aes_get_response":` + keyNode + `,"sign":"` + signer.sign("x") + `"}`,
		"plain node, no sign":      `{"alipay_open_auth_app_aes_get_response":` + keyNode + `}`,
		"not JSON":                 "<html>" + keyNode,
		"duplicate node":           `{"alipay_open_auth_app_aes_get_response":` + keyNode + `,"alipay_open_auth_app_aes_get_response":{}}`,
		"short key":                signer.body(methodAuthAppAESGet, strings.Replace(keyNode, phoneAESKey, "c2hvcnQ=", 1)),
		"encrypted with wrong key": signer.body(methodAuthAppAESGet, `"`+aesBase64(t, otherAESKey, keyNode)+`"`),
		"HTTP 500 quoting the key": keyNode,
	} {
		cl, mock := newMockClient(t, WithAESKey(isvAESKey), WithLogger(logger))
		status := http.StatusOK
		if strings.HasPrefix(name, "HTTP") {
			status = http.StatusInternalServerError
		}
		mock.RegisterResponder(http.MethodPost, gwPattern, httpmock.NewStringResponder(status, body))
		_, err := cl.AuthAppAESGet(ctx, &AuthAppAESGetRequest{MerchantAppID: katMerchantApp})
		record("AuthAppAESGet "+name, err)
		_, err = cl.AuthAppAESSet(ctx, &AuthAppAESSetRequest{MerchantAppID: katMerchantApp})
		record("AuthAppAESSet "+name, err)
	}

	require.GreaterOrEqual(t, len(texts), 40)
	all := append(texts, strings.Split(strings.TrimSpace(logs.String()), "\n")...)
	require.Greater(t, len(all), len(texts)+10, "log records")
	for _, text := range all {
		for _, s := range secrets {
			if n := len(s); n > 16 {
				for i := 0; i+16 <= n; i++ {
					if strings.Contains(text, s[i:i+16]) {
						t.Errorf("%q (from a ciphertext or plaintext) appears in %s", s[i:i+16], text)
						break
					}
				}
			} else if strings.Contains(text, s) {
				t.Errorf("%q appears in %s", s, text)
			}
		}
	}
}
