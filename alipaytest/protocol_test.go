package alipaytest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueryMethodsAnswerSigned(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, method := range []string{methodBaseInfoQuery, methodAPIQuery, methodFieldQuery} {
		t.Run(method, func(t *testing.T) {
			r := newCall(t, s, method).do(t)
			requireCode(t, r, "10000", "")
			assert.Equal(t, strings.ReplaceAll(method, ".", "_")+"_response", r.node)
			assert.Len(t, r.header["Trace_id"], 1)
			assert.Equal(t, "Success", r.fields["msg"])
			assert.True(t, strings.HasPrefix(r.raw, `{"`+r.node+`":{"code":"10000","msg":"Success"`), r.raw)
		})
	}
	r := newCall(t, s, methodSceneQuery).set("biz_content", `{"api_name":"getPhoneNumber","field_name":"mobile"}`).do(t)
	requireCode(t, r, "10000", "")
	assert.JSONEq(t, `[{"scene_code":"14","scene_desc":"物流快递"},{"scene_code":"6","scene_desc":"汽车服务"}]`,
		string(mustJSON(t, r.fields["auth_field_scene"])))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestKATRequests sends the request-signing known-answer vectors byte for
// byte, with their own signatures, to a server whose clock is the vector's:
// the server's own string-to-sign and verification must accept each one.
func TestKATRequests(t *testing.T) {
	t.Parallel()
	var f struct {
		Cases []struct {
			Name         string            `json:"name"`
			UnixTime     int64             `json:"unix_time"`
			Params       map[string]string `json:"params"`
			Files        []string          `json:"files"`
			StringToSign string            `json:"string_to_sign"`
			Sign         string            `json:"sign"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(repoFile(t, "kat/request_sign.json"), &f))
	require.NotEmpty(t, f.Cases)
	for _, kc := range f.Cases {
		t.Run(kc.Name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, kc.StringToSign, signContent(kc.Params), "server's string to sign")
			at := time.Unix(kc.UnixTime, 0)
			s := newTestServer(t, WithClock(func() time.Time { return at }))
			c := &call{s: s, sign: kc.Sign}
			for k, v := range kc.Params {
				switch k {
				case "app_auth_token", "biz_content", "auth_field_apply", "notify_url", "return_url", "auth_token",
					"alipay_sdk", "app_name", "app_english_name", "app_slogan", "app_desc", "app_category_ids",
					"mini_category_ids", "service_phone", "service_email", "encrypt_type":
					c.body = append(c.body, pair{k, v})
				default:
					c.query = append(c.query, pair{k, v})
				}
			}
			for _, name := range kc.Files {
				switch name {
				case "video":
					c.file(name, "flow.mp4", "application/octet-stream", mp4Bytes())
				default:
					c.file(name, name+".png", "image/png", pngBytes(t, 16, 16))
				}
			}
			r := c.do(t)
			require.Equal(t, http.StatusOK, r.status)
			assert.NotEqual(t, "isv.invalid-signature", r.subCode, r.subMsg)
			switch {
			case kc.Params["method"] == "alipay.open.mini.baseinfo.name.check":
				requireCode(t, r, "40002", "isv.invalid-method")
				assert.Equal(t, "error_response", r.node)
			case kc.Params["encrypt_type"] != "":
				requireCode(t, r, "40002", "isv.decryption-error-not-valid-encrypt-key")
			case kc.Name == "kat2_field_apply_upload": // the vector has no qps_answer
				requireCode(t, r, "40004", "QPS_ANSWER_IS_BLANK")
			case kc.Name == "special_chars_biz_content": // its biz_content has no api_name
				requireCode(t, r, "40004", "INVALID_PARAM")
			case kc.Params["app_auth_token"] != "":
				requireCode(t, r, "10000", "")
			default: // no token: the calls act on the ISV's own app
				requireCode(t, r, "40004", "APPLICATION_TYPE_NOT_MINIAPP")
			}
		})
	}
}

func TestSignatureChecks(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	rogue := mustPrivateKey(t, repoFile(t, "keys/alipay_rogue_private_pkcs8.pem"))

	t.Run("other key", func(t *testing.T) {
		c := newCall(t, s, methodAPIQuery)
		c.key = rogue
		r := c.do(t)
		requireCode(t, r, "40002", "isv.invalid-signature")
		want := "网关生成的验签字符串为：" + strings.ReplaceAll(c.content(), "&", "&amp;")
		assert.True(t, strings.HasSuffix(r.subMsg, want), r.subMsg)
		assert.Equal(t, "alipay_open_app_api_query_response", r.node)
	})
	t.Run("value changed after signing", func(t *testing.T) {
		c := newCall(t, s, methodSceneQuery).set("biz_content", `{"api_name":"getPhoneNumber","field_name":"mobile"}`)
		c.sign = testSign(t, c.key, c.content())
		c.set("biz_content", `{"api_name":"getPhoneNumber","field_name":"mobile "}`)
		requireCode(t, c.do(t), "40002", "isv.invalid-signature")
	})
	t.Run("not base64", func(t *testing.T) {
		c := newCall(t, s, methodAPIQuery)
		c.sign = "%%%not base64"
		requireCode(t, c.do(t), "40002", "isv.invalid-signature")
	})
	t.Run("empty values are not signed", func(t *testing.T) {
		c := newCall(t, s, methodAPIQuery).set("notify_url", "").set("alipay_sdk", "")
		assert.NotContains(t, c.content(), "notify_url")
		requireCode(t, c.do(t), "10000", "")
	})
	t.Run("signing an empty value fails", func(t *testing.T) {
		c := newCall(t, s, methodAPIQuery).set("notify_url", "")
		c.sign = testSign(t, c.key, c.content()+"&notify_url=")
		requireCode(t, c.do(t), "40002", "isv.invalid-signature")
	})
	t.Run("everything in the body", func(t *testing.T) {
		c := newCall(t, s, methodAPIQuery)
		c.body, c.query = append(c.body, c.query...), nil
		c.body = append(c.body, pair{"sign", testSign(t, c.key, c.content())})
		c.noSign = true
		requireCode(t, c.do(t), "10000", "")
	})
	t.Run("special characters", func(t *testing.T) {
		c := newCall(t, s, methodSceneQuery).set("biz_content", `{"api_name":"getPhoneNumber","field_name":"mobile","x":"a&b=c+d 测试%"}`)
		requireCode(t, c.do(t), "10000", "")
	})
}

func TestTimestampWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 20, 5, 14, 15, 0, time.UTC) // 13:14:15 in UTC+8
	s := newTestServer(t, WithClock(func() time.Time { return now }))
	for _, tc := range []struct {
		name, ts string
		ok       bool
	}{
		{"exact", "2024-05-20 13:14:15", true},
		{"9m59s behind", "2024-05-20 13:04:16", true},
		{"10m ahead", "2024-05-20 13:24:15", true},
		{"10m01s behind", "2024-05-20 13:04:14", false},
		{"11m ahead", "2024-05-20 13:25:15", false},
		{"UTC instead of UTC+8", "2024-05-20 05:14:15", false},
		{"ISO format", "2024-05-20T13:14:15+08:00", false},
		{"garbage", "yesterday", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newCall(t, s, methodAPIQuery).set("timestamp", tc.ts).do(t)
			if tc.ok {
				requireCode(t, r, "10000", "")
			} else {
				requireCode(t, r, "40002", "isv.invalid-timestamp")
			}
		})
	}
	narrow := newTestServer(t, WithClock(func() time.Time { return now }), WithTimestampWindow(time.Minute))
	requireCode(t, newCall(t, narrow, methodAPIQuery).set("timestamp", "2024-05-20 13:16:15").do(t), "40002", "isv.invalid-timestamp")
}

func TestProtocolParameters(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, tc := range []struct {
		name      string
		edit      func(*call)
		code, sub string
		node      string
		unsigned  bool
	}{
		{"missing app_id", func(c *call) { c.del("app_id") }, "40001", "isv.missing-app-id", "alipay_open_app_api_query_response", true},
		{"missing method", func(c *call) { c.del("method") }, "40001", "isv.missing-method", "error_response", false},
		{"missing sign_type", func(c *call) { c.del("sign_type") }, "40001", "isv.missing-signature-type", "", false},
		{"missing sign", func(c *call) { c.noSign = true }, "40001", "isv.missing-signature", "", false},
		{"empty sign", func(c *call) { c.sign = ""; c.noSign = true; c.query = append(c.query, pair{"sign", ""}) }, "40001", "isv.missing-signature", "", false},
		{"missing timestamp", func(c *call) { c.del("timestamp") }, "40001", "isv.missing-timestamp", "", false},
		{"missing version", func(c *call) { c.del("version") }, "40001", "isv.missing-version", "", false},
		{"unknown app", func(c *call) { c.set("app_id", "2021009999999999") }, "40002", "isv.invalid-app-id", "", true},
		{"unknown method", func(c *call) { c.set("method", "alipay.trade.pay") }, "40002", "isv.invalid-method", "error_response", false},
		{"format xml", func(c *call) { c.set("format", "xml") }, "40002", "isv.invalid-format", "", false},
		{"charset GBK", func(c *call) { c.set("charset", "GBK") }, "40002", "isv.invalid-charset", "", false},
		{"sign_type RSA", func(c *call) { c.set("sign_type", "RSA") }, "40002", "isv.invalid-signature-type", "", false},
		{"version 2.0", func(c *call) { c.set("version", "2.0") }, "40002", "isv.invalid-parameter", "", false},
		{"format lower case", func(c *call) { c.set("format", "json") }, "10000", "", "", false},
		{"charset upper case", func(c *call) { c.set("charset", "UTF-8") }, "10000", "", "", false},
		{"no format", func(c *call) { c.del("format") }, "10000", "", "", false},
		{"app_id in query and body", func(c *call) { c.body = append(c.body, pair{"app_id", DefaultAppID}) }, "40002", "isv.invalid-parameter", "", false},
		{"token twice in body", func(c *call) { c.body = append(c.body, pair{"app_auth_token", DefaultMerchantToken}) }, "40002", "isv.invalid-parameter", "", false},
		{"duplicate with an empty value", func(c *call) { c.body = append(c.body, pair{"version", ""}) }, "40002", "isv.invalid-parameter", "", false},
		{"unknown token", func(c *call) { c.set("app_auth_token", "202405BBunknown") }, "20001", "aop.invalid-app-auth-token", "", false},
		{"no token: the ISV app is no mini-program", func(c *call) { c.del("app_auth_token") }, "40004", "APPLICATION_TYPE_NOT_MINIAPP", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCall(t, s, methodAPIQuery)
			tc.edit(c)
			r := c.do(t)
			require.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, tc.code, r.code, r.raw)
			assert.Equal(t, tc.sub, r.subCode, r.raw)
			if tc.node != "" {
				assert.Equal(t, tc.node, r.node)
			}
			assert.Equal(t, !tc.unsigned, r.verified, r.raw)
			assert.Equal(t, !tc.unsigned, r.hasSign, r.raw)
		})
	}
}

func TestTokenBoundToItsApp(t *testing.T) {
	t.Parallel()
	other := mustPrivateKey(t, repoFile(t, "keys/alipay_rotated_private_pkcs8.pem"))
	s := newTestServer(t,
		WithApp("2021000000000077", repoFile(t, "keys/alipay_rotated_public.pem")),
		WithMerchant(Merchant{Token: "tok-of-77", AppID: "2021004000000077", ISVAppID: "2021000000000077"}),
		WithMerchant(Merchant{Token: "self", AppID: "2021000000000077", ISVAppID: "2021000000000077"}),
	)
	c := newCall(t, s, methodAPIQuery).set("app_id", "2021000000000077").set("app_auth_token", "tok-of-77")
	c.key = other
	requireCode(t, c.do(t), "10000", "")

	// The default app may not use a token issued to another app.
	requireCode(t, newCall(t, s, methodAPIQuery).set("app_auth_token", "tok-of-77").do(t), "20001", "aop.invalid-app-auth-token")
	// Nor may app 77 use the default merchant's token.
	c = newCall(t, s, methodAPIQuery).set("app_id", "2021000000000077")
	c.key = other
	requireCode(t, c.do(t), "20001", "aop.invalid-app-auth-token")
	// Without a token a self-developed mini-program acts on itself.
	c = newCall(t, s, methodBaseInfoQuery).set("app_id", "2021000000000077").del("app_auth_token")
	c.key = other
	requireCode(t, c.do(t), "10000", "")
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	post := func(t *testing.T, u, ctype, body string) *reply {
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		require.NoError(t, err)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		return send(t, s, req)
	}
	good := newCall(t, s, methodAPIQuery).request(t).URL.String()
	for _, tc := range []struct{ name, url, ctype, body, sub string }{
		{"bad query escape", good + "&x=%zz", "application/x-www-form-urlencoded", "", "isv.invalid-parameter"},
		{"json body", good, "application/json", `{"a":1}`, "isv.invalid-parameter"},
		{"body without content type", good, "", "app_auth_token=x", "isv.invalid-parameter"},
		{"multipart without boundary", good, "multipart/form-data", "--x--", "isv.invalid-parameter"},
		{"broken multipart", good, "multipart/form-data; boundary=abc", "--abc\r\nbroken", "isv.invalid-parameter"},
		{"nothing at all", s.URL, "", "", "isv.missing-app-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, tc.url, tc.ctype, tc.body)
			require.Equal(t, http.StatusOK, r.status, r.raw)
			assert.Equal(t, tc.sub, r.subCode, r.raw)
		})
	}
	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(good)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
	t.Run("other path", func(t *testing.T) {
		resp, err := http.Post(strings.Replace(good, "/gateway.do", "/gateway", 1), "text/plain", nil)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("body over the cap", func(t *testing.T) {
		small := newTestServer(t, WithMaxBodyBytes(1024))
		c := newCall(t, small, methodAPIQuery).set("biz_content", strings.Repeat("x", 2048))
		r := c.do(t)
		assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
		reqs := small.Requests()
		require.Len(t, reqs, 1)
		assert.Equal(t, http.StatusRequestEntityTooLarge, reqs[0].HTTPStatus)
	})
}

func TestRequestsRecord(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	r := applyCall(t, s).do(t)
	requireCode(t, r, "10000", "")
	requireCode(t, newCall(t, s, methodFieldQuery).do(t), "10000", "")
	reqs := s.Requests()
	require.Len(t, reqs, 2)
	a := reqs[0]
	assert.Equal(t, methodFieldApply, a.Method)
	assert.Equal(t, DefaultAppID, a.AppID)
	assert.Equal(t, DefaultMerchantToken, a.AppAuthToken)
	assert.Equal(t, "multipart/form-data", a.ContentType)
	assert.Equal(t, []string{"app_id", "charset", "format", "method", "sign", "sign_type", "timestamp", "version"}, a.QueryKeys)
	assert.Equal(t, applyJSON, a.Params.Get("auth_field_apply"))
	require.Len(t, a.Files, 1)
	assert.Equal(t, "picture_1", a.Files[0].Part)
	assert.Equal(t, "10000", a.Code)
	assert.Equal(t, r.header.Get("trace_id"), a.TraceID)
	assert.Equal(t, 1, s.RequestCount(methodFieldQuery))
	assert.Equal(t, 2, s.RequestCount(""))
}

func TestEmbeddedKeysArePairs(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	app := mustPrivateKey(t, s.AppPrivateKeyPEM())
	assert.True(t, app.PublicKey.Equal(mustPublicKey(t, s.AppPublicKeyPEM())))
	assert.True(t, s.alipayKey.PublicKey.Equal(mustPublicKey(t, s.AlipayPublicKeyPEM())))
	assert.Equal(t, repoFile(t, "keys/alipay_test_public.pem"), s.AlipayPublicKeyPEM())
	assert.Equal(t, repoFile(t, "keys/app_private_pkcs8.pem"), s.AppPrivateKeyPEM())
	assert.Equal(t, DefaultAppID, s.AppID())
	assert.True(t, strings.HasSuffix(s.URL, "/gateway.do"))

	// The accessors hand out copies.
	s.AlipayPublicKeyPEM()[0] = 'X'
	s.AppPrivateKeyPEM()[0] = 'X'
	assert.Equal(t, byte('-'), s.AlipayPublicKeyPEM()[0])
	assert.Equal(t, byte('-'), s.AppPrivateKeyPEM()[0])
}

func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		opt  Option
		want string
	}{
		"nil":            {nil, "option 1: nil option"},
		"nil clock":      {WithClock(nil), "WithClock"},
		"window":         {WithTimestampWindow(0), "WithTimestampWindow"},
		"body":           {WithMaxBodyBytes(0), "WithMaxBodyBytes"},
		"app key":        {WithApp("x", []byte("not a key")), "WithApp(x)"},
		"app id":         {WithApp("", []byte(testAppPublicKeyPEM)), "WithApp"},
		"alipay key":     {WithAlipayPrivateKey([]byte(testAppPublicKeyPEM)), "WithAlipayPrivateKey"},
		"small key":      {WithAlipayPrivateKey(repoFile(t, "keys/bad_rsa1024_private_pkcs8.pem")), "WithAlipayPrivateKey"},
		"merchant":       {WithMerchant(Merchant{Token: "t"}), "WithMerchant"},
		"notify url":     {WithNotifyURL("ftp://x"), "WithNotifyURL"},
		"notify retry":   {WithNotifyRetry(0, time.Second), "WithNotifyRetry"},
		"auto audit":     {WithAutoAudit(-time.Second, nil), "WithAutoAudit"},
		"empty category": {WithCategory("", "x"), "WithCategory"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var s *Server
			var err error
			require.NotPanics(t, func() { s, err = NewServer(WithLowerCaseStatus(), tc.opt) })
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), "alipaytest: NewServer: ")
			assert.Contains(t, err.Error(), tc.want)
			assert.NotPanics(t, s.Close, "Close on the nil server of a failed NewServer is a no-op")
		})
	}
	// Bare Base64 and PKCS#1 keys are accepted.
	bare := repoFile(t, "keys/app_public.b64")
	s, err := NewServer(WithApp("2021000000000009", bare), WithApp("2021000000000010", repoFile(t, "keys/app_public_pkcs1.pem")),
		WithAlipayPrivateKey(repoFile(t, "keys/app_private_pkcs1.b64")))
	require.NoError(t, err)
	s.Close()
}
