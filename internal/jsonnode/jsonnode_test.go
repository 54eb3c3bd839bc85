package jsonnode

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// katCase is the part of a testdata/kat/response_verify.json case that
// Extract is responsible for.
type katCase struct {
	Name         string  `json:"name"`
	Method       string  `json:"method"`
	Body         string  `json:"body"`
	Reason       string  `json:"reason"`
	Node         *string `json:"node"`
	NodeValue    *string `json:"node_value"`
	Sign         *string `json:"sign"`
	AlipayCertSN *string `json:"alipay_cert_sn"`
}

// extractReasons are the reject reasons decided by the envelope alone.
var extractReasons = map[string]bool{
	ReasonEmptyBody: true, ReasonInvalidJSON: true, ReasonRootNotObject: true, ReasonTrailingData: true,
	ReasonDuplicateNode: true, ReasonDuplicateKey: true, ReasonMissingNode: true, ReasonNodeNotObject: true,
}

func loadCases(t testing.TB) []katCase {
	t.Helper()
	data, err := os.ReadFile("../../testdata/kat/response_verify.json")
	require.NoError(t, err)
	var f struct{ Cases []katCase }
	require.NoError(t, json.Unmarshal(data, &f))
	require.Len(t, f.Cases, 61)
	return f.Cases
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestExtractKAT: every vector gives the right node, the node's raw value
// byte for byte, sign and alipay_cert_sn, or the right reject reason.
func TestExtractKAT(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, tc := range loadCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			env, err := Extract([]byte(tc.Body), NodeName(tc.Method))
			if extractReasons[tc.Reason] {
				seen[tc.Reason] = true
				assert.Nil(t, env)
				require.Error(t, err)
				assert.True(t, IsError(err, tc.Reason), "got %v, want %s", err, tc.Reason)
				assert.Equal(t, "jsonnode: "+tc.Reason, err.Error())
				return
			}
			require.NoError(t, err)
			require.NotNil(t, tc.Node)
			assert.Equal(t, *tc.Node, env.Name)
			assert.Equal(t, str(tc.NodeValue), string(env.Value))
			assert.Equal(t, str(tc.Sign), env.Sign)
			assert.True(t, env.SignOK)
			assert.Equal(t, str(tc.AlipayCertSN), env.CertSN)
			assert.Equal(t, strings.HasPrefix(str(tc.NodeValue), `"`), env.Encrypted)
		})
	}
	assert.Len(t, seen, len(extractReasons), "every Extract reason has a vector")
}

func TestNodeName(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "alipay_open_app_api_query_response", NodeName("alipay.open.app.api.query"))
	assert.Equal(t, "_response", NodeName(""))
}

// TestExtractEdges covers shapes the vectors do not.
func TestExtractEdges(t *testing.T) {
	t.Parallel()
	const node = "x_response"
	for body, want := range map[string]string{
		`{"x_response":{},"sign":1}`:                      "sign_not_string",
		`{"x_response":{},"sign":null}`:                   "ok",
		`{"x_response":{},"alipay_cert_sn":7,"sign":"s"}`: "ok",
		`{"error_response":{"code":"1"},"x_response":{}}`: "ok",
		`{"x_response":"cipher"}`:                         "encrypted",
		`{"x_response":true}`:                             ReasonNodeNotObject,
		`{"x_response":{}`:                                ReasonInvalidJSON,
		`{"x_response" {}}`:                               ReasonInvalidJSON,
		`{1:2}`:                                           ReasonInvalidJSON,
		`"string"`:                                        ReasonRootNotObject,
		`42`:                                              ReasonRootNotObject,
		`[{"x_response":{}}]`:                             ReasonRootNotObject,
		`[1,`:                                             ReasonInvalidJSON,
		`]`:                                               ReasonInvalidJSON,
		"\t\r\n ":                                         ReasonEmptyBody,
		`{"y_response":{},"sign":"s"}`:                    ReasonMissingNode,
		`{"x_response":{},"x":1,"x":2}`:                   ReasonDuplicateKey,
		" {\"x_response\" : {\"a\" : 1} } \n":             "ok",
		`{"x_response":{}} x`:                             ReasonTrailingData,
	} {
		env, err := Extract([]byte(body), node)
		switch want {
		case "ok", "sign_not_string", "encrypted":
			require.NoError(t, err, body)
			assert.Equal(t, want != "sign_not_string", env.SignOK, body)
			assert.Equal(t, want == "encrypted", env.Encrypted, body)
			assert.True(t, strings.Contains(body, string(env.Value)), body)
		default:
			assert.True(t, IsError(err, want), "%s: got %v, want %s", body, err, want)
		}
	}
}

// TestCode reads code and sub_code without trusting anything else.
func TestCode(t *testing.T) {
	t.Parallel()
	code, sub, ok := Code([]byte(`{"code":"40004","sub_code":"X","msg":1}`))
	assert.Equal(t, []any{"40004", "X", true}, []any{code, sub, ok})
	code, sub, ok = Code([]byte(`{"code":40004}`))
	assert.Equal(t, []any{"", "", true}, []any{code, sub, ok})
	_, _, ok = Code([]byte(`"cipher"`))
	assert.False(t, ok)
	assert.False(t, IsError(nil, ReasonEmptyBody))
}
