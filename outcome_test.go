package alipay

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// methodTokenApp is the token exchange, a write.
const methodTokenApp = "alipay.open.auth.token.app"

// modifyWrite is one write through Call: the token exchange, even marked
// safe (a known write is never retried).
func modifyWrite(ctx context.Context, c *Client) error {
	ctx = ContextWithRetry(ctx, CallRetry{Safe: true})
	_, err := c.Call(ctx, methodTokenApp, map[string]string{"grant_type": "authorization_code", "code": "P9a8"})
	return err
}

// TestOutcomeUnknownMarksWrites: a write that may have reached Alipay
// without a usable answer is marked ErrOutcomeUnknown, with its cause
// inside; a definite refusal is not, and neither is a read.
func TestOutcomeUnknownMarksWrites(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	node := func(code, sub string) scripted {
		return scripted{status: 200, body: g.body(methodTokenApp, failNode(code, "x", sub, "y"))}
	}
	for _, tc := range []struct {
		name    string
		answer  scripted
		unknown bool
		cause   func(*testing.T, error)
	}{
		{name: "connection reset after sending", answer: scripted{err: errReset}, unknown: true,
			cause: func(t *testing.T, err error) { var op *net.OpError; assert.ErrorAs(t, err, &op) }},
		{name: "HTTP 502 page", answer: scripted{status: 502, body: "<html>bad gateway</html>"}, unknown: true,
			cause: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrBadResponse) }},
		{name: "HTML on 200", answer: scripted{status: 200, body: "<html>busy</html>"}, unknown: true,
			cause: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrBadResponse) }},
		{name: "20000 unknow-error", answer: node("20000", "isp.unknow-error"), unknown: true,
			cause: func(t *testing.T, err error) { assert.True(t, IsTemporary(err)) }},
		{name: "SYSTEM_ERROR", answer: node("20000", "SYSTEM_ERROR"), unknown: true,
			cause: func(t *testing.T, err error) { var e *APIError; assert.ErrorAs(t, err, &e) }},
		{name: "bad signature", answer: scripted{status: 200, body: `{"` + nodeKey(methodTokenApp) + `":{"code":"10000"},"sign":"` + g.sign("{}") + `"}`},
			unknown: true, cause: func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrSignature) }},
		{name: "40004 refusal", answer: node("40004", "isv.code-invalid")},
		{name: "40005 rate limit", answer: node("40005", "isv.app-call-limited")},
		{name: "20001 token", answer: node("20001", "aop.invalid-app-auth-token")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			sg := script(t, mock, tc.answer)
			err := modifyWrite(context.Background(), c.WithAppAuthToken(testToken))
			require.Error(t, err)
			assert.Equal(t, 1, sg.count(), "a write is never retried")
			assert.Equal(t, tc.unknown, errors.Is(err, ErrOutcomeUnknown), "%v", err)
			if tc.unknown {
				assert.Contains(t, err.Error(), "[outcome unknown:")
				tc.cause(t, err)
			}
			assert.NotContains(t, err.Error(), testToken)
		})
	}
}

// TestOutcomeUnknownNotSent: a write that certainly never left (nothing
// listens; refused before sending) is not marked.
func TestOutcomeUnknownNotSent(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	c, err := NewClient(testAppID, append(baseOptions(t), WithGatewayURL("http://"+addr+"/gateway.do"))...)
	require.NoError(t, err)
	err = modifyWrite(context.Background(), c)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown, "%v", err)

	err = modifyWrite(context.Background(), c.WithAppAuthToken(""))
	require.ErrorIs(t, err, ErrInvalidRequest)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = modifyWrite(ctx, c)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown, "cancelled before sending")
}

// TestOutcomeUnknownCancelledInFlight: a caller giving up after the
// request left does not know whether it was applied.
func TestOutcomeUnknownCancelledInFlight(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		cancel()
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	err := modifyWrite(ctx, c)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, ErrOutcomeUnknown)
}

// TestOutcomeUnknownCall: Call marks failures of methods that do not read
// by name, unless the caller said the method is safe.
func TestOutcomeUnknownCall(t *testing.T) {
	t.Parallel()
	for method, unknown := range map[string]bool{
		"alipay.open.mini.version.audit.apply": true,
		"alipay.open.app.api.field.query":      false,
		"alipay.open.auth.app.aes.get":         false,
	} {
		c, mock := newMockClient(t, WithRetry(1, 0, 0))
		script(t, mock, scripted{status: 502, body: "<html></html>"})
		_, err := c.Call(context.Background(), method, nil)
		assert.Equal(t, unknown, errors.Is(err, ErrOutcomeUnknown), method)
		_, err = c.Call(ContextWithRetry(context.Background(), CallRetry{Safe: true}), method, nil)
		assert.NotErrorIs(t, err, ErrOutcomeUnknown, "marked safe: a read")
	}
}
