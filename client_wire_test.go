package alipay

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoopbackGateway runs each call against a real loopback server that
// checks the request as the gateway would.
func TestLoopbackGateway(t *testing.T) {
	lg := newLoopbackGateway(t, nil)
	m := lg.client(t).WithAppAuthToken(testToken)
	ctx := context.Background()
	for _, tc := range fourCalls {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.invoke(ctx, m)
			require.NoError(t, err)
			tc.check(t, res)
		})
	}
	reqs := lg.requests(t)
	require.Len(t, reqs, len(fourCalls))
	for i, r := range reqs {
		assert.Equal(t, fourCalls[i].method, r.Method)
		assert.Equal(t, testToken, r.Form.Get("app_auth_token"))
		if fourCalls[i].method == methodAppAPISceneQuery {
			assert.Equal(t, `{"api_name":"getPhoneNumber","field_name":"mobile"}`, r.Form.Get("biz_content"))
		} else {
			assert.False(t, r.Form.Has("biz_content"))
		}
	}
}

// TestLoopbackRootClientSendsNoToken: the ISV's own client sends no
// app_auth_token at all, not an empty one.
func TestLoopbackRootClientSendsNoToken(t *testing.T) {
	lg := newLoopbackGateway(t, nil)
	c := lg.client(t, WithPrivateKeyFile("testdata/keys/app_private_pkcs1.pem"),
		WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.b64"))
	res, err := c.AppAPIQuery(context.Background(), nil)
	require.NoError(t, err)
	assert.Len(t, res.APIs, 2)
	r := lg.last(t)
	assert.Empty(t, r.Form)
	assert.NotContains(t, r.Content, "app_auth_token")
}
