package alipay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// routeRig is a NewNotifyHandler over a memory registry, with a loopback
// gateway answering alipay.open.auth.token.app.query with queryNode.
type routeRig struct {
	c       *Client
	store   *flakyStore
	srv     *httptest.Server
	logs    *notifyLogBuffer
	queries atomic.Int32
	mu      sync.Mutex
	node    string // the token query's answer node
}

// flakyStore is a MerchantStore whose Put fails while fail is set.
type flakyStore struct {
	MerchantStore
	fail atomic.Bool
}

func (s *flakyStore) Put(ctx context.Context, m *Merchant) error {
	if s.fail.Load() {
		return errors.New("store unavailable")
	}
	return s.MerchantStore.Put(ctx, m)
}

// newRouteRig builds the rig; the query answers "invalid" until setQuery.
func newRouteRig(t *testing.T, routes NotifyRoutes, opts ...NotifyOption) *routeRig {
	t.Helper()
	rig := &routeRig{store: &flakyStore{MerchantStore: NewMemoryMerchantStore()},
		node: `{"code":"10000","msg":"Success","status":"invalid"}`}
	gw := newLoopbackGateway(t, func(r *gatewayRequest) (string, bool) {
		rig.queries.Add(1)
		rig.mu.Lock()
		defer rig.mu.Unlock()
		return rig.node, false
	})
	logger, logs := notifyDebugLogger()
	rig.c, rig.logs = gw.client(t, WithClock(fixedClock), WithLogger(logger)), logs
	h, err := rig.c.NewNotifyHandler(routes, append([]NotifyOption{WithNotifyMerchantStore(rig.store)}, opts...)...)
	require.NoError(t, err)
	rig.srv = notifyServe(t, h)
	return rig
}

func (rig *routeRig) setQuery(node string) {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	rig.node = node
}

// post signs params as Alipay and posts them.
func (rig *routeRig) post(t *testing.T, params map[string]string) (int, string) {
	t.Helper()
	return notifyPost(t, rig.srv, signNotification(t, testNotifySigner(t), params).Encode())
}

// record stores an authorized merchant appID holding token.
func (rig *routeRig) record(t *testing.T, appID, token string) *Merchant {
	t.Helper()
	a := testAuthorization(token, fixedTime.Add(-time.Hour))
	a.Token.AuthAppID = appID
	m, err := rig.c.RecordAuthorization(context.Background(), rig.store, a)
	require.NoError(t, err)
	return m
}

// messageParams returns a message-service message msgMethod to appID with
// biz_content biz, sent at fixedTime.
func messageParams(notifyID, msgMethod, appID, biz string) map[string]string {
	p := fieldChangedParams(notifyID)
	p["msg_method"], p["app_id"], p["biz_content"] = msgMethod, appID, biz
	return p
}

// TestNotifyRouteAuthStored: a signed authorization notify stores the
// token (At = auth_time, the code's digest) before "success", and the
// typed event carries the stored record.
func TestNotifyRouteAuthStored(t *testing.T) {
	t.Parallel()
	var seen []*AppAuthNotify
	var rig *routeRig
	rig = newRouteRig(t, NotifyRoutes{AppAuthNotify: func(ctx context.Context, n *Notification, ev *AppAuthNotify) error {
		m, err := rig.store.Get(ctx, katMerchantApp)
		require.NoError(t, err)
		assert.True(t, m.AppAuthToken.Equal(NewSecret(authNotifyToken)), "stored before the function runs")
		seen = append(seen, ev)
		return nil
	}})
	status, ack := rig.post(t, authNotifyParams("2024052000222205656083451410597740", authNotifyToken))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "success", ack)
	require.Len(t, seen, 1)

	m, err := rig.store.Get(context.Background(), katMerchantApp)
	require.NoError(t, err)
	assert.Equal(t, MerchantAuthorized, m.State)
	assert.Equal(t, authNotifyRefresh, m.RefreshToken.Reveal())
	assert.Equal(t, "2088000000000001", m.UserID)
	assert.True(t, m.AuthorizedAt.Equal(fixedTime), "At is auth_time")
	assert.Equal(t, authCodeDigest(authNotifyCode), m.AuthCodeDigest)
	assert.Equal(t, "notify", m.History[len(m.History)-1].Reason)
	require.NotNil(t, seen[0].Merchant)
	assert.Equal(t, m.Version, seen[0].Merchant.Version)
	_, err = rig.c.ForMerchant(context.Background(), rig.store, katMerchantApp)
	assert.NoError(t, err)
	assertNoAuthSecrets(t, rig.logs.String(), "logs")
	assert.Zero(t, rig.queries.Load())
}

// TestNotifyRouteAuthStoreFails: when the token cannot be stored the
// answer is "fail" (Alipay retries) and the function does not run; the
// retry is processed once the store is back.
func TestNotifyRouteAuthStoreFails(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	rig := newRouteRig(t, NotifyRoutes{AppAuthNotify: func(context.Context, *Notification, *AppAuthNotify) error {
		calls.Add(1)
		return nil
	}})
	params := authNotifyParams("2024052000222205656083451410597741", authNotifyToken)
	rig.store.fail.Store(true)
	status, ack := rig.post(t, params)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "fail", ack)
	assert.Zero(t, calls.Load())
	_, err := rig.store.Get(context.Background(), katMerchantApp)
	assert.ErrorIs(t, err, ErrMerchantNotFound)

	rig.store.fail.Store(false)
	status, ack = rig.post(t, params)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "success", ack)
	assert.Equal(t, int32(1), calls.Load())
	assertNoAuthSecrets(t, rig.logs.String(), "logs")
}

// TestNotifyRouteReplayOnce: a replayed notify_id is acknowledged and not
// processed again.
func TestNotifyRouteReplayOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	rig := newRouteRig(t, NotifyRoutes{AppAuthNotify: func(context.Context, *Notification, *AppAuthNotify) error {
		calls.Add(1)
		return nil
	}})
	params := authNotifyParams("2024052000222205656083451410597742", authNotifyToken)
	for i := 0; i < 3; i++ {
		status, ack := rig.post(t, params)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "success", ack)
	}
	assert.Equal(t, int32(1), calls.Load())
	m, err := rig.store.Get(context.Background(), katMerchantApp)
	require.NoError(t, err)
	assert.EqualValues(t, 1, m.Version, "written once")
}

// TestNotifyRouteRedirectSeesNotifyCode: the redirect bringing the code the
// notify spent (AUTH_CODE_NOT_VALID at the gateway) counts as success,
// because the notify stored the code's digest.
func TestNotifyRouteRedirectSeesNotifyCode(t *testing.T) {
	t.Parallel()
	redirect := newRedirectRig(t, http.StatusOK, failNode("40004", "Business Failed", SubCodeAuthCodeNotValid, "授权码已使用"))
	c := newNotifyClient(t)
	h, err := c.NewNotifyHandler(NotifyRoutes{}, WithNotifyMerchantStore(redirect.store))
	require.NoError(t, err)
	p := authNotifyParams("2024052000222205656083451410597743", authNotifyToken)
	p["biz_content"] = strings.Replace(p["biz_content"], authNotifyCode, testCode, 1)
	status, ack := notifyPost(t, notifyServe(t, h), signNotification(t, testNotifySigner(t), p).Encode())
	require.Equal(t, http.StatusOK, status, ack)

	rec := redirect.get(redirect.link(t))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.True(t, redirect.last.AlreadyStored)
	require.Len(t, redirect.last.Merchants, 1)
	assert.Equal(t, katMerchantApp, redirect.last.Merchants[0].AppID)
}

// TestNotifyRouteCancelConfirmed: a cancellation confirmed by the token
// query (status invalid, or AUTH_TOKEN_NOT_EXISTED) marks the merchant
// cancelled, keeps its token and history, and ForMerchant then refuses it
// with a typed error.
func TestNotifyRouteCancelConfirmed(t *testing.T) {
	t.Parallel()
	for name, node := range map[string]string{
		"status invalid": `{"code":"10000","msg":"Success","status":"invalid"}`,
		"not existed":    failNode("40004", "Business Failed", SubCodeAuthTokenNotExisted, "token不存在"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var seen *AuthAppAuthCancelled
			rig := newRouteRig(t, NotifyRoutes{AuthAppAuthCancelled: func(_ context.Context, _ *Notification, ev *AuthAppAuthCancelled) error {
				seen = ev
				return nil
			}})
			rig.setQuery(node)
			before := rig.record(t, katMerchantApp, testToken)
			status, ack := rig.post(t, messageParams("2024052000262171013056307524600501", MsgMethodAuthAppAuthCancelled, testAppID,
				`{"auth_app_id":"`+katMerchantApp+`"}`))
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "success", ack)
			assert.Equal(t, int32(1), rig.queries.Load())
			require.NotNil(t, seen)
			assert.True(t, seen.Confirmed)

			m, err := rig.store.Get(context.Background(), katMerchantApp)
			require.NoError(t, err)
			assert.Equal(t, MerchantCancelled, m.State)
			assert.Equal(t, MsgMethodAuthAppAuthCancelled, m.Reason)
			assert.True(t, m.AppAuthToken.Equal(before.AppAuthToken), "the token stays")
			require.Len(t, m.History, len(before.History)+1, "history kept")
			for i, e := range before.History {
				assert.True(t, e.At.Equal(m.History[i].At) && e.State == m.History[i].State && e.Reason == m.History[i].Reason, "event %d kept", i)
			}
			_, err = rig.c.ForMerchant(context.Background(), rig.store, katMerchantApp)
			var se *MerchantStateError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, MerchantCancelled, se.State)
			assert.True(t, IsReauthorizationNeeded(err))
		})
	}
}

// TestNotifyRouteCancelNotConfirmed: a still valid token marks nothing
// (success); a failed query answers fail (Alipay retries); an unknown
// merchant is acknowledged without a query.
func TestNotifyRouteCancelNotConfirmed(t *testing.T) {
	t.Parallel()
	rig := newRouteRig(t, NotifyRoutes{})
	rig.record(t, katMerchantApp, testToken)
	cancel := func(id string) (int, string) {
		return rig.post(t, messageParams(id, MsgMethodAuthAppAuthCancelled, testAppID, `{"auth_app_id":"`+katMerchantApp+`"}`))
	}
	rig.setQuery(`{"code":"10000","msg":"Success","status":"valid"}`)
	status, ack := cancel("2024052000262171013056307524600502")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "success", ack)
	rig.setQuery(failNode("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙"))
	status, ack = cancel("2024052000262171013056307524600503")
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "fail", ack)
	m, err := rig.store.Get(context.Background(), katMerchantApp)
	require.NoError(t, err)
	assert.Equal(t, MerchantAuthorized, m.State, "not confirmed: not marked")

	queries := rig.queries.Load()
	status, ack = rig.post(t, messageParams("2024052000262171013056307524600504", MsgMethodAuthAppAuthCancelled, testAppID,
		`{"auth_app_id":"2021004000000077"}`))
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "success", ack, "an unknown merchant's cancel is acknowledged")
	assert.Equal(t, queries, rig.queries.Load(), "no query for an unknown merchant")
}

// TestNotifyRouteUserAuthCancelled: the user-authorization message is
// typed and leaves the registry alone.
func TestNotifyRouteUserAuthCancelled(t *testing.T) {
	t.Parallel()
	var seen *AuthUserAuthCancelled
	rig := newRouteRig(t, NotifyRoutes{AuthUserAuthCancelled: func(_ context.Context, n *Notification, ev *AuthUserAuthCancelled) error {
		seen = ev
		return nil
	}})
	status, _ := rig.post(t, messageParams("2024052000262171013056307524600505", MsgMethodAuthUserAuthCancelled, testAppID,
		`{"cancel_time":1716182055000,"user_id":"2088000000000003","app_id":"`+testAppID+`"}`))
	require.Equal(t, http.StatusOK, status)
	require.NotNil(t, seen)
	assert.Equal(t, "2088000000000003", seen.UserID)
	assert.Equal(t, testAppID, seen.AppID)
	assert.Zero(t, rig.store.MerchantStore.(*MemoryMerchantStore).Len())
}

// TestNotifyRouteDispatch: typed routes get their messages, Other the rest
// (also a message whose typed route is nil); a typed payload that does not
// decode answers fail.
func TestNotifyRouteDispatch(t *testing.T) {
	t.Parallel()
	var fields, others atomic.Int32
	c := newNotifyClient(t)
	h, err := c.NewNotifyHandler(NotifyRoutes{
		AppAPIFieldChanged: func(context.Context, *Notification, *AppAPIFieldChanged) error { fields.Add(1); return nil },
		Other:              func(context.Context, *Notification) error { others.Add(1); return nil },
	})
	require.NoError(t, err)
	srv := notifyServe(t, h)
	key := testNotifySigner(t)
	post := func(p map[string]string) int {
		status, _ := notifyPost(t, srv, signNotification(t, key, p).Encode())
		return status
	}
	assert.Equal(t, http.StatusOK, post(fieldChangedParams("2024052000262171013056307524600601")))
	assert.Equal(t, http.StatusOK, post(messageParams("2024052000262171013056307524600602", MsgMethodAuthUserAuthCancelled, testAppID, `{"user_id":"2088"}`)))
	assert.Equal(t, http.StatusOK, post(authNotifyParams("2024052000222205656083451410597744", authNotifyToken)))
	assert.Equal(t, int32(1), fields.Load())
	assert.Equal(t, int32(2), others.Load())
	assert.Equal(t, http.StatusInternalServerError, post(messageParams("2024052000262171013056307524600603", MsgMethodAppAPIFieldChanged, testAppID, `[1]`)))
}

// TestNewNotifyHandlerBuildErrors: configuration errors come back when the
// handler is built.
func TestNewNotifyHandlerBuildErrors(t *testing.T) {
	t.Parallel()
	c := newNotifyClient(t)
	other, err := NewClient("2021000000000099", baseOptions(t)...)
	require.NoError(t, err)
	v, err := NewNotifyVerifier(testAppID, WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")))
	require.NoError(t, err)
	ok := NotifyRoutes{Other: func(context.Context, *Notification) error { return nil }}
	store := NewMemoryMerchantStore()
	for name, build := range map[string]func() (http.Handler, error){
		"nil option":           func() (http.Handler, error) { return c.NewNotifyHandler(ok, nil) },
		"empty app id":         func() (http.Handler, error) { return c.NewNotifyHandler(ok, WithNotifyAppIDs("2021004000000002", "")) },
		"bad lease":            func() (http.Handler, error) { return c.NewNotifyHandler(ok, WithNotifyLease(0)) },
		"bad max bytes":        func() (http.Handler, error) { return c.NewNotifyHandler(ok, WithNotifyMaxBytes(1)) },
		"nil app id func":      func() (http.Handler, error) { return c.NewNotifyHandler(ok, WithNotifyAppIDFunc(nil)) },
		"nil merchant store":   func() (http.Handler, error) { return c.NewNotifyHandler(ok, WithNotifyMerchantStore(nil)) },
		"nil dedupe store":     func() (http.Handler, error) { return c.NewNotifyHandler(ok, WithDedupeStore(nil)) },
		"no routes":            func() (http.Handler, error) { return c.NewNotifyHandler(NotifyRoutes{}) },
		"verifier, no confirm": func() (http.Handler, error) { return v.NewNotifyHandler(ok, WithNotifyMerchantStore(store)) },
		"confirm of other app": func() (http.Handler, error) {
			return c.NewNotifyHandler(ok, WithNotifyMerchantStore(store), WithNotifyConfirmClient(other))
		},
		"confirm without key": func() (http.Handler, error) { return c.NewNotifyHandler(ok, WithNotifyConfirmClient(v.c)) },
	} {
		h, err := build()
		assert.Error(t, err, name)
		assert.Nil(t, h, name)
	}
	h, err := v.NewNotifyHandler(ok, WithNotifyMerchantStore(store), WithNotifyConfirmClient(c.WithAppAuthToken(testToken)))
	assert.NoError(t, err, "a merchant client's ISV side confirms")
	assert.NotNil(t, h)
}

// TestNotifyRouteAcceptsNewMerchants: app_ids of merchants added to the
// registry, or accepted by the function, while the handler runs are
// accepted without rebuilding it; a failing lookup answers 503 fail.
func TestNotifyRouteAcceptsNewMerchants(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		allowed = map[string]bool{}
		broken  atomic.Bool
	)
	fn := func(_ context.Context, id string) (bool, error) {
		if broken.Load() {
			return false, errors.New("table down")
		}
		mu.Lock()
		defer mu.Unlock()
		return allowed[id], nil
	}
	var calls atomic.Int32
	rig := newRouteRig(t, NotifyRoutes{Other: func(context.Context, *Notification) error { calls.Add(1); return nil }}, WithNotifyAppIDFunc(fn))
	field := func(id, appID string) int {
		status, _ := rig.post(t, messageParams(id, MsgMethodAppAPIFieldChanged, appID, fieldChangedParams("x")["biz_content"]))
		return status
	}
	const viaStore, viaFunc = "2021004000000011", "2021004000000012"
	assert.Equal(t, http.StatusBadRequest, field("2024052000262171013056307524600701", viaStore))
	assert.Equal(t, http.StatusBadRequest, field("2024052000262171013056307524600702", viaFunc))
	rig.record(t, viaStore, testToken)
	mu.Lock()
	allowed[viaFunc] = true
	mu.Unlock()
	assert.Equal(t, http.StatusOK, field("2024052000262171013056307524600703", viaStore), "added to the registry")
	assert.Equal(t, http.StatusOK, field("2024052000262171013056307524600704", viaFunc), "accepted by the function")
	broken.Store(true)
	assert.Equal(t, http.StatusServiceUnavailable, field("2024052000262171013056307524600705", "2021004000000013"))
	assert.Equal(t, int32(2), calls.Load())
	assert.Contains(t, rig.logs.String(), "app id lookup failed")
}
