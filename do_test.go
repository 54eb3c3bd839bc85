package alipay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTransportErrorScrubbed: a transport failure names the method and
// carries neither the query (sign, timestamp) nor the token.
func TestTransportErrorScrubbed(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset by peer")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/gateway.do"
	require.NoError(t, ln.Close())

	for name, opts := range map[string][]Option{
		"error_responder": nil,
		"closed_port":     {WithGatewayURL(closed), WithHTTPClient(&http.Client{})},
	} {
		t.Run(name, func(t *testing.T) {
			c, mock := newMockClient(t, opts...)
			mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewErrorResponder(boom))
			m := c.WithAppAuthToken(testToken)
			s, err := m.sign(methodAppAPIQuery, nil, nil) // the fixed clock makes sign the same as the call's
			require.NoError(t, err)
			u, err := url.Parse(s.url)
			require.NoError(t, err)
			sign := u.Query().Get("sign")
			require.NotEmpty(t, sign)

			res, err := m.AppAPIQuery(context.Background(), nil)
			assert.Nil(t, res)
			require.Error(t, err)
			text := fmt.Sprintf("%v %+v", err, err)
			assert.True(t, strings.HasPrefix(err.Error(), "alipay: "+methodAppAPIQuery+": "), text)
			for _, bad := range []string{sign, url.QueryEscape(sign), sign[:16], "timestamp", "sign=", "?", testToken} {
				assert.NotContains(t, text, bad)
			}
			if name == "error_responder" {
				assert.ErrorIs(t, err, boom)
			} else {
				var opErr *net.OpError
				assert.ErrorAs(t, err, &opErr)
			}
			assert.False(t, errors.Is(err, ErrSignature) || errors.Is(err, ErrBadResponse) || errors.Is(err, ErrInvalidRequest))
		})
	}
}

// TestBodyTooLarge: a body over the 10 MiB read limit is refused, not
// buffered and decoded.
func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewBytesResponder(200, make([]byte, maxResponse+1)))
	res, err := c.AppAPIQuery(context.Background(), nil)
	assert.Nil(t, res)
	var re *ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, ReasonBodyTooLarge, re.Reason)
	assert.ErrorIs(t, err, ErrBadResponse)
}
