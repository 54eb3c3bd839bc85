package alipaytest

import (
	"net/url"
	"strconv"
	"time"
)

// Authorization events sent to the notify URL (the ISV app's 应用网关).
const (
	// EventAuthNotify is the notify_type of the authorization notify (old
	// 1.0 notify protocol, no msg_method).
	EventAuthNotify = "open_app_auth_notify"
	// EventAuthCancelled is the msg_method of the message-service message
	// sent when a merchant cancels its authorization.
	EventAuthCancelled = "alipay.open.auth.appauth.cancelled"
)

// authNotifyBiz is the biz_content of open_app_auth_notify.
type authNotifyBiz struct {
	NotifyContext struct {
		Trigger        string `json:"trigger"`
		TriggerContext struct {
			OutBizNo string `json:"out_biz_no,omitempty"`
		} `json:"trigger_context"`
	} `json:"notify_context"`
	Detail authNotifyDetail `json:"detail"`
	Error  struct{}         `json:"error"`
}

type authNotifyDetail struct {
	AppAuthToken    string `json:"app_auth_token"`
	AppRefreshToken string `json:"app_refresh_token"`
	AuthAppID       string `json:"auth_app_id"`
	AppID           string `json:"app_id"`
	UserID          string `json:"user_id"`
	AuthTime        int64  `json:"auth_time"` // epoch milliseconds
	ExpiresIn       any    `json:"expires_in"`
	ReExpiresIn     any    `json:"re_expires_in"`
	AppAuthCode     string `json:"app_auth_code"`
}

// authNotifyLocked POSTs the authorization notify of g, which carries the
// token itself. The caller holds s.mu.
func (s *Server) authNotifyLocked(g *grant, code, outBizNo string) {
	if s.notifyURL == "" || s.closed {
		return
	}
	var biz authNotifyBiz
	biz.NotifyContext.Trigger = "mrchiscore"
	biz.NotifyContext.TriggerContext.OutBizNo = outBizNo
	biz.Detail = authNotifyDetail{
		AppAuthToken: g.token, AppRefreshToken: g.refresh, AuthAppID: g.m.appID, AppID: g.isvAppID,
		UserID: g.m.userID, AuthTime: g.issuedAt.UnixMilli(), ExpiresIn: s.expiry(expiresIn),
		ReExpiresIn: s.expiry(reExpiresIn), AppAuthCode: code,
	}
	form := url.Values{
		"notify_id":   {s.newNotifyID(g.issuedAt)},
		"notify_type": {EventAuthNotify},
		"status":      {"execute_auth"},
		"notify_time": {g.issuedAt.In(cst()).Format(timestampLayout)},
		"charset":     {"UTF-8"},
		"version":     {"1.0"},
		"app_id":      {g.isvAppID},
		"auth_app_id": {g.m.appID},
		"biz_content": {string(marshal(biz))},
	}
	s.queueLocked(form, Notification{Event: EventAuthNotify, UserAppID: g.m.appID})
}

// cancelNotifyLocked POSTs alipay.open.auth.appauth.cancelled for m to the
// app isv. Its biz_content carries only auth_app_id, the one field Alipay's
// samples show. The caller holds s.mu.
func (s *Server) cancelNotifyLocked(m *merchant, isv string, now time.Time) {
	if s.notifyURL == "" || s.closed {
		return
	}
	form := url.Values{
		"notify_id":     {s.newNotifyID(now)},
		"utc_timestamp": {strconv.FormatInt(now.UnixMilli(), 10)},
		"msg_method":    {EventAuthCancelled},
		"app_id":        {isv},
		"version":       {"1.1"},
		"charset":       {"UTF-8"},
		"biz_content": {string(marshal(struct {
			AuthAppID string `json:"auth_app_id"`
		}{m.appID}))},
	}
	s.queueLocked(form, Notification{Event: EventAuthCancelled, UserAppID: m.appID})
}
