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
		_, err = c.readResponse(context.Background(), methodAppAPIQuery, http.StatusOK, http.Header{}, []byte(body))
		require.ErrorAs(t, err, &re, "readResponse itself refuses it")
		assert.Equal(t, ReasonSuccessInErrorResponse, re.Reason)
	}
}

// TestAttackTraceIDHeader: the trace_id header is not signed, yet it goes
// into errors, logs, spans and, in a reason, the registry's record: a
// tampering proxy's megabyte, or text that is no trace id, is dropped;
// Alipay's 32 hex digits are kept.
func TestAttackTraceIDHeader(t *testing.T) {
	t.Parallel()
	c, _ := newMockClient(t)
	node := `{"code":"20001","msg":"Insufficient Token Permissions","sub_code":"aop.invalid-app-auth-token","sub_msg":"无效的应用授权令牌"}`
	body := newGatewaySigner(t).body(methodAppAPIQuery, node)
	for trace, want := range map[string]string{
		"0b8f3e3c17161820555551234e5e7f01": "0b8f3e3c17161820555551234e5e7f01",
		strings.Repeat("a", 1<<20):         "",
		`x" level=ERROR msg="forged`:       "",
	} {
		_, err := c.readResponse(context.Background(), methodAppAPIQuery, http.StatusOK, http.Header{"Trace_id": {trace}}, []byte(body))
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		assert.True(t, ae.Verified)
		assert.Equal(t, want, ae.TraceID)
		assert.Less(t, len(err.Error()), 400)
	}
}
