package alipaytest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthorizeNotify(t *testing.T) {
	t.Parallel()
	var s *Server
	rc := newReceiver(t, &s, func(int) (int, string) { return http.StatusOK, "success" })
	s = newTestServer(t, WithNotifyURL(rc.URL))
	code, err := s.Authorize("2021004000000010", AuthOutBizNo("ISV-20240520-0001"))
	require.NoError(t, err)
	form := rc.next(t) // V1-verified by the receiver
	assert.Equal(t, EventAuthNotify, form.Get("notify_type"))
	assert.Empty(t, form.Get("msg_method"), "the 1.0 notify has no msg_method")
	assert.Equal(t, "1.0", form.Get("version"))
	assert.Equal(t, "execute_auth", form.Get("status"))
	assert.Equal(t, DefaultAppID, form.Get("app_id"))
	assert.Equal(t, "2021004000000010", form.Get("auth_app_id"))
	assert.Equal(t, "RSA2", form.Get("sign_type"))
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`, form.Get("notify_time"))
	assert.Regexp(t, `^\d{34}$`, form.Get("notify_id"))

	var biz struct {
		NotifyContext struct {
			Trigger        string `json:"trigger"`
			TriggerContext struct {
				OutBizNo string `json:"out_biz_no"`
			} `json:"trigger_context"`
		} `json:"notify_context"`
		Detail map[string]json.RawMessage `json:"detail"`
		Error  map[string]any             `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(form.Get("biz_content")), &biz))
	assert.Equal(t, "ISV-20240520-0001", biz.NotifyContext.TriggerContext.OutBizNo)
	assert.Empty(t, biz.Error)
	assert.Equal(t, "31536000", string(biz.Detail["expires_in"]))
	assert.Equal(t, `"`+code+`"`, string(biz.Detail["app_auth_code"]))

	// The notify carries the very token the code exchanges for.
	r, err := exchange(t, newClient(t, s), code)
	require.NoError(t, err)
	assert.Equal(t, `"`+r.Tokens[0].AppAuthToken+`"`, string(biz.Detail["app_auth_token"]))
	assert.Equal(t, `"`+r.Tokens[0].AppRefreshToken+`"`, string(biz.Detail["app_refresh_token"]))

	waitIdle(t, s)
	ns := s.Notifications()
	require.Len(t, ns, 1)
	assert.Equal(t, EventAuthNotify, ns[0].Event)
	assert.Equal(t, "2021004000000010", ns[0].UserAppID)
	assert.True(t, ns[0].Delivered)
}

func TestAuthorizeNotifyStringExpiries(t *testing.T) {
	t.Parallel()
	var s *Server
	rc := newReceiver(t, &s, func(int) (int, string) { return http.StatusOK, "success" })
	s = newTestServer(t, WithNotifyURL(rc.URL), WithStringExpiries())
	_, err := s.Authorize("2021004000000010", AuthBatch("2021004000000011"))
	require.NoError(t, err)
	var apps []string
	for range 2 { // one notify per app, delivered concurrently
		form := rc.next(t)
		apps = append(apps, form.Get("auth_app_id"))
		var biz struct {
			Detail map[string]json.RawMessage `json:"detail"`
		}
		require.NoError(t, json.Unmarshal([]byte(form.Get("biz_content")), &biz))
		assert.Equal(t, `"32140800"`, string(biz.Detail["re_expires_in"]))
	}
	assert.ElementsMatch(t, []string{"2021004000000010", "2021004000000011"}, apps)
}
