package alipay

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAttackSignedErrorResponseAsSuccess: a signed error_response saying
// code 10000 (a node Alipay signed for some other failure page, replayed,
// or a gateway quirk) is never a success: only the method's own node can
// succeed.
func TestAttackSignedErrorResponseAsSuccess(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	for _, node := range []string{
		`{"code":"10000","msg":"Success"}`,
		`{"code":"10000","msg":"Success","apis":[{"api_name":"getPhoneNumber","field_name":"mobile","package_code":"1"}]}`,
	} {
		body := `{"error_response":` + node + `,"sign":"` + g.sign(node) + `"}`
		c, mock := newMockClient(t)
		serveMock(t, mock, http.StatusOK, body, nil)
		res, err := c.WithAppAuthToken(testToken).AppAPIQuery(context.Background(), nil)
		assert.Nil(t, res)
		require.ErrorIs(t, err, ErrBadResponse)
		var re *ResponseError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, ReasonSuccessInErrorResponse, re.Reason)

		raw, err := c.Call(context.Background(), methodAppAPIQuery, nil)
		assert.Nil(t, raw)
		require.ErrorIs(t, err, ErrBadResponse)
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
