package alipaytest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive the real client of the root package against the fake:
// the two sides share no signing or verification code, so agreement here
// means both follow the protocol.

const (
	phoneAPI, phoneField, phonePkg = "getPhoneNumber", "mobile", "20180927110154092444"
)

func newClient(t *testing.T, s *Server, opts ...alipay.Option) *alipay.Client {
	t.Helper()
	c, err := s.NewClient(opts...)
	require.NoError(t, err)
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientQueries(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ctx := testCtx(t)
	m := newClient(t, s).WithAppAuthToken(DefaultMerchantToken)

	info, err := m.MiniBaseInfoQuery(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "小程序示例", info.AppName)
	assert.Equal(t, []string{"example.com"}, info.SafeDomains)
	assert.NotEmpty(t, info.TraceID)

	apis, err := m.AppAPIQuery(ctx, nil)
	require.NoError(t, err)
	require.Len(t, apis.APIs, 2)
	assert.Equal(t, alipay.AuthAPIDTO{APIName: phoneAPI, FieldName: phoneField, PackageCode: phonePkg}, apis.APIs[0])

	scenes, err := m.AppAPISceneQuery(ctx, &alipay.AppAPISceneQueryRequest{APIName: phoneAPI, FieldName: phoneField})
	require.NoError(t, err)
	assert.Equal(t, []alipay.AuthFieldSceneDTO{{SceneCode: "14", SceneDesc: "物流快递"}, {SceneCode: "6", SceneDesc: "汽车服务"}},
		scenes.AuthFieldScene)

	recs, err := m.AppAPIFieldQuery(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, recs.AuthFieldResponse.Records)

	reqs := s.Requests()
	require.Len(t, reqs, 4)
	for _, r := range reqs {
		assert.Equal(t, "10000", r.Code, r.Method)
		assert.Equal(t, DefaultMerchantToken, r.AppAuthToken)
		assert.NotContains(t, r.QueryKeys, "app_auth_token", "the token travels in the body, as in Java")
	}
}

func TestClientModifyApplyAndQuery(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ctx := testCtx(t)
	m := newClient(t, s).WithAppAuthToken(DefaultMerchantToken)

	_, err := m.MiniBaseInfoModify(ctx, &alipay.MiniBaseInfoModifyRequest{MiniCategoryIDs: "XS1011_XS2089"})
	require.NoError(t, err)
	logo := alipay.FileFromBytes("logo.png", pngBytes(t, 180, 180))
	_, err = m.MiniBaseInfoModify(ctx, &alipay.MiniBaseInfoModifyRequest{AppSlogan: "收发快递更方便的小程序", AppLogo: &logo})
	require.NoError(t, err)
	info, err := m.MiniBaseInfoQuery(ctx, nil)
	require.NoError(t, err)
	assert.True(t, info.HasCategory("交通出行", "物流快递"), info.CategoryNames)
	assert.Equal(t, "收发快递更方便的小程序", info.AppSlogan)
	reqs := s.Requests()
	assert.Equal(t, "application/x-www-form-urlencoded", reqs[0].ContentType, "no logo: a form")
	assert.Equal(t, "multipart/form-data", reqs[1].ContentType)
	require.Len(t, reqs[1].Files, 1)
	assert.Equal(t, "app_logo", reqs[1].Files[0].Part)

	apply := &alipay.AppAPIFieldApplyRequest{
		AuthFieldApply: alipay.AuthFieldApply{
			APIName: phoneAPI, FieldName: phoneField, PackageCode: phonePkg, SceneCode: "14",
			QPSAnswer: "预计接口秒级调用量峰值：200 QPS", CustomerAnswer: "有自己的客服团队3人 & 值班", Memo: "收发快递联系人",
		},
		Pictures: []alipay.File{alipay.FileFromBytes("login.png", pngBytes(t, 64, 64)), alipay.FileFromBytes("auth.png", pngBytes(t, 64, 32))},
		Video:    func() *alipay.File { f := alipay.FileFromBytes("flow.mp4", mp4Bytes()); return &f }(),
	}
	_, err = m.AppAPIFieldApply(ctx, apply)
	require.NoError(t, err)
	apps := s.Applications(DefaultMerchantToken)
	require.Len(t, apps, 1)
	assert.Equal(t, "有自己的客服团队3人 & 值班", apps[0].CustomerAnswer)
	var parts []string
	for _, f := range apps[0].Files {
		parts = append(parts, f.Part+"="+f.Filename+" "+f.ContentType)
	}
	assert.Equal(t, []string{"picture_1=login.png image/png", "picture_2=auth.png image/png", "video=flow.mp4 " + apps[0].Files[2].ContentType}, parts)

	_, err = m.AppAPIFieldApply(ctx, apply)
	var apiErr *alipay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "40004", apiErr.Code)
	assert.Equal(t, "AUTH_API_FIELD_IS_AUDITING", apiErr.SubCode)
	assert.True(t, apiErr.Verified)

	require.NoError(t, s.Reject(DefaultMerchantToken, phoneAPI, phoneField, phonePkg, "演示视频未展示授权流程"))
	recs, err := m.AppAPIFieldQuery(ctx, nil)
	require.NoError(t, err)
	got := recs.Records(phoneAPI, phoneField, phonePkg)
	require.Len(t, got, 1)
	assert.Equal(t, alipay.AuthFieldStatusReject, got[0].Status)
	assert.Equal(t, "演示视频未展示授权流程", got[0].Reason)
	assert.Equal(t, DefaultMerchantAppID, got[0].UserAppID)
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ctx := testCtx(t)
	c := newClient(t, s)

	_, err := c.WithAppAuthToken("202405BBrevoked").AppAPIQuery(ctx, nil)
	require.True(t, alipay.IsAppAuthTokenInvalid(err), "%v", err)
	var apiErr *alipay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, apiErr.Verified)

	_, err = c.AppAPIQuery(ctx, nil) // no token: acts on the ISV app
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "APPLICATION_TYPE_NOT_MINIAPP", apiErr.SubCode)

	// The client signs with a key the server does not know for the app.
	rogue := newClient(t, s, alipay.WithPrivateKey(repoFile(t, "keys/alipay_rogue_private_pkcs8.pem")))
	_, err = rogue.WithAppAuthToken(DefaultMerchantToken).AppAPIQuery(ctx, nil)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "isv.invalid-signature", apiErr.SubCode)
	assert.Contains(t, apiErr.SubMsg, "网关生成的验签字符串为：")
	assert.NotContains(t, apiErr.SubMsg, DefaultMerchantToken, "the client redacts the token the gateway quotes")
	assert.Contains(t, apiErr.SubMsg, "app_auth_token=[redacted]&app_id="+DefaultAppID+"&charset=", "the string signed, as signed")
	assert.NotContains(t, err.Error(), "&amp;", "the gateway's HTML escape is undone")

	// The client's clock is 11 minutes off.
	skewed := newClient(t, s, alipay.WithClock(func() time.Time { return time.Now().Add(-11 * time.Minute) }))
	_, err = skewed.WithAppAuthToken(DefaultMerchantToken).AppAPIQuery(ctx, nil)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "isv.invalid-timestamp", apiErr.SubCode)

	// The server signs with another Alipay key than the client trusts.
	other := newTestServer(t, WithAlipayPrivateKey(repoFile(t, "keys/alipay_rotated_private_pkcs8.pem")))
	assert.NotEqual(t, s.AlipayPublicKeyPEM(), other.AlipayPublicKeyPEM())
	wrongKey := newClient(t, other, alipay.WithAlipayPublicKey(s.AlipayPublicKeyPEM()))
	_, err = wrongKey.WithAppAuthToken(DefaultMerchantToken).AppAPIQuery(ctx, nil)
	require.ErrorIs(t, err, alipay.ErrSignature)
	_, err = newClient(t, other).WithAppAuthToken(DefaultMerchantToken).AppAPIQuery(ctx, nil)
	require.NoError(t, err, "with the server's own key the answer verifies")
}

func TestClientSeesFaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ctx := testCtx(t)
	// Call, which the client never retries: each fault shows as it is.
	m := newClient(t, s).WithAppAuthToken(DefaultMerchantToken)
	verifyStep := func(t *testing.T, err error, step alipay.VerifyStep) {
		t.Helper()
		require.ErrorIs(t, err, alipay.ErrSignature)
		var ve *alipay.VerifyError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, step, ve.Step)
	}

	s.InjectFault(Fault{Kind: FaultTamperSignature, Count: 1})
	_, err := m.Call(ctx, methodAPIQuery, nil)
	verifyStep(t, err, alipay.StepBadSignature)

	s.InjectFault(Fault{Kind: FaultMissingSignature, Count: 1})
	_, err = m.Call(ctx, methodAPIQuery, nil)
	verifyStep(t, err, alipay.StepMissingSign)

	s.InjectFault(Fault{Kind: FaultDuplicateNode, Count: 1})
	_, err = m.Call(ctx, methodAPIQuery, nil)
	verifyStep(t, err, alipay.StepDuplicateNode)

	s.InjectFault(Fault{Kind: FaultHTTPStatus, Count: 1})
	_, err = m.Call(ctx, methodAPIQuery, nil)
	require.ErrorIs(t, err, alipay.ErrBadResponse)
	var re *alipay.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusBadGateway, re.StatusCode)

	s.InjectFault(Fault{Kind: FaultUnsignedError, Count: 1})
	_, err = m.Call(ctx, methodAPIQuery, nil)
	var apiErr *alipay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.False(t, apiErr.Verified)
	assert.True(t, alipay.IsTemporary(err))

	// A signed business failure whose signature was stripped stays unverified.
	s.InjectFault(Fault{Kind: FaultMissingSignature, Count: 1})
	_, err = m.WithAppAuthToken("202405BBrevoked").Call(ctx, methodAPIQuery, nil)
	require.ErrorAs(t, err, &apiErr)
	assert.False(t, apiErr.Verified)
	assert.True(t, alipay.IsAppAuthTokenInvalid(err))

	s.InjectFault(Fault{Kind: FaultDisconnect, Count: 1})
	_, err = m.Call(ctx, methodAPIQuery, nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, alipay.ErrSignature))

	s.InjectFault(Fault{Kind: FaultDelay, Delay: time.Hour, Count: 1})
	_, err = m.Call(giveUpInDelay(t, s), methodAPIQuery, nil)
	require.ErrorIs(t, err, context.Canceled)

	_, err = m.Call(ctx, methodAPIQuery, nil)
	require.NoError(t, err, "faults used up")
}

// TestClientNotifyHandler delivers field.changed messages to the client's
// own handler, which verifies them with its own code.
func TestClientNotifyHandler(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	events := make(chan *alipay.AppAPIFieldChanged, 4)
	var calls atomic.Int32
	var handler http.Handler // the client needs the server's keys: built once both exist
	ready := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ready:
			handler.ServeHTTP(w, r)
		case <-r.Context().Done(): // the test failed before the handler was built
		}
	}))
	t.Cleanup(hs.Close)
	s := newTestServer(t, WithNotifyURL(hs.URL), WithNotifyRetry(3, time.Millisecond))
	c := newClient(t, s)
	handler, err := c.NewNotifyHandler(alipay.NotifyRoutes{Other: func(ctx context.Context, n *alipay.Notification) error {
		calls.Add(1)
		ev, err := n.AppAPIFieldChanged()
		if err != nil {
			return err
		}
		events <- ev
		return nil
	}})
	require.NoError(t, err)
	close(ready)

	_, err = c.WithAppAuthToken(DefaultMerchantToken).AppAPIFieldApply(ctx, &alipay.AppAPIFieldApplyRequest{
		AuthFieldApply: alipay.AuthFieldApply{APIName: phoneAPI, FieldName: phoneField, PackageCode: phonePkg, SceneCode: "6",
			QPSAnswer: "200", CustomerAnswer: "有"},
		Pictures: []alipay.File{alipay.FileFromBytes("a.png", pngBytes(t, 8, 8))},
	})
	require.NoError(t, err)
	require.NoError(t, s.Approve(DefaultMerchantToken, phoneAPI, phoneField, phonePkg))
	ev := recv(t, events, "the field.changed event")
	assert.Equal(t, alipay.AuthFieldStatusAgree, ev.Status)
	assert.Equal(t, DefaultMerchantAppID, ev.UserAppID)
	assert.Equal(t, phonePkg, ev.PackageCode)
	waitIdle(t, s)
	require.True(t, s.Notifications()[0].Delivered, s.Notifications()[0].LastError)

	require.NoError(t, s.Redeliver())
	waitIdle(t, s)
	n := s.Notifications()[0]
	assert.Equal(t, 2, n.Attempts)
	assert.True(t, n.Delivered, "the duplicate is answered success")
	assert.EqualValues(t, 1, calls.Load(), "the handler deduplicated the redelivery")
	assert.True(t, strings.HasPrefix(n.Form.Get("notify_id"), time.Now().In(time.FixedZone("", 8*3600)).Format("2006")))
}

// TestConcurrentUse runs clients, test control and accessors at once; run
// with -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithAutoAudit(0, nil))
	ctx := testCtx(t)
	m := newClient(t, s).WithAppAuthToken(DefaultMerchantToken)
	done := make(chan error, 8)
	for i := 0; i < 6; i++ {
		go func() {
			var err error
			for j := 0; j < 4 && err == nil; j++ {
				_, err = m.AppAPIFieldQuery(ctx, nil)
				if err == nil {
					_, err = m.MiniBaseInfoQuery(ctx, nil)
				}
			}
			done <- err
		}()
	}
	go func() {
		for j := 0; j < 4; j++ {
			s.InjectFault(Fault{Method: "alipay.trade.pay", Kind: FaultDelay})
			_ = s.Requests()
			_ = s.Applications(DefaultMerchantToken)
			_ = s.Notifications()
		}
		done <- nil
	}()
	go func() {
		_, err := m.AppAPIFieldApply(ctx, &alipay.AppAPIFieldApplyRequest{
			AuthFieldApply: alipay.AuthFieldApply{APIName: phoneAPI, FieldName: phoneField, PackageCode: phonePkg, SceneCode: "14",
				QPSAnswer: "200", CustomerAnswer: "有"},
			Pictures: []alipay.File{alipay.FileFromBytes("a.png", pngBytes(t, 8, 8))},
		})
		done <- err
	}()
	for i := 0; i < 8; i++ {
		require.NoError(t, recv(t, done, "the concurrent users"))
	}
	assert.Equal(t, 49, s.RequestCount(""))
}

// TestClientClassifiesInjectedFaults checks that what the fake injects is
// what a client's retry rule sees.
func TestClientClassifiesInjectedFaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ctx := testCtx(t)
	m := newClient(t, s).WithAppAuthToken(DefaultMerchantToken)
	var apiErr *alipay.APIError

	require.NoError(t, s.InjectFault(Fault{Kind: FaultUnknownError, Count: 1}))
	_, err := m.Call(ctx, methodAPIQuery, nil)
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, apiErr.Verified, "a signed 20000")
	assert.True(t, alipay.IsTemporary(err))

	require.NoError(t, s.InjectFault(Fault{Kind: FaultCallLimited, Count: 1}))
	_, err = m.Call(ctx, methodAPIQuery, nil)
	assert.True(t, alipay.IsRateLimited(err), "%v", err)

	require.NoError(t, s.InjectFault(Fault{Kind: FaultDropRequest, Count: 1}))
	_, err = m.Call(ctx, methodAPIQuery, nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, alipay.ErrSignature))
}
