package alipaytest

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNotifyKAT signs the field.changed vectors' parameters with the
// server's code and key: the signatures must be the vectors' own.
func TestNotifyKAT(t *testing.T) {
	t.Parallel()
	var f struct {
		Cases []struct {
			Name      string      `json:"name"`
			Params    [][2]string `json:"params"`
			V1Content string      `json:"v1_content"`
			Sign      string      `json:"sign"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(repoFile(t, "kat/notify_verify.json"), &f))
	s := newTestServer(t)
	n := 0
	for _, c := range f.Cases {
		if c.Name != "field_changed_agree" && c.Name != "field_changed_reject_chinese_reason" && c.Name != "field_changed_empty_params_kept" {
			continue
		}
		n++
		form := url.Values{}
		for _, p := range c.Params {
			form.Add(p[0], p[1])
		}
		assert.Equal(t, c.V1Content, v1Content(form), c.Name)
		assert.Equal(t, c.Sign, signRSA2(s.alipayKey, []byte(v1Content(form))), c.Name)
	}
	assert.Equal(t, 3, n)
}

// receiver is the ISV's app gateway in a test: it verifies each message
// with its own V1 code and the server's Alipay public key, and answers
// what answer returns for the attempt (1-based).
type receiver struct {
	*httptest.Server
	got      chan url.Values
	attempts atomic.Int32
}

func newReceiver(t *testing.T, s **Server, answer func(attempt int) (int, string)) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan url.Values, 16)}
	over := make(chan struct{}) // closed when the test ends, before rc.Close
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(rc.attempts.Add(1))
		if err := r.ParseForm(); err != nil {
			t.Errorf("receiver: %v", err)
			return
		}
		assert.Equal(t, http.MethodPost, r.Method)
		assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"))
		var keys []string
		for k, vs := range r.PostForm {
			assert.Len(t, vs, 1, k)
			if k != "sign" && k != "sign_type" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + r.PostForm.Get(k)
		}
		sig, err := base64.StdEncoding.DecodeString(r.PostForm.Get("sign"))
		assert.NoError(t, err)
		sum := sha256.Sum256([]byte(strings.Join(parts, "&")))
		assert.NoError(t, rsa.VerifyPKCS1v15(mustPublicKey(t, (*s).AlipayPublicKeyPEM()), crypto.SHA256, sum[:], sig), "V1 signature")
		select { // a full channel must not hold the handler, and rc.Close with it
		case rc.got <- r.PostForm:
		case <-over:
		}
		code, body := answer(n)
		w.WriteHeader(code)
		_, err = w.Write([]byte(body))
		assert.NoError(t, err)
	}))
	t.Cleanup(rc.Close)
	t.Cleanup(func() { close(over) })
	return rc
}

// next returns the next message the receiver got, failing the test after
// a generous deadline instead of hanging.
func (rc *receiver) next(t *testing.T) url.Values {
	t.Helper()
	return recv(t, rc.got, "a notification")
}

func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	require.NoError(t, s.WaitNotifications(ctx), "notifications still in delivery")
}

func TestNotificationRetriedUntilSuccess(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 20, 5, 14, 15, 123e6, time.UTC)
	var s *Server
	rc := newReceiver(t, &s, func(n int) (int, string) {
		switch n {
		case 1:
			return http.StatusInternalServerError, "success"
		case 2:
			return http.StatusOK, "success\n"
		default:
			return http.StatusOK, "success"
		}
	})
	s = newTestServer(t, WithNotifyURL(rc.URL), WithNotifyRetry(5, time.Millisecond), WithClock(func() time.Time { return at }),
		WithTimestampWindow(100*365*24*time.Hour))
	requireCode(t, applyCall(t, s).do(t), "10000", "")
	require.NoError(t, s.Reject(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444", "演示视频未展示授权流程 & 其他"))
	var forms []url.Values
	for i := 0; i < 3; i++ {
		forms = append(forms, rc.next(t))
	}
	waitIdle(t, s)
	form := forms[2]
	assert.Equal(t, forms[0], form, "every attempt sends the same message")
	assert.Len(t, form.Get("notify_id"), 34)
	assert.True(t, strings.HasPrefix(form.Get("notify_id"), "20240520"))
	assert.Equal(t, "1716182055123", form.Get("utc_timestamp"))
	assert.Equal(t, "alipay.open.app.api.field.changed", form.Get("msg_method"))
	assert.Equal(t, DefaultAppID, form.Get("app_id"))
	assert.Equal(t, DefaultMerchantAppID, form.Get("msg_app_id"))
	assert.Equal(t, "1.1", form.Get("version"))
	assert.Equal(t, "UTF-8", form.Get("charset"))
	assert.Equal(t, "RSA2", form.Get("sign_type"))
	assert.JSONEq(t, `{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile",
		"package_code":"20180927110154092444","status":"REJECT","reason":"演示视频未展示授权流程 & 其他"}`, form.Get("biz_content"))
	assert.Contains(t, form.Get("biz_content"), "& 其他", "no HTML escaping")

	notes := s.Notifications()
	require.Len(t, notes, 1)
	assert.Equal(t, 3, notes[0].Attempts)
	assert.True(t, notes[0].Delivered)
	assert.Empty(t, notes[0].LastError)
	assert.Equal(t, StatusReject, notes[0].Status)
	assert.Equal(t, form, notes[0].Form)

	// Redeliver sends the very same message again.
	require.NoError(t, s.Redeliver())
	again := rc.next(t)
	waitIdle(t, s)
	assert.Equal(t, form, again)
	assert.Equal(t, 4, s.Notifications()[0].Attempts)
}

func TestNotificationGivesUp(t *testing.T) {
	t.Parallel()
	var s *Server
	rc := newReceiver(t, &s, func(int) (int, string) { return http.StatusOK, "fail" })
	s = newTestServer(t, WithNotifyURL(rc.URL), WithNotifyRetry(3, time.Millisecond))
	requireCode(t, applyCall(t, s).do(t), "10000", "")
	require.NoError(t, s.Approve(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444"))
	waitIdle(t, s)
	assert.EqualValues(t, 3, rc.attempts.Load())
	n := s.Notifications()[0]
	assert.Equal(t, 3, n.Attempts)
	assert.False(t, n.Delivered)
	assert.Contains(t, n.LastError, `"fail"`)
	assert.Contains(t, n.Form.Get("biz_content"), `"status":"AGREE","reason":""`)
}

func TestNotifyURLControl(t *testing.T) {
	t.Parallel()
	var s *Server
	rc := newReceiver(t, &s, func(int) (int, string) { return http.StatusOK, "success" })
	s = newTestServer(t, WithLowerCaseStatus())
	require.Error(t, s.Redeliver(), "nothing sent yet")
	require.Error(t, s.SetNotifyURL("not a url"))

	// No URL: decisions send nothing.
	requireCode(t, applyCall(t, s).do(t), "10000", "")
	require.NoError(t, s.Invalidate(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444"))
	waitIdle(t, s)
	assert.Empty(t, s.Notifications())

	require.NoError(t, s.SetNotifyURL(rc.URL))
	requireCode(t, applyCall(t, s).do(t), "10000", "")
	require.NoError(t, s.Invalidate(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444"))
	form := rc.next(t)
	assert.Contains(t, form.Get("biz_content"), `"status":"invalid"`)
	waitIdle(t, s)

	require.NoError(t, s.SetNotifyURL(""))
	require.Error(t, s.Redeliver(), "no URL")
}

func TestAutoAudit(t *testing.T) {
	t.Parallel()
	var s *Server
	rc := newReceiver(t, &s, func(int) (int, string) { return http.StatusOK, "success" })
	decide := func(a Application) (Status, string) {
		if a.SceneCode == "6" {
			return StatusReject, ""
		}
		return StatusAgree, ""
	}
	s = newTestServer(t, WithNotifyURL(rc.URL), WithAutoAudit(time.Millisecond, decide))
	requireCode(t, applyCall(t, s).do(t), "10000", "")
	form := rc.next(t)
	assert.Contains(t, form.Get("biz_content"), `"status":"AGREE"`)

	other := strings.NewReplacer(`"getPhoneNumber"`, `"alipay.user.info.share"`, "20180927110154092444", "20201019201538211864",
		`"scene_code":"14"`, `"scene_code":"6"`).Replace(applyJSON)
	requireCode(t, applyCall(t, s).set("auth_field_apply", other).do(t), "10000", "")
	form = rc.next(t)
	assert.Contains(t, form.Get("biz_content"), `"status":"REJECT","reason":"使用场景不在信息开放的范围内"`)
	waitIdle(t, s)
	apps := s.Applications(DefaultMerchantToken)
	require.Len(t, apps, 2)
	assert.Equal(t, StatusAgree, apps[0].Status)
	assert.Equal(t, StatusReject, apps[1].Status)
}

func TestCloseStopsRetriesAndTimers(t *testing.T) {
	t.Parallel()
	var s *Server
	rc := newReceiver(t, &s, func(int) (int, string) { return http.StatusServiceUnavailable, "" })
	s, err := NewServer(WithNotifyURL(rc.URL), WithNotifyRetry(100, time.Hour), WithAutoAudit(time.Hour, nil))
	require.NoError(t, err)
	t.Cleanup(s.Close) // when the test fails before its own Close
	requireCode(t, applyCall(t, s).do(t), "10000", "")
	require.NoError(t, s.Approve(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444"))
	rc.next(t) // the first attempt failed; the next one is an hour away
	bounded(t, "Close (it did not stop the retry loop)", func() {
		s.Close()
		s.Close() // idempotent
	})
	require.Error(t, s.Redeliver())
	require.Error(t, s.Approve(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444"))
	assert.Equal(t, 1, s.Notifications()[0].Attempts)
}

// A receiver that never answers holds only its own delivery: the gateway
// keeps answering, the accessors and Redeliver return (no lock is held
// across a POST), WaitNotifications ends with its ctx, and Close cancels
// the POSTs rather than wait for them.
func TestStuckReceiverHoldsNothing(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		entered <- struct{}{}
		<-release // deaf to its request's end, as a hung peer is
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets stuck.Close return
	s, err := NewServer(WithNotifyURL(stuck.URL), WithNotifyRetry(3, time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	requireCode(t, applyCall(t, s).do(t), "10000", "")
	require.NoError(t, s.Approve(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444"))
	recv(t, entered, "the delivery")

	// A POST gives up after 10 s by itself: a step that took 8 s waited
	// for it.
	start := time.Now()
	requireCode(t, newCall(t, s, methodFieldQuery).do(t), "10000", "")
	bounded(t, "Notifications", func() { assert.Len(t, s.Notifications(), 1) })
	bounded(t, "Redeliver", func() { assert.NoError(t, s.Redeliver()) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.WaitNotifications(ctx), context.DeadlineExceeded)
	require.Less(t, time.Since(start), 8*time.Second, "the gateway or an accessor waited for the stuck POST")

	start = time.Now()
	bounded(t, "Close (it waited for a receiver that never answers)", s.Close)
	assert.Less(t, time.Since(start), 8*time.Second, "Close waited for the POSTs instead of cancelling them")
	n := s.Notifications()[0]
	assert.False(t, n.Delivered)
	assert.NotEmpty(t, n.LastError)
}
