package alipay

import (
	"strings"
	"testing"
	"time"

	"net/url"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refold returns the signed message v re-split by edit: the sign and
// sign_type travel unchanged, the other parameters as edit leaves them.
func refold(v url.Values, edit func(p map[string]string)) url.Values {
	p := map[string]string{}
	for k := range v {
		if k != "sign" && k != "sign_type" {
			p[k] = v.Get(k)
		}
	}
	edit(p)
	out := url.Values{"sign": {v.Get("sign")}, "sign_type": {v.Get("sign_type")}}
	for k, val := range p {
		out.Set(k, val)
	}
	return out
}

// foldAttacks are re-splits of one signed message: each keeps the V1
// content, and so Alipay's signature, while changing what the parameters
// say. base returns the genuine parameters; fold re-splits them.
var foldAttacks = []struct {
	name string
	base func(p map[string]string)
	fold func(p map[string]string)
}{
	{"notify_id swallows notify_type: replay under a new notify_id", func(p map[string]string) {
		p["notify_type"] = "trade_status_sync"
	}, func(p map[string]string) {
		p["notify_id"] += "&notify_type=" + p["notify_type"]
		delete(p, "notify_type")
	}},
	{"notify_id swallows notify_time: replay under a new notify_id", func(p map[string]string) {
		p["notify_time"] = "2024-05-20 13:14:15"
	}, func(p map[string]string) {
		p["notify_id"] += "&notify_time=" + p["notify_time"]
		delete(p, "notify_time")
	}},
	{"msg_method swallows msg_type", func(p map[string]string) {
		p["msg_type"] = "sys"
	}, func(p map[string]string) {
		p["msg_method"] += "&msg_type=" + p["msg_type"]
		delete(p, "msg_type")
	}},
	{"version swallows an unknown field", func(p map[string]string) {
		p["vz"] = "1"
	}, func(p map[string]string) {
		p["version"] += "&vz=1"
		delete(p, "vz")
	}},
	{"unknown field swallows the next one", func(p map[string]string) {
		p["zz"], p["zz2"] = "x", "y"
	}, func(p map[string]string) {
		p["zz"] += "&zz2=" + p["zz2"]
		delete(p, "zz2")
	}},
	{"biz_content cut at its ampersand", func(p map[string]string) {
		p["biz_content"] = `{"reason":"资料不全&ca=1","status":"REJECT"}`
	}, func(p map[string]string) {
		p["biz_content"] = `{"reason":"资料不全`
		p["ca"] = `1","status":"REJECT"}`
	}},
	{"biz_content swallows charset", func(p map[string]string) {}, func(p map[string]string) {
		p["biz_content"] += "&charset=" + p["charset"]
		delete(p, "charset")
	}},
}

// TestNotifyFoldedFieldReplayRefused is the replay attack of issue 12
// point 5: a signed message re-sent with "notify_id=<id>&notify_type=…"
// (or another fold) inside one value has the same V1 content, so the
// signature verifies; it must be refused as "ambiguous_field" and never
// reach fn under a new notify_id.
func TestNotifyFoldedFieldReplayRefused(t *testing.T) {
	t.Parallel()
	key := testNotifySigner(t)
	for i, tc := range foldAttacks {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := fieldChangedParams("20240520002621710130563075246" + string(rune('a'+i)) + "0001")
			tc.base(p)
			genuine := signNotification(t, key, p)
			folded := refold(genuine, tc.fold)
			require.Equal(t, joinV1(flatten(genuine)), joinV1(flatten(folded)), "the fold keeps the signed content")

			c := newNotifyClient(t)
			_, err := c.VerifyNotification(genuine)
			require.NoError(t, err, "the genuine message verifies")
			n, err := c.VerifyNotification(folded)
			var ve *VerifyError
			require.ErrorAs(t, err, &ve, "the folded message must not verify")
			assert.Equal(t, StepAmbiguousField, ve.Step)
			assert.ErrorIs(t, err, ErrSignature)
			assert.Nil(t, n)

			rec := &notifyRecorder{}
			srv := notifyServe(t, c.NotifyHandler(rec.fn))
			status, ack := notifyPost(t, srv, genuine.Encode())
			require.Equal(t, 200, status, ack)
			status, ack = notifyPost(t, srv, folded.Encode())
			assert.Equal(t, 400, status)
			assert.Equal(t, "fail", ack)
			assert.Equal(t, 1, rec.count(), "the replay must not reach fn")
		})
	}
}

// flatten returns v's first values.
func flatten(v url.Values) map[string]string {
	m := make(map[string]string, len(v))
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

// TestNotifyBusinessTextKAT: business text with '&', '=', '%' (and the
// literal "%25" and "%zz") inside biz_content still verifies, from the
// signed vector field_changed_special_chars, and reaches fn intact.
func TestNotifyBusinessTextKAT(t *testing.T) {
	t.Parallel()
	var kat *notifyKAT
	for _, k := range loadKAT[notifyKAT](t, "notify_verify") {
		if k.Name == "field_changed_special_chars" {
			kat = &k
		}
	}
	require.NotNil(t, kat)
	params := kat.values()
	biz := params.Get("biz_content")
	for _, s := range []string{"&", "=", "%", "%25", "%zz"} {
		require.Contains(t, biz, s, "the vector's business text holds %q", s)
	}
	c := katNotifyClient(t, *kat)
	n, err := c.VerifyNotification(params)
	require.NoError(t, err)
	assert.Equal(t, biz, n.BizContent)
	ev, err := n.AppAPIFieldChanged()
	require.NoError(t, err)
	assert.Equal(t, `资料不全 & 请补充: a+b=c 100% 50%25 %zz "引号"`, ev.Reason)

	rec := &notifyRecorder{}
	srv := notifyServe(t, c.NotifyHandler(rec.fn))
	status, ack := notifyPost(t, srv, kat.RawBody)
	assert.Equal(t, 200, status)
	assert.Equal(t, "success", ack)
	require.Equal(t, 1, rec.count())
	assert.Equal(t, biz, rec.calls[0].BizContent)
}

// TestNotifyBusinessTextGBK: a GBK biz_content whose character has a
// backslash as second byte (0x81 0x5C), beside an '&', still verifies.
func TestNotifyBusinessTextGBK(t *testing.T) {
	t.Parallel()
	p := fieldChangedParams("2024052000262171013056307524612001")
	p["charset"] = "GBK"
	p["biz_content"] = "{\"reason\":\"\x81\x5c & 100%\",\"status\":\"REJECT\"}"
	n, err := newNotifyClient(t).VerifyNotification(signNotification(t, testNotifySigner(t), p))
	require.NoError(t, err)
	assert.Equal(t, p["biz_content"], n.BizContent)
}

// TestNotifyIDShape: notify_id must be 1 to 64 ASCII letters and digits.
func TestNotifyIDShape(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"2022060900262171013056307524600406", "ac05099524730693a8b330c5ecf72da9786",
		"70fec0c2730b27528665af4517c27b95", "A", strings.Repeat("9", 64)} {
		assert.True(t, validNotifyID(id), id)
	}
	for _, id := range []string{"", strings.Repeat("9", 65), "2024-05", "a_b", "a.b", "a b", "a&b", "a=b", "a\nb", "１２", "%41"} {
		assert.False(t, validNotifyID(id), "%q", id)
	}
	key := testNotifySigner(t)
	c := newNotifyClient(t)
	for _, id := range []string{"dedupe-1", strings.Repeat("a", 65), "a_b", "a.b"} {
		_, err := c.VerifyNotification(signNotification(t, key, fieldChangedParams(id)))
		var ve *VerifyError
		require.ErrorAs(t, err, &ve, "%q", id)
		assert.Equal(t, StepBadNotifyID, ve.Step, "%q", id)
	}
}

// TestUnambiguousSplit covers each rule of the ambiguity check.
func TestUnambiguousSplit(t *testing.T) {
	t.Parallel()
	base := func() map[string]string {
		return map[string]string{"notify_id": "1", "msg_method": "m", "app_id": "1", "charset": "UTF-8", "version": "1.1",
			"notify_time": "2024-05-20 13:14:15", "biz_content": `{"a":"x & y = z %"}`, "extra": "a=b"}
	}
	require.True(t, unambiguousSplit(base()))
	ok := map[string]func(p map[string]string){
		"empty biz":        func(p map[string]string) { p["biz_content"] = "" },
		"no biz":           func(p map[string]string) { delete(p, "biz_content") },
		"biz array":        func(p map[string]string) { p["biz_content"] = `[1,"&"]` },
		"biz newlines":     func(p map[string]string) { p["biz_content"] = "{\n\"a\": \"&\"\n}\n" },
		"encrypted base64": func(p map[string]string) { p["encrypt_type"] = "AES"; p["biz_content"] = "q+/8AbC=" },
		"empty encrypt":    func(p map[string]string) { p["encrypt_type"] = "" },
		"unknown with =":   func(p map[string]string) { p["token_b64"] = "YWJj==" },
	}
	for name, edit := range ok {
		p := base()
		edit(p)
		assert.True(t, unambiguousSplit(p), name)
	}
	bad := map[string]func(p map[string]string){
		"empty name":            func(p map[string]string) { p[""] = "x" },
		"name with &":           func(p map[string]string) { p["a&b"] = "x" },
		"name with =":           func(p map[string]string) { p["a=b"] = "x" },
		"name with newline":     func(p map[string]string) { p["a\nb"] = "x" },
		"name with DEL":         func(p map[string]string) { p["a\x7fb"] = "x" },
		"unknown value with &":  func(p map[string]string) { p["extra"] = "a&b" },
		"notify_time with =":    func(p map[string]string) { p["notify_time"] = "a=b" },
		"charset with CR":       func(p map[string]string) { p["charset"] = "UTF-8\r" },
		"version with NUL":      func(p map[string]string) { p["version"] = "1.1\x00" },
		"app_id non-ASCII":      func(p map[string]string) { p["app_id"] = "２０２１" },
		"auth_app_id with &":    func(p map[string]string) { p["auth_app_id"] = "1&x" },
		"msg_app_id with tab":   func(p map[string]string) { p["msg_app_id"] = "1\t" },
		"utc_timestamp with =":  func(p map[string]string) { p["utc_timestamp"] = "1=" },
		"notify_type with =":    func(p map[string]string) { p["notify_type"] = "a=" },
		"sign_type with &":      func(p map[string]string) { p["sign_type"] = "RSA2&" },
		"encrypt_type with LF":  func(p map[string]string) { p["encrypt_type"] = "AES\n" },
		"biz not JSON":          func(p map[string]string) { p["biz_content"] = `{"a":"x` },
		"biz trailing &":        func(p map[string]string) { p["biz_content"] = `{"a":"x"}&charset=UTF-8` },
		"biz two values":        func(p map[string]string) { p["biz_content"] = `{}{}` },
		"encrypted not base64":  func(p map[string]string) { p["encrypt_type"] = "AES"; p["biz_content"] = `{"a":"x` },
		"encrypted with &":      func(p map[string]string) { p["encrypt_type"] = "AES"; p["biz_content"] = "abc&d=e" },
		"GBK biz cut in string": func(p map[string]string) { p["charset"] = "GBK"; p["biz_content"] = "{\"a\":\"\x81\x5c" },
	}
	for name, edit := range bad {
		p := base()
		edit(p)
		assert.False(t, unambiguousSplit(p), name)
	}
}

// TestNotifyAmbiguityBeforeTimestamp: the new steps sit between
// missing_field and bad_timestamp, so existing steps keep their class.
func TestNotifyAmbiguityBeforeTimestamp(t *testing.T) {
	t.Parallel()
	key := testNotifySigner(t)
	c := newNotifyClient(t, WithClock(func() time.Time { return fixedTime }))
	steps := map[string]func(p map[string]string){
		"missing_field":   func(p map[string]string) { p["notify_id"] = ""; p["extra"] = "a&b" },
		"ambiguous_field": func(p map[string]string) { p["notify_id"] = "a&b"; p["utc_timestamp"] = "x" },
		"bad_notify_id":   func(p map[string]string) { p["notify_id"] = "a-b"; p["utc_timestamp"] = "x" },
		"app_id_mismatch": func(p map[string]string) { p["app_id"] = "1&2" },
	}
	for step, edit := range steps {
		p := fieldChangedParams("2024052000262171013056307524613001")
		edit(p)
		_, err := c.VerifyNotification(signNotification(t, key, p))
		var ve *VerifyError
		require.ErrorAs(t, err, &ve, step)
		assert.Equal(t, VerifyStep(step), ve.Step)
	}
}

// TestParseUTCTimestamp: exactly 13 ASCII digits of Unix milliseconds.
func TestParseUTCTimestamp(t *testing.T) {
	t.Parallel()
	ts, ok := parseUTCTimestamp("1716182055123")
	require.True(t, ok)
	assert.Equal(t, int64(1716182055123), ts.UnixMilli())
	for _, s := range []string{"", "171618205512", "17161820551234", "171618205512a", "+716182055123", " 716182055123", "１716182055123"} {
		_, ok := parseUTCTimestamp(s)
		assert.False(t, ok, s)
	}
}
