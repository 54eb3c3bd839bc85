package alipay

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type hookKey struct{}

// TestWithErrorHook: a hooked client passes each call's final error (after
// its retries) to the hook once, with the caller's ctx; successes and
// other clients derived from the same root are not reported.
func TestWithErrorHook(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	c, mock := newMockClient(t)
	recordSleeps(c)
	var mu sync.Mutex
	var got []error
	var ctxOK []bool
	hook := func(ctx context.Context, err error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, err)
		ctxOK = append(ctxOK, ctx.Value(hookKey{}) == "caller")
	}
	m := c.WithAppAuthToken(testToken)
	hooked := m.withErrorHook(hook)
	assert.Nil(t, m.onError, "the original is unchanged")
	ctx := context.WithValue(context.Background(), hookKey{}, "caller")

	revoked := g.body(methodAppAPIQuery, failNode("20001", "Insufficient Token Permissions", "aop.invalid-app-auth-token", "无效的应用授权令牌"))
	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(200, revoked))
	_, err := hooked.AppAPIQuery(ctx, nil)
	require.True(t, IsAppAuthTokenInvalid(err))
	_, _ = m.AppAPIQuery(ctx, nil)                                // not hooked
	_, _ = hooked.WithAppAuthToken("other").AppAPIQuery(ctx, nil) // another merchant: no hook

	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(502, "<html></html>"))
	_, err502 := hooked.AppAPIFieldQuery(ctx, nil)
	require.Error(t, err502)
	assert.Equal(t, 6, mock.GetTotalCallCount(), "three calls, then three attempts for the 502 read")
	_, errApply := hooked.AppAPIFieldApply(ctx, &AppAPIFieldApplyRequest{AuthFieldApply: testApplication(),
		Pictures: []File{FileFromBytes("login.png", []byte("\x89PNG\r\n\x1a\nfake"))}})
	require.ErrorIs(t, errApply, ErrOutcomeUnknown)

	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(200, g.body(methodAppAPIQuery, nodeAPIQuery)))
	_, err = hooked.AppAPIQuery(ctx, nil)
	require.NoError(t, err)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 3, "one report per failed call, none for a success")
	assert.Equal(t, err502, got[1], "the final error, after the retries")
	assert.Equal(t, errApply, got[2])
	assert.True(t, IsAppAuthTokenInvalid(got[0]))
	assert.Equal(t, []bool{true, true, true}, ctxOK)
}
