package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenRedacted: the gateway quotes its string to sign, token included,
// in isv.invalid-signature sub_msgs; the token must not reach the error.
func TestTokenRedacted(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	quoted := "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：app_auth_token=" + testToken +
		"&amp;app_id=" + testAppID + "&amp;charset=utf-8&amp;method=alipay.open.app.api.query&amp;sign_type=RSA2&amp;timestamp=2024-05-20 13:14:15&amp;version=1.0"
	node := failNode("40002", "Invalid Arguments "+testToken, "isv.invalid-signature", quoted)
	key := nodeKey(methodAppAPIQuery)
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"signed":          {200, g.body(methodAppAPIQuery, node)},
		"unsigned":        {200, `{"` + key + `":` + node + `}`},
		"error_response":  {200, `{"error_response":` + node + `}`},
		"bad_signature":   {200, `{"` + key + `":` + node + `,"sign":"` + g.sign("{}") + `"}`},
		"http_502":        {502, "<html>upstream said " + testToken + "</html>"},
		"snippet_cut":     {502, strings.Repeat("x", 500) + testToken + strings.Repeat("y", 100)},
		"non_json":        {200, "<html>" + testToken},
		"snippet_unicode": {502, strings.Repeat("网", 170) + testToken},
	} {
		t.Run(name, func(t *testing.T) {
			c, mock := newMockClient(t)
			serveMock(t, mock, tc.status, tc.body, nil)
			res, err := c.WithAppAuthToken(testToken).AppAPIQuery(context.Background(), nil)
			assert.Nil(t, res)
			require.Error(t, err)
			text := fmt.Sprintf("%v %+v %#v", err, err, err)
			assert.NotContains(t, text, testToken[:12])
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				assert.Equal(t, "isv.invalid-signature", apiErr.SubCode)
				assert.Contains(t, apiErr.SubMsg, "app_auth_token=[redacted]&app_id=")
			}
		})
	}
}

// TestAttackSnippetQuotesSignature: errors quoting a body (ResponseError.Body)
// or checked content (VerifyError.Content) must not hand out the gateway's
// signature.
func TestAttackSnippetQuotesSignature(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	node := nodeAPIQuery
	sig := g.sign(node)
	// Three ways the signature ends up in a quoted body: trailing data, a
	// missing node, and a node that itself carries a "sign" member whose
	// signature does not verify.
	nested := `{"code":"10000","msg":"Success","sign" : "` + sig + `"}`
	head := `{"` + nodeKey(methodAppAPIQuery) + `":` + node + `,"pad":"`
	pad := strings.Repeat("x", 480-len(head)-len(`","sign":"`)) // the sign value starts at byte 480
	cases := []struct {
		name, body string
		verify     bool
	}{
		{name: "trailing data", body: `{"` + nodeKey(methodAppAPIQuery) + `":` + node + `,"sign":"` + sig + `"} trailing`},
		{name: "missing node", body: `{"other_response":` + node + `,"sign":"` + sig + `"}`},
		{name: "cut inside the sign", body: head + pad + `","sign":"` + sig + `"} x`},
		{name: "sign inside the node", body: `{"` + nodeKey(methodAppAPIQuery) + `":` + nested + `,"sign":"` + sig + `"}`, verify: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			serveMock(t, mock, http.StatusOK, tc.body, nil)
			_, err := c.WithAppAuthToken(testToken).AppAPIQuery(context.Background(), nil)
			require.Error(t, err)
			var quoted string
			if tc.verify {
				var ve *VerifyError
				require.ErrorAs(t, err, &ve)
				quoted = ve.Content
			} else {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				quoted = re.Body
			}
			assert.Contains(t, quoted, `"sign`)
			for _, s := range []string{quoted, err.Error()} {
				assert.NotContains(t, s, sig[:24], "no part of the signature is quoted")
				assert.NotContains(t, s, sig[len(sig)-24:])
			}
		})
	}
}

// TestElideSign pins the elision rule on JSON members and form parameters.
func TestElideSign(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"a":1,"sign":"abc\"def","b":2}`:      `{"a":1,"sign":"…","b":2}`,
		`{"sign" :  "abc`:                      `{"sign" :  "…`,
		`{"sign":1,"design":"x"}`:              `{"sign":1,"design":"x"}`,
		`{"signature":"x","sign_type":"RSA2"}`: `{"signature":"x","sign_type":"RSA2"}`,
		`a=1&sign=xyz&b=2`:                     `a=1&sign=…&b=2`,
		`sign=xyz`:                             `sign=…`,
		`design=x&ensign=y`:                    `design=x&ensign=y`,
		`no signature here`:                    `no signature here`,
	} {
		assert.Equal(t, want, elideSign(in), in)
	}
}
