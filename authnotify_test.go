package alipay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Values of the test authorization notify.
const (
	authNotifyToken   = "202405BBnotifyAppAuthToken00001"
	authNotifyRefresh = "202405BBnotifyRefreshToken00001"
	authNotifyCode    = "aae0477c3c014c44b11b240fbebbbX09"
)

// authNotifyParams returns the unsigned params of an authorization notify
// sent at fixedTime to testAppID for merchant app katMerchantApp, with
// token as its app_auth_token: Alipay's documented sample, with
// re_expires_in as a string (the drift FlexInt absorbs).
func authNotifyParams(notifyID, token string) map[string]string {
	return map[string]string{
		"notify_id": notifyID, "notify_type": "open_app_auth_notify", "status": "execute_auth",
		"notify_time": "2024-05-20 13:14:15", "charset": "UTF-8", "version": "1.0",
		"app_id": testAppID, "auth_app_id": katMerchantApp,
		"biz_content": `{"notify_context":{"trigger":"mrchiscore","trigger_context":{"out_biz_no":"ISV-20240520-0001"}},` +
			`"detail":{"app_auth_token":"` + token + `","user_id":"2088000000000001","re_expires_in":"32140800",` +
			`"auth_time":1716182055000,"app_refresh_token":"` + authNotifyRefresh + `","auth_app_id":"` + katMerchantApp + `",` +
			`"app_id":"` + testAppID + `","expires_in":31536000,"app_auth_code":"` + authNotifyCode + `"},"error":{}}`,
	}
}

// assertNoAuthSecrets checks that s holds no token, refresh token or code.
func assertNoAuthSecrets(t *testing.T, s, what string) {
	t.Helper()
	for _, secret := range []string{authNotifyToken, authNotifyRefresh, authNotifyCode} {
		assert.NotContains(t, s, secret, what)
		assert.NotContains(t, s, secret[:12], what)
	}
}

// TestAppAuthNotifyVerified: the authorization notify (no msg_method,
// notify_time in UTC+8, version 1.0) verifies with V1 and decodes into a
// typed event whose tokens are Secrets, while the Notification itself
// prints, logs and marshals without them.
func TestAppAuthNotifyVerified(t *testing.T) {
	t.Parallel()
	c := newNotifyClient(t)
	params := signNotification(t, testNotifySigner(t), authNotifyParams("2024052000222205656083451410597730", authNotifyToken))
	n, err := c.VerifyNotification(params)
	require.NoError(t, err)
	assert.Equal(t, "open_app_auth_notify", n.NotifyType)
	assert.Empty(t, n.MsgMethod)
	assert.Equal(t, katMerchantApp, n.AuthAppID)
	assert.True(t, n.UTCTimestamp.Equal(fixedTime), "notify_time read in UTC+8: %v", n.UTCTimestamp)
	assert.Contains(t, n.BizContent, `"app_auth_token":"[redacted]"`)
	assert.Equal(t, n.BizContent, n.Params["biz_content"])

	ev, err := n.AppAuthNotify()
	require.NoError(t, err)
	assert.Equal(t, authNotifyToken, ev.Token.AppAuthToken.Reveal())
	assert.Equal(t, authNotifyRefresh, ev.Token.AppRefreshToken.Reveal())
	assert.Equal(t, authNotifyCode, ev.AppAuthCode.Reveal())
	assert.Equal(t, katMerchantApp, ev.Token.AuthAppID)
	assert.Equal(t, "2088000000000001", ev.Token.UserID)
	assert.Equal(t, testAppID, ev.AppID)
	at, ok := ev.AuthTime.Time()
	require.True(t, ok)
	assert.True(t, at.Equal(fixedTime))
	exp, ok := ev.Token.ExpiresIn.Int64()
	assert.True(t, ok)
	assert.EqualValues(t, 31536000, exp)
	reExp, ok := ev.Token.ReExpiresIn.Int64()
	assert.True(t, ok, "re_expires_in as a string")
	assert.EqualValues(t, 32140800, reExp)
	assert.Equal(t, "mrchiscore", ev.Trigger)
	assert.Equal(t, "ISV-20240520-0001", ev.OutBizNo)
	assert.Equal(t, "execute_auth", ev.Status)
	assert.False(t, ev.HasError())

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "n", n, "ev", ev)
	jn, err := json.Marshal(n)
	require.NoError(t, err)
	jev, err := json.Marshal(ev)
	require.NoError(t, err)
	for what, s := range map[string]string{
		"fmt": fmt.Sprintf("%v %+v %#v", n, ev, ev), "slog": logs.String(), "json n": string(jn), "json ev": string(jev),
	} {
		assertNoAuthSecrets(t, s, what)
	}
	_, err = n.AppAPIFieldChanged()
	assert.Error(t, err, "not a field.changed message")
}

// TestAppAuthNotifyRefusals: the steps of the authorization notify, and no
// error content quoting its secrets.
func TestAppAuthNotifyRefusals(t *testing.T) {
	t.Parallel()
	c := newNotifyClient(t)
	key := testNotifySigner(t)
	for step, edit := range map[string]func(p map[string]string){
		"unsupported_version": func(p map[string]string) { p["version"] = "1.1" },
		"bad_timestamp":       func(p map[string]string) { p["notify_time"] = "2024-05-20T13:14:15" },
		"stale_timestamp":     func(p map[string]string) { p["notify_time"] = "2024-05-18 13:14:15" },
		"missing_field":       func(p map[string]string) { delete(p, "notify_time") },
		"app_id_mismatch":     func(p map[string]string) { p["app_id"] = "2021000000000099" },
		"bad_notify_id":       func(p map[string]string) { p["notify_id"] = "not-an-id" },
	} {
		p := authNotifyParams("2024052000222205656083451410597731", authNotifyToken)
		edit(p)
		_, err := c.VerifyNotification(signNotification(t, key, p))
		var ve *VerifyError
		require.ErrorAs(t, err, &ve, step)
		assert.Equal(t, VerifyStep(step), ve.Step)
		assert.Equal(t, "open_app_auth_notify", ve.Method)
		assert.Contains(t, ve.Content, `"app_auth_token":"[redacted]"`, step)
		assertNoAuthSecrets(t, err.Error()+ve.Content, step)
	}
	// Empty version is allowed, as Alipay's rule says.
	p := authNotifyParams("2024052000222205656083451410597732", authNotifyToken)
	p["version"] = ""
	_, err := c.VerifyNotification(signNotification(t, key, p))
	assert.NoError(t, err)
	// Another notify_type without msg_method is still refused.
	p["notify_type"] = "trade_status_sync"
	_, err = c.VerifyNotification(signNotification(t, key, p))
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, StepMissingField, ve.Step)
}

// TestAppAuthNotifyDecoding: a non-empty error member is surfaced, a
// mismatched auth_app_id refused, a plugin authorization (no auth_app_id)
// decodes.
func TestAppAuthNotifyDecoding(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]bool{
		`{}`: false, `null`: false, `""`: false, `[]`: false, `false`: false,
		`{"appstore_online_pay":"FAIL"}`: true, `"FAIL"`: true, `[1]`: true, `1`: true,
	} {
		assert.Equal(t, want, (&AppAuthNotify{Error: json.RawMessage(raw)}).HasError(), raw)
	}
	assert.False(t, (&AppAuthNotify{}).HasError(), "absent")

	n := &Notification{NotifyID: "1", NotifyType: NotifyTypeAppAuth, AuthAppID: "2021004000000099",
		BizContent: `{"detail":{"auth_app_id":"` + katMerchantApp + `"}}`}
	_, err := n.AppAuthNotify()
	assert.ErrorContains(t, err, "differs")

	n = &Notification{NotifyID: "1", NotifyType: NotifyTypeAppAuth,
		BizContent: `{"notify_context":{"trigger_context":"{\"out_biz_no\":\"X1\"}"},"detail":{"app_auth_token":"t"},"error":{"appstore_online_pay":"FAIL"}}`}
	ev, err := n.AppAuthNotify()
	require.NoError(t, err)
	assert.Empty(t, ev.Token.AuthAppID)
	assert.Equal(t, "X1", ev.OutBizNo, "trigger_context as a JSON string")
	assert.True(t, ev.HasError())

	n.NotifyType = ""
	_, err = n.AppAuthNotify()
	assert.Error(t, err)
}

// TestAuthCancelledDecoders: both cancelled messages decode, tolerate
// unknown members and refuse what lacks their ids.
func TestAuthCancelledDecoders(t *testing.T) {
	t.Parallel()
	n := &Notification{NotifyID: "1", MsgMethod: MsgMethodAuthAppAuthCancelled, BizContent: `{"auth_app_id":"` + katMerchantApp + `","extra":1}`}
	ev, err := n.AuthAppAuthCancelled()
	require.NoError(t, err)
	assert.Equal(t, katMerchantApp, ev.AuthAppID)
	assert.JSONEq(t, n.BizContent, string(ev.Raw))
	n.BizContent = `{"other":1}`
	_, err = n.AuthAppAuthCancelled()
	assert.ErrorContains(t, err, "auth_app_id")
	_, err = n.AuthUserAuthCancelled()
	assert.ErrorContains(t, err, "msg_method")

	u := &Notification{NotifyID: "2", MsgMethod: MsgMethodAuthUserAuthCancelled,
		BizContent: `{"cancel_time":1716182055000,"user_id":"2088000000000003","app_id":"` + katMerchantApp + `"}`}
	uev, err := u.AuthUserAuthCancelled()
	require.NoError(t, err)
	assert.Equal(t, "2088000000000003", uev.UserID)
	assert.Equal(t, katMerchantApp, uev.AppID)
	at, ok := uev.CancelTime.Time()
	require.True(t, ok)
	assert.True(t, at.Equal(fixedTime))
	u.BizContent = `{"cancel_time":"1716182055000","open_id":"074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"}`
	uev, err = u.AuthUserAuthCancelled()
	require.NoError(t, err)
	assert.Equal(t, "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5", uev.OpenID)
	u.BizContent = `{"app_id":"x"}`
	_, err = u.AuthUserAuthCancelled()
	assert.ErrorContains(t, err, "user_id")
}
