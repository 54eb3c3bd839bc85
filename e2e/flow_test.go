// Package e2e holds the end-to-end tests: the exported API of package alipay
// against the fake gateway of package alipaytest over loopback HTTP, as a
// user's tests would run it. It has no code of its own besides tests; the
// in-package tests of the root package see its internals instead.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// End-to-end tests: the real client against the fake gateway of package
// alipaytest, over loopback HTTP, with no mocks. The two sides share no
// signing or verification code, so agreement means both follow the
// protocol.

const (
	e2eAPI, e2eField, e2ePkg = "getPhoneNumber", "mobile", "20180927110154092444"
	e2eFieldQuery            = "alipay.open.app.api.field.query"
)

func e2eServer(t *testing.T, opts ...alipaytest.Option) *alipaytest.Server {
	t.Helper()
	s, err := alipaytest.NewServer(opts...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func e2eClient(t *testing.T, s *alipaytest.Server, opts ...alipay.Option) *alipay.Client {
	t.Helper()
	c, err := s.NewClient(opts...)
	require.NoError(t, err)
	return c
}

func e2eCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// e2ePNG encodes a real w×h PNG.
func e2ePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(0, 0, color.Gray{Y: 7})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// e2eMP4 is the start of an MP4 file: an ftyp box.
func e2eMP4() []byte { return []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom") }

func e2eApply(pictures ...alipay.File) *alipay.AppAPIFieldApplyRequest {
	return &alipay.AppAPIFieldApplyRequest{
		AuthFieldApply: alipay.AuthFieldApply{
			APIName: e2eAPI, FieldName: e2eField, PackageCode: e2ePkg, SceneCode: "14",
			QPSAnswer: "上线一年内预计峰值 10 QPS", CustomerAnswer: "自有客服热线，3 人团队", Memo: "物流下单填写联系手机号",
		},
		Pictures: pictures,
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// e2eReceiver is the ISV's app gateway: the client's notification handler
// on a loopback httptest server, passing each field.changed record on.
func e2eReceiver(t *testing.T, s *alipaytest.Server, c *alipay.Client) <-chan alipay.AuthFieldDTO {
	t.Helper()
	updates := make(chan alipay.AuthFieldDTO, 8)
	h, err := c.NewNotifyHandler(alipay.NotifyRoutes{Other: func(_ context.Context, n *alipay.Notification) error {
		ev, err := n.AppAPIFieldChanged()
		if err != nil {
			return err
		}
		updates <- ev.AuthFieldDTO
		return nil
	}})
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	require.NoError(t, s.SetNotifyURL(hs.URL+"/alipay/notify"))
	return updates
}

// TestE2EFullFlow runs the whole ISV flow: category, fields, scenes, an
// application with every kind of File, the notification, the wait and the
// confirming query.
func TestE2EFullFlow(t *testing.T) {
	t.Parallel()
	s := e2eServer(t)
	ctx := e2eCtx(t)
	polled := &pollObserver{base: http.DefaultTransport, done: make(chan struct{}, 8)}
	c := e2eClient(t, s, alipay.WithHTTPClient(&http.Client{Transport: polled}))
	updates := e2eReceiver(t, s, c)
	m := c.WithAppAuthToken(alipaytest.DefaultMerchantToken)

	// 1. The category is missing: set it, with a new logo, and check.
	info, err := m.MiniBaseInfoQuery(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "小程序示例", info.AppName)
	assert.Empty(t, info.Categories())
	logo := e2ePNG(t, 180, 180)
	mod, err := m.MiniBaseInfoModify(ctx, &alipay.MiniBaseInfoModifyRequest{
		MiniCategoryIDs: "XS1011_XS2089", AppLogo: ptr(alipay.FileFromBytes("logo.png", logo)),
	})
	require.NoError(t, err)
	assert.False(t, mod.PendingAudit(), "no listed version: applied at once, without modify_status")
	info, err = m.MiniBaseInfoQuery(ctx, nil)
	require.NoError(t, err)
	assert.True(t, info.HasCategory("交通出行", "物流快递"), info.CategoryNames)
	assert.Contains(t, info.AppLogo, sha(logo)[:32])

	// 2. and 3. What may be applied for, and in which scenes.
	apis, err := m.AppAPIQuery(ctx, nil)
	require.NoError(t, err)
	require.NotEmpty(t, apis.APIs)
	assert.Equal(t, alipay.AuthAPIDTO{APIName: e2eAPI, FieldName: e2eField, PackageCode: e2ePkg}, apis.APIs[0])
	scenes, err := m.AppAPISceneQuery(ctx, &alipay.AppAPISceneQueryRequest{APIName: e2eAPI, FieldName: e2eField})
	require.NoError(t, err)
	assert.Equal(t, []alipay.AuthFieldSceneDTO{{SceneCode: "14", SceneDesc: "物流快递"}, {SceneCode: "6", SceneDesc: "汽车服务"}},
		scenes.AuthFieldScene)

	// 4. Apply with a picture from a reader of known size, one from a
	// reader of unknown size, one from bytes, one from a path, and a video.
	dir := t.TempDir()
	pics := [][]byte{e2ePNG(t, 30, 60), e2ePNG(t, 31, 60), e2ePNG(t, 32, 60), e2ePNG(t, 33, 60)}
	pathPic := filepath.Join(dir, "tmp-upload")
	require.NoError(t, os.WriteFile(pathPic, pics[3], 0o600))
	videoPath := filepath.Join(dir, "demo.mp4")
	require.NoError(t, os.WriteFile(videoPath, e2eMP4(), 0o600))
	req := e2eApply(
		alipay.FileFromReader("login.png", bytes.NewReader(pics[0]), int64(len(pics[0]))),
		alipay.FileFromReader("authorise.png", bytes.NewReader(pics[1]), -1),
		alipay.FileFromBytes("use.png", pics[2]),
		alipay.FileFromPath(pathPic).WithName("order.png"),
	)
	req.Video = ptr(alipay.FileFromPath(videoPath))
	applied, err := m.AppAPIFieldApply(ctx, req)
	require.NoError(t, err)
	assert.NotEmpty(t, applied.TraceID)
	apps := s.Applications(alipaytest.DefaultMerchantToken)
	require.Len(t, apps, 1)
	assert.Equal(t, alipaytest.StatusAudit, apps[0].Status)
	assert.Equal(t, "14", apps[0].SceneCode)
	assert.Equal(t, "物流下单填写联系手机号", apps[0].Memo)
	require.Len(t, apps[0].Files, 5)
	for i, want := range []struct{ part, name, detected string }{
		{"picture_1", "login.png", "image/png"}, {"picture_2", "authorise.png", "image/png"},
		{"picture_3", "use.png", "image/png"}, {"picture_4", "order.png", "image/png"},
		{"video", "demo.mp4", "video/mp4"},
	} {
		f := apps[0].Files[i]
		assert.Equal(t, want.part, f.Part)
		assert.Equal(t, want.name, f.Filename)
		assert.Equal(t, want.detected, f.Detected)
		if i < 4 {
			assert.Equal(t, sha(pics[i]), f.SHA256, want.part)
		}
	}

	// 5. and 6. Wait, polling only every hour: the notification wakes it.
	type result struct {
		rec *alipay.AuthFieldDTO
		err error
	}
	waited := make(chan result, 1)
	go func() {
		rec, err := m.WaitFieldAudit(ctx, &alipay.WaitFieldAuditRequest{
			APIName: e2eAPI, FieldName: e2eField, PackageCode: e2ePkg, UserAppID: alipaytest.DefaultMerchantAppID,
			Interval: time.Hour, Updates: updates,
		})
		waited <- result{rec, err}
	}()
	e2eRecv(t, ctx, polled.done) // the first poll saw the application under audit
	require.NoError(t, s.Approve(alipaytest.DefaultMerchantToken, e2eAPI, e2eField, e2ePkg))
	r := e2eRecv(t, ctx, waited)
	require.NoError(t, r.err)
	assert.Equal(t, alipay.AuthFieldStatusAgree, r.rec.Status)
	assert.Equal(t, alipaytest.DefaultMerchantAppID, r.rec.UserAppID)
	assert.Equal(t, 1, s.RequestCount(e2eFieldQuery), "only the first poll ran: the message ended the wait")

	recs, err := m.AppAPIFieldQuery(ctx, nil)
	require.NoError(t, err)
	got := recs.Records(e2eAPI, e2eField, e2ePkg)
	require.Len(t, got, 1)
	assert.Equal(t, alipay.AuthFieldStatusAgree, got[0].Status)
	require.NoError(t, s.WaitNotifications(ctx))
	notes := s.Notifications()
	require.Len(t, notes, 1)
	assert.True(t, notes[0].Delivered, notes[0].LastError)
	assert.Equal(t, 1, notes[0].Attempts)
}

func ptr[T any](v T) *T { return &v }

// e2eRecv receives from ch, failing the test when ctx ends first.
func e2eRecv[T any](t *testing.T, ctx context.Context, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("nothing received: %v", ctx.Err())
		var zero T
		return zero
	}
}

// pollObserver passes requests to the real transport and signals each
// answered field.query, so a test can act after a poll without sleeping.
type pollObserver struct {
	base http.RoundTripper
	done chan struct{}
}

// RoundTrip implements http.RoundTripper.
func (o *pollObserver) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.base.RoundTrip(r)
	if err == nil && r.URL.Query().Get("method") == e2eFieldQuery {
		select {
		case o.done <- struct{}{}:
		default:
		}
	}
	return resp, err
}

// TestE2EOutcomes ends audits with a rejection (and a new application
// beside it) and with INVALID, in both status spellings.
func TestE2EOutcomes(t *testing.T) {
	t.Parallel()
	for _, lower := range []bool{false, true} {
		var opts []alipaytest.Option
		if lower {
			opts = append(opts, alipaytest.WithLowerCaseStatus())
		}
		s := e2eServer(t, opts...)
		ctx := e2eCtx(t)
		c := e2eClient(t, s)
		updates := e2eReceiver(t, s, c)
		m := c.WithAppAuthToken(alipaytest.DefaultMerchantToken)
		pic := alipay.FileFromBytes("login.png", e2ePNG(t, 8, 8))

		_, err := m.AppAPIFieldApply(ctx, e2eApply(pic))
		require.NoError(t, err)
		require.NoError(t, s.Reject(alipaytest.DefaultMerchantToken, e2eAPI, e2eField, e2ePkg, "演示材料不清晰"))
		ev := e2eRecv(t, ctx, updates)
		assert.Equal(t, alipay.AuthFieldStatusReject, ev.Status)
		assert.Equal(t, "演示材料不清晰", ev.Reason)
		rec, err := m.WaitFieldAudit(ctx, &alipay.WaitFieldAuditRequest{
			APIName: e2eAPI, FieldName: e2eField, PackageCode: e2ePkg, Interval: time.Millisecond,
		})
		require.NoError(t, err)
		assert.Equal(t, alipay.AuthFieldStatusReject, rec.Status)
		assert.Equal(t, "演示材料不清晰", rec.Reason)

		// After a rejection a new application is accepted; both records show.
		_, err = m.AppAPIFieldApply(ctx, e2eApply(pic))
		require.NoError(t, err)
		require.NoError(t, s.Invalidate(alipaytest.DefaultMerchantToken, e2eAPI, e2eField, e2ePkg))
		assert.Equal(t, alipay.AuthFieldStatusInvalid, e2eRecv(t, ctx, updates).Status)
		recs, err := m.AppAPIFieldQuery(ctx, nil)
		require.NoError(t, err)
		got := recs.Records(e2eAPI, e2eField, e2ePkg)
		require.Len(t, got, 2)
		assert.Equal(t, alipay.AuthFieldStatusReject, got[0].Status)
		assert.Equal(t, alipay.AuthFieldStatusInvalid, got[1].Status)
		if lower {
			assert.Equal(t, "invalid", got[1].StatusRaw)
		} else {
			assert.Equal(t, "INVALID", got[1].StatusRaw)
		}
	}
}

// TestE2EApplyTwice: a second application for a field under audit, or
// approved, is refused with the sub_codes that mean "already submitted".
func TestE2EApplyTwice(t *testing.T) {
	t.Parallel()
	s := e2eServer(t)
	ctx := e2eCtx(t)
	m := e2eClient(t, s).WithAppAuthToken(alipaytest.DefaultMerchantToken)
	req := func() *alipay.AppAPIFieldApplyRequest {
		return e2eApply(alipay.FileFromBytes("login.png", e2ePNG(t, 8, 8)))
	}
	_, err := m.AppAPIFieldApply(ctx, req())
	require.NoError(t, err)

	res, err := m.AppAPIFieldApply(ctx, req())
	assert.Nil(t, res, "a result or an error, never both")
	var apiErr *alipay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "40004", apiErr.Code)
	assert.Equal(t, alipay.SubCodeAuthAPIFieldIsAuditing, apiErr.SubCode)
	assert.Equal(t, "alipay.open.app.api.field.apply", apiErr.Method)
	assert.True(t, apiErr.Verified)
	assert.NotEmpty(t, apiErr.TraceID)

	require.NoError(t, s.Approve(alipaytest.DefaultMerchantToken, e2eAPI, e2eField, e2ePkg))
	_, err = m.AppAPIFieldApply(ctx, req())
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, alipay.SubCodeAuthAPIApplyIsPass, apiErr.SubCode)
	assert.Len(t, s.Applications(alipaytest.DefaultMerchantToken), 1)
}

// TestE2ETokens: unknown tokens, tokens of another ISV app, an empty token
// and no token at all.
func TestE2ETokens(t *testing.T) {
	t.Parallel()
	const otherApp, otherToken = "2021000000000099", "202405BBotherIsvToken0099"
	s := e2eServer(t)
	other := e2eServer(t,
		alipaytest.WithApp(otherApp, s.AppPublicKeyPEM()),
		alipaytest.WithMerchant(alipaytest.Merchant{Token: otherToken, AppID: "2021004000000099", ISVAppID: otherApp}))
	ctx := e2eCtx(t)
	c := e2eClient(t, s)

	for name, m := range map[string]*alipay.Client{
		"unknown":       c.WithAppAuthToken("202405BBrevokedToken"),
		"another ISV's": e2eClient(t, other).WithAppAuthToken(otherToken),
	} {
		_, err := m.AppAPIQuery(ctx, nil)
		require.True(t, alipay.IsAppAuthTokenInvalid(err), "%s: %v", name, err)
		var apiErr *alipay.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "20001", apiErr.Code)
		assert.Equal(t, "aop.invalid-app-auth-token", apiErr.SubCode)
		assert.True(t, apiErr.Verified)
		assert.NotContains(t, err.Error(), "202405BB", name)
	}

	before := s.RequestCount("")
	_, err := c.WithAppAuthToken("").AppAPIQuery(ctx, nil)
	require.ErrorIs(t, err, alipay.ErrInvalidRequest)
	assert.Equal(t, before, s.RequestCount(""), "an empty token sends nothing")

	_, err = c.AppAPIQuery(ctx, nil) // the ISV app itself is no mini-program
	var apiErr *alipay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "APPLICATION_TYPE_NOT_MINIAPP", apiErr.SubCode)
	assert.False(t, alipay.IsAppAuthTokenInvalid(err))
}

// TestE2EHandlerRefusesForgery: the app gateway refuses a message the fake
// signed with another Alipay key, so the wait is not woken by it.
func TestE2EHandlerRefusesForgery(t *testing.T) {
	t.Parallel()
	forger := e2eServer(t, alipaytest.WithAlipayPrivateKey(e2eTestdata(t, "keys/alipay_rogue_private_pkcs8.pem")),
		alipaytest.WithNotifyRetry(1, 0))
	honest := e2eServer(t)
	c := e2eClient(t, honest) // trusts the honest server's Alipay key
	updates := e2eReceiver(t, forger, c)
	ctx := e2eCtx(t)

	m := e2eClient(t, forger).WithAppAuthToken(alipaytest.DefaultMerchantToken)
	_, err := m.AppAPIFieldApply(ctx, e2eApply(alipay.FileFromBytes("a.png", e2ePNG(t, 8, 8))))
	require.NoError(t, err)
	require.NoError(t, forger.Approve(alipaytest.DefaultMerchantToken, e2eAPI, e2eField, e2ePkg))
	require.NoError(t, forger.WaitNotifications(ctx))
	n := forger.Notifications()[0]
	assert.False(t, n.Delivered)
	assert.Contains(t, n.LastError, "400")
	assert.Empty(t, updates)
}

// e2eTestdata returns a file of the repository's testdata/.
func e2eTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name)) // the root package's testdata
	require.NoError(t, err)
	return b
}
