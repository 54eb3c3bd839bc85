package merchanttest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refreshers is how many goroutines per replica refresh at once.
const refreshers = 8

func clientCases(gw *gateway) []pairCase {
	return []pairCase{
		{"ForMerchantRefusesCancelled", func(t *testing.T, a, b alipay.MerchantStore) { testCancelled(t, gw, a, b) }},
		{"TokenErrorMarksMerchant", func(t *testing.T, a, b alipay.MerchantStore) { testTokenError(t, gw, a, b) }},
		{"TokenErrorAfterRotationNotMarked", func(t *testing.T, a, b alipay.MerchantStore) { testRotated(t, gw, a, b) }},
		{"ConcurrentRefreshOneCall", func(t *testing.T, a, b alipay.MerchantStore) { testConcurrentRefresh(t, gw, a, b) }},
		{"ExpiredLeaseTakenOver", func(t *testing.T, a, b alipay.MerchantStore) { testExpiredLease(t, gw, a, b) }},
		{"DeadRefreshTokenMarks", func(t *testing.T, a, b alipay.MerchantStore) { testDeadRefresh(t, gw, a, b) }},
	}
}

// authorized records a fresh authorization of a new merchant through c.
func authorized(t *testing.T, gw *gateway, c *alipay.Client, s alipay.MerchantStore) *alipay.Merchant {
	t.Helper()
	appID := newAppID(t)
	m, err := c.RecordAuthorization(context.Background(), s, alipay.Authorization{
		Token: gw.authorize(t, appID), Source: "merchanttest", Code: "code-" + appID,
	})
	require.NoError(t, err)
	require.Equal(t, alipay.MerchantAuthorized, m.State)
	return m
}

// callFor makes one call on behalf of appID through a ForMerchant client.
func callFor(t *testing.T, c *alipay.Client, s alipay.MerchantStore, appID string) error {
	t.Helper()
	mc, err := c.ForMerchant(context.Background(), s, appID)
	if err != nil {
		return err
	}
	_, err = mc.Call(context.Background(), methodInfo, nil)
	return err
}

func testCancelled(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	c := gw.client(t)
	m := authorized(t, gw, c, a)
	require.NoError(t, callFor(t, c, b, m.AppID), "an authorized merchant's call")
	_, err := c.SetMerchantState(context.Background(), a, m.AppID, alipay.MerchantCancelled, "alipay.open.auth.appauth.cancelled")
	require.NoError(t, err)

	err = callFor(t, c, b, m.AppID)
	var se *alipay.MerchantStateError
	require.True(t, errors.As(err, &se), "a cancelled merchant: %v", err)
	assert.Equal(t, alipay.MerchantCancelled, se.State)
	assert.Equal(t, "alipay.open.auth.appauth.cancelled", se.Reason)
	assert.True(t, alipay.IsReauthorizationNeeded(err))

	rec := get(t, b, m.AppID)
	assert.Equal(t, alipay.MerchantCancelled, rec.State)
	assert.Equal(t, "alipay.open.auth.appauth.cancelled", rec.Reason, "the record says why")
	assert.True(t, rec.AppAuthToken.Equal(m.AppAuthToken), "cancelling keeps the token")
	require.GreaterOrEqual(t, len(rec.History), 2)
	assert.Equal(t, alipay.MerchantAuthorized, rec.History[len(rec.History)-2].State)
	assert.Equal(t, alipay.MerchantCancelled, rec.History[len(rec.History)-1].State)
}

func testTokenError(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	c := gw.client(t)
	m := authorized(t, gw, c, a)
	gw.revoke(m.AppID)
	err := callFor(t, c, b, m.AppID)
	require.Error(t, err)
	assert.True(t, alipay.IsReauthorizationNeeded(err), "a 20001: %v", err)
	assert.True(t, alipay.IsAppAuthTokenInvalid(err))

	rec := get(t, a, m.AppID)
	assert.Equal(t, alipay.MerchantNeedsReauthorization, rec.State, "marked before the call returned")
	assert.Contains(t, rec.Reason, "aop.invalid-app-auth-token")
	assert.Contains(t, rec.Reason, methodInfo)
	err = callFor(t, c, a, m.AppID)
	var se *alipay.MerchantStateError
	require.True(t, errors.As(err, &se), "the next call: %v", err)
	assert.Equal(t, alipay.MerchantNeedsReauthorization, se.State)

	// A new authorization makes the merchant usable again.
	_, err = c.RecordAuthorization(context.Background(), b, alipay.Authorization{Token: gw.authorize(t, m.AppID), Source: "notify"})
	require.NoError(t, err)
	assert.NoError(t, callFor(t, c, a, m.AppID))
}

func testRotated(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	c := gw.client(t)
	m := authorized(t, gw, c, a)
	old, err := c.ForMerchant(context.Background(), a, m.AppID)
	require.NoError(t, err)
	// Another replica refreshes: the old token dies, the store holds the new one.
	_, err = gw.client(t).RefreshMerchant(context.Background(), b, m.AppID)
	require.NoError(t, err)
	_, err = old.Call(context.Background(), methodInfo, nil)
	require.Error(t, err)
	assert.True(t, alipay.IsReauthorizationNeeded(err))
	assert.Equal(t, alipay.MerchantAuthorized, get(t, a, m.AppID).State, "a newer token is stored: not marked")
	assert.NoError(t, callFor(t, c, a, m.AppID), "a new ForMerchant client works")
}

func testConcurrentRefresh(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	c1, c2 := gw.client(t), gw.client(t) // two replicas
	m := authorized(t, gw, c1, a)
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]*alipay.Merchant, 2*refreshers)
		errs    = make([]error, 2*refreshers)
	)
	for i := range results {
		c, s := c1, a
		if i%2 == 1 {
			c, s = c2, b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = c.RefreshMerchant(context.Background(), s, m.AppID)
		}()
	}
	close(start)
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i], "refresh %d", i)
		assert.True(t, results[i].AppAuthToken.Equal(results[0].AppAuthToken), "refresh %d got another token", i)
	}
	assert.Equal(t, 1, gw.refreshCalls(m.AppID), "one refresh reached Alipay")
	assert.False(t, results[0].AppAuthToken.Equal(m.AppAuthToken), "the token changed")
	assert.True(t, gw.live(results[0].AppAuthToken.Reveal()), "the stored token works")
	rec := get(t, b, m.AppID)
	assert.True(t, rec.AppAuthToken.Equal(results[0].AppAuthToken), "the store holds it")
	assert.Zero(t, rec.Refresh, "the lease is dropped")
	assert.False(t, rec.RefreshedAt.IsZero())
	assert.NoError(t, callFor(t, c2, a, m.AppID))
}

func testExpiredLease(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	c := gw.client(t)
	m := authorized(t, gw, c, a)
	m.Refresh = alipay.RefreshLease{Owner: "a dead replica", Until: time.Now().Add(-time.Second)}
	put(t, a, m)
	got, err := c.RefreshMerchant(context.Background(), b, m.AppID)
	require.NoError(t, err)
	assert.Equal(t, 1, gw.refreshCalls(m.AppID))
	assert.False(t, got.AppAuthToken.Equal(m.AppAuthToken))
	assert.Zero(t, get(t, a, m.AppID).Refresh)
}

func testDeadRefresh(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	c := gw.client(t)
	m := authorized(t, gw, c, a)
	gw.refuseRefresh(m.AppID)
	_, err := c.RefreshMerchant(context.Background(), b, m.AppID)
	var apiErr *alipay.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, alipay.SubCodeRefreshTokenNotValid, apiErr.SubCode)
	rec := get(t, a, m.AppID)
	assert.Equal(t, alipay.MerchantNeedsReauthorization, rec.State)
	assert.Contains(t, rec.Reason, alipay.SubCodeRefreshTokenNotValid)
	assert.Zero(t, rec.Refresh)
	_, err = c.RefreshMerchant(context.Background(), a, m.AppID)
	assert.True(t, alipay.IsReauthorizationNeeded(err), "a marked merchant is refused: %v", err)
}
