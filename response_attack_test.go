package alipay

import (
	"context"
	"net/http"
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
