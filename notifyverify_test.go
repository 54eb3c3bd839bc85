package alipay

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// notifyKAT is one case of testdata/kat/notify_verify.json.
type notifyKAT struct {
	Name        string      `json:"name"`
	PublicKey   string      `json:"public_key"`
	ClientAppID string      `json:"client_app_id"`
	RawBody     string      `json:"raw_body"`
	Params      [][2]string `json:"params"`
	V1Content   *string     `json:"v1_content"`
	Sign        *string     `json:"sign"`
	Expect      string      `json:"expect"`
	Reason      string      `json:"reason"`
	Checks      *struct {
		V1RSA2 *bool `json:"v1_rsa2"`
	} `json:"checks"`
}

// values returns the case's params as url.Values, duplicates kept.
func (k notifyKAT) values() url.Values {
	v := url.Values{}
	for _, p := range k.Params {
		v.Add(p[0], p[1])
	}
	return v
}

// isMessage reports whether the case is a message-service message (it has
// the fields the SDK requires after verification).
func (k notifyKAT) isMessage() bool {
	v := k.values()
	return v.Get("notify_id") != "" && v.Get("msg_method") != "" && v.Get("utc_timestamp") != ""
}

// clock returns the instant the case's message was sent, or fixedTime.
func (k notifyKAT) clock() func() time.Time {
	at := fixedTime
	if ts, ok := parseUTCTimestamp(k.values().Get("utc_timestamp")); ok {
		at = ts
	}
	return func() time.Time { return at }
}

// katNotifyClient returns the client a case describes: its Alipay public
// key, its app id, and a clock at the message's utc_timestamp.
func katNotifyClient(t testing.TB, k notifyKAT, opts ...Option) *Client {
	t.Helper()
	base := []Option{
		WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(t, k.PublicKey)),
		WithClock(k.clock()),
		WithGatewayURL(testGW),
	}
	c, err := NewClient(k.ClientAppID, append(base, opts...)...)
	require.NoError(t, err)
	return c
}

func TestNotifyKATVerify(t *testing.T) {
	t.Parallel()
	for _, k := range loadKAT[notifyKAT](t, "notify_verify") {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			params := k.values()
			if k.V1Content != nil {
				flat := map[string]string{}
				for key := range params {
					flat[key] = params.Get(key)
				}
				assert.Equal(t, *k.V1Content, string(v1Content(flat)), "V1 content")
			}
			c := katNotifyClient(t, k)
			n, err := c.VerifyNotification(params)
			switch {
			case k.Expect == "verified" && k.isMessage():
				require.NoError(t, err)
				assertNotificationFrom(t, params, n)
			case k.Expect == "verified":
				// Signature and app_id verified (the KAT's verdict); a trade
				// notification lacks the message-service fields.
				var ve *VerifyError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, StepMissingField, ve.Step)
				assert.Nil(t, n)
			default:
				require.ErrorIs(t, err, ErrSignature)
				var ve *VerifyError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, VerifyStep(k.Reason), ve.Step)
				assert.Nil(t, n)
				if k.V1Content != nil {
					assert.Equal(t, truncate(*k.V1Content, maxErrorSnippet), ve.Content)
				}
				if k.Sign != nil && *k.Sign != "" {
					assert.NotContains(t, err.Error(), *k.Sign)
				}
			}
		})
	}
}

// assertNotificationFrom checks that n holds params (minus sign, sign_type).
func assertNotificationFrom(t *testing.T, params url.Values, n *Notification) {
	t.Helper()
	require.NotNil(t, n)
	assert.Equal(t, params.Get("notify_id"), n.NotifyID)
	assert.Equal(t, params.Get("msg_method"), n.MsgMethod)
	assert.Equal(t, params.Get("app_id"), n.AppID)
	assert.Equal(t, params.Get("version"), n.Version)
	assert.Equal(t, params.Get("charset"), n.Charset)
	assert.Equal(t, params.Get("msg_type"), n.MsgType)
	assert.Equal(t, params.Get("msg_app_id"), n.MsgAppID)
	assert.Equal(t, params.Get("encrypt_type"), n.EncryptType)
	assert.Equal(t, params.Get("biz_content"), n.BizContent)
	ts, ok := parseUTCTimestamp(params.Get("utc_timestamp"))
	require.True(t, ok)
	assert.True(t, ts.Equal(n.UTCTimestamp))
	want := map[string]string{}
	for k := range params {
		if k != "sign" && k != "sign_type" {
			want[k] = params.Get(k)
		}
	}
	assert.Equal(t, want, n.Params)
}

func TestVerifyNotificationCases(t *testing.T) {
	t.Parallel()
	key := testNotifySigner(t)
	signed := func(edit func(map[string]string)) url.Values {
		p := fieldChangedParams("2024052000262171013056307524601001")
		if edit != nil {
			edit(p)
		}
		return signNotification(t, key, p)
	}
	cases := []struct {
		name   string
		params url.Values
		opts   []NotifyOption
		clock  time.Time
		step   VerifyStep // "" = verified
	}{
		{name: "valid", params: signed(nil)},
		{name: "valid_ms_ahead_within_skew", params: signed(nil), clock: fixedTime.Add(-4 * time.Minute)},
		{name: "valid_at_window_edge", params: signed(nil), clock: fixedTime.Add(DefaultNotifyMaxAge)},
		{name: "tampered_value", params: func() url.Values {
			v := signed(nil)
			v.Set("biz_content", strings.Replace(v.Get("biz_content"), "reject", "agree", 1))
			return v
		}(), step: StepBadSignature},
		{name: "tampered_signature", params: func() url.Values {
			v := signed(nil)
			s := []byte(v.Get("sign"))
			s[10] ^= 1
			v.Set("sign", string(s))
			return v
		}(), step: StepBadSignature},
		{name: "sign_plus_became_space", params: func() url.Values {
			v := signed(nil)
			v.Set("sign", "ab c"+v.Get("sign")[4:])
			return v
		}(), step: StepMalformedSign},
		{name: "url_safe_sign", params: func() url.Values {
			v := signed(nil)
			v.Set("sign", strings.NewReplacer("+", "-", "/", "_").Replace(v.Get("sign"))+"x")
			return v
		}(), step: StepMalformedSign},
		{name: "wrong_sign_type", params: func() url.Values { v := signed(nil); v.Set("sign_type", "RSA"); return v }(), step: StepSignTypeMismatch},
		{name: "lower_case_sign_type", params: func() url.Values { v := signed(nil); v.Set("sign_type", "rsa2"); return v }(), step: StepSignTypeMismatch},
		{name: "empty_sign_type", params: func() url.Values { v := signed(nil); v.Set("sign_type", ""); return v }(), step: StepSignTypeMismatch},
		{name: "missing_sign", params: func() url.Values { v := signed(nil); v.Del("sign"); return v }(), step: StepMissingSign},
		{name: "duplicate", params: func() url.Values { v := signed(nil); v.Add("app_id", testAppID); return v }(), step: StepDuplicateParam},
		{name: "wrong_app_id", params: signed(func(p map[string]string) { p["app_id"] = "2021000000000099" }), step: StepAppIDMismatch},
		{name: "missing_app_id", params: signed(func(p map[string]string) { delete(p, "app_id") }), step: StepAppIDMismatch},
		{name: "configured_app_id", params: signed(func(p map[string]string) { p["app_id"] = "2021000000000099" }),
			opts: []NotifyOption{WithNotifyAppIDs("2021000000000099")}},
		{name: "missing_notify_id", params: signed(func(p map[string]string) { delete(p, "notify_id") }), step: StepMissingField},
		{name: "empty_msg_method", params: signed(func(p map[string]string) { p["msg_method"] = "" }), step: StepMissingField},
		{name: "missing_utc_timestamp", params: signed(func(p map[string]string) { delete(p, "utc_timestamp") }), step: StepMissingField},
		{name: "seconds_timestamp", params: signed(func(p map[string]string) { p["utc_timestamp"] = "1716182055" }), step: StepBadTimestamp},
		{name: "signed_timestamp", params: signed(func(p map[string]string) { p["utc_timestamp"] = "-716182055000" }), step: StepBadTimestamp},
		{name: "stale", params: signed(nil), clock: fixedTime.Add(DefaultNotifyMaxAge + time.Second), step: StepStaleTimestamp},
		{name: "stale_custom_window", params: signed(nil), clock: fixedTime.Add(10 * time.Minute),
			opts: []NotifyOption{WithNotifyMaxAge(5 * time.Minute)}, step: StepStaleTimestamp},
		{name: "future", params: signed(nil), clock: fixedTime.Add(-notifyClockSkew - time.Second), step: StepStaleTimestamp},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := fixedTime
			if !tc.clock.IsZero() {
				clock = tc.clock
			}
			c := newNotifyClient(t, WithClock(func() time.Time { return clock }))
			n, err := c.VerifyNotification(tc.params, tc.opts...)
			if tc.step == "" {
				require.NoError(t, err)
				assertNotificationFrom(t, tc.params, n)
				return
			}
			require.ErrorIs(t, err, ErrSignature)
			var ve *VerifyError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.step, ve.Step)
			assert.Nil(t, n)
			if s := tc.params.Get("sign"); len(s) > 20 {
				assert.NotContains(t, err.Error(), s[:20])
			}
		})
	}
}

func TestVerifyNotificationErrorMethod(t *testing.T) {
	t.Parallel()
	c := newNotifyClient(t)
	_, err := c.VerifyNotification(url.Values{"msg_method": {MsgMethodAppAPIFieldChanged}})
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, MsgMethodAppAPIFieldChanged, ve.Method)
	assert.Equal(t, StepMissingSign, ve.Step)
	_, err = c.VerifyNotification(url.Values{"msg_method": {"evil\nlog line"}})
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "notification", ve.Method)
	_, err = c.VerifyNotification(nil)
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, StepMissingSign, ve.Step)
}
