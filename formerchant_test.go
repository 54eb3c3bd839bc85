package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byMethod answers each Alipay method with its own body and counts calls.
func byMethod(t *testing.T, mock *httpmock.MockTransport, bodies map[string]string) *atomic.Int32 {
	t.Helper()
	var n atomic.Int32
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		q, _ := url.ParseQuery(r.URL.RawQuery)
		body, ok := bodies[q.Get("method")]
		if !ok {
			t.Errorf("unexpected method %s", q.Get("method"))
		}
		return httpmock.NewStringResponse(http.StatusOK, body), nil
	})
	return &n
}

// storedMerchant returns a store holding testMerchant authorized with testToken.
func storedMerchant(t *testing.T, c *Client) *MemoryMerchantStore {
	t.Helper()
	s := NewMemoryMerchantStore()
	_, err := c.RecordAuthorization(context.Background(), s, testAuthorization(testToken, fixedTime))
	require.NoError(t, err)
	return s
}

// TestForMerchantMarking covers the answers a ForMerchant client can get:
// only a signed 20001, or an unsigned one the token query confirms, marks
// the merchant.
func TestForMerchantMarking(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	fail := func(sub string) string {
		return failNode("20001", "Insufficient Token Permissions", sub, "无效的应用授权令牌")
	}
	unsigned := func(node string) string { return `{"` + nodeKey(methodMiniBaseInfoQuery) + `":` + node + `}` }
	queryValid := g.body(methodAuthTokenAppQuery, `{"code":"10000","msg":"Success","status":"valid"}`)
	queryInvalid := g.body(methodAuthTokenAppQuery, `{"code":"10000","msg":"Success","status":"invalid"}`)
	for _, tc := range []struct {
		name   string
		bodies map[string]string
		marked bool
		calls  int32
	}{
		{"signed_20001", map[string]string{methodMiniBaseInfoQuery: g.body(methodMiniBaseInfoQuery, fail("aop.invalid-app-auth-token"))}, true, 1},
		{"signed_timeout", map[string]string{methodMiniBaseInfoQuery: g.body(methodMiniBaseInfoQuery, fail("aop.app-auth-token-time-out"))}, true, 1},
		{"no_api_not_marked", map[string]string{methodMiniBaseInfoQuery: g.body(methodMiniBaseInfoQuery, fail("aop.invalid-app-auth-token-no-api"))}, false, 1},
		{"unsigned_confirmed", map[string]string{methodMiniBaseInfoQuery: unsigned(fail("aop.invalid-app-auth-token")), methodAuthTokenAppQuery: queryInvalid}, true, 2},
		{"unsigned_refuted", map[string]string{methodMiniBaseInfoQuery: unsigned(fail("aop.invalid-app-auth-token")), methodAuthTokenAppQuery: queryValid}, false, 2},
		{"unsigned_query_fails", map[string]string{methodMiniBaseInfoQuery: unsigned(fail("aop.invalid-app-auth-token")),
			methodAuthTokenAppQuery: `{"` + nodeKey(methodAuthTokenAppQuery) + `":` + failNode("40004", "x", SubCodeAuthTokenNotExisted, "") + `}`}, false, 2},
		{"other_error", map[string]string{methodMiniBaseInfoQuery: g.body(methodMiniBaseInfoQuery, failNode("40004", "Business Failed", "APP_INFO_NOT_EXIST", ""))}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			s := storedMerchant(t, c)
			n := byMethod(t, mock, tc.bodies)
			m, err := c.ForMerchant(context.Background(), s, testMerchant)
			require.NoError(t, err)
			_, err = m.MiniBaseInfoQuery(context.Background(), nil)
			var apiErr *APIError
			require.True(t, errors.As(err, &apiErr), "%v", err)
			rec, gerr := s.Get(context.Background(), testMerchant)
			require.NoError(t, gerr)
			assert.Equal(t, tc.calls, n.Load())
			if !tc.marked {
				assert.Equal(t, MerchantAuthorized, rec.State)
				return
			}
			assert.True(t, IsReauthorizationNeeded(err))
			assert.Equal(t, MerchantNeedsReauthorization, rec.State)
			assert.True(t, strings.HasPrefix(rec.Reason, apiErr.SubCode+" on "+methodMiniBaseInfoQuery), rec.Reason)
			assert.Equal(t, testToken, rec.AppAuthToken.Reveal(), "the token is kept")
			_, err = c.ForMerchant(context.Background(), s, testMerchant)
			var se *MerchantStateError
			assert.True(t, errors.As(err, &se))
		})
	}
}

func TestForMerchantRefusals(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	ctx := context.Background()
	s := storedMerchant(t, c)
	_, err := c.ForMerchant(ctx, nil, testMerchant)
	assert.Error(t, err)
	_, err = c.ForMerchant(ctx, s, "")
	assert.Error(t, err)
	_, err = c.ForMerchant(ctx, s, "2021009999999999")
	assert.ErrorIs(t, err, ErrMerchantNotFound)
	m, err := c.ForMerchant(ctx, s, testMerchant)
	require.NoError(t, err)
	assert.Equal(t, c.AppID(), m.AppID())
	assert.NotContains(t, m.String(), testToken)
	assert.Zero(t, mock.GetTotalCallCount())
}

// getErrStore is a MerchantStore whose Get fails with err.
type getErrStore struct {
	MerchantStore
	err error
}

func (s getErrStore) Get(context.Context, string) (*Merchant, error) { return nil, s.err }

// TestRegistryErrorsNameTheMerchantOnce: an unknown merchant reads
// "alipay: <call>: merchant <id> is not in the registry" whatever the store
// said (the memory store's, redisstore's own text), still
// ErrMerchantNotFound; another store failure keeps its text and names the
// id once.
func TestRegistryErrorsNameTheMerchantOnce(t *testing.T) {
	t.Parallel()
	c, _ := newMockClient(t)
	ctx := context.Background()
	const want = "alipay: ForMerchant: merchant " + testMerchant + " is not in the registry"
	for name, store := range map[string]MerchantStore{
		"memory":     NewMemoryMerchantStore(),
		"redisstore": getErrStore{err: fmt.Errorf("redisstore: merchant %s: %w", testMerchant, ErrMerchantNotFound)},
	} {
		_, err := c.ForMerchant(ctx, store, testMerchant)
		assert.ErrorIs(t, err, ErrMerchantNotFound, name)
		assert.EqualError(t, err, want, name)
	}
	_, err := NewMemoryMerchantStore().Get(ctx, testMerchant)
	assert.EqualError(t, err, "alipay: merchant "+testMerchant+" is not in the registry")
	_, err = NewMemoryMerchantStore().Get(ctx, "a\nb")
	assert.EqualError(t, err, `alipay: merchant "a\nb" is not in the registry`)
	_, err = c.SyncMerchantAESKey(ctx, NewMemoryMerchantStore(), testMerchant, false)
	assert.EqualError(t, err, "alipay: SyncMerchantAESKey: merchant "+testMerchant+" is not in the registry")
	_, err = c.RefreshMerchant(ctx, NewMemoryMerchantStore(), testMerchant)
	assert.EqualError(t, err, "alipay: RefreshMerchant: merchant "+testMerchant+" is not in the registry")

	down := errors.New("redisstore: get merchant " + testMerchant + ": dial tcp 127.0.0.1:6379: connection refused")
	_, err = c.ForMerchant(ctx, getErrStore{err: down}, testMerchant)
	assert.ErrorIs(t, err, down)
	assert.Equal(t, 1, strings.Count(err.Error(), testMerchant), err.Error())
	_, err = c.ForMerchant(ctx, getErrStore{err: errors.New("connection refused")}, testMerchant)
	assert.EqualError(t, err, "alipay: ForMerchant "+testMerchant+": connection refused")
}
