package alipay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// secretNotifyPaths drives every notification rejection, through
// VerifyNotification and through the handler of a merchant client, with a
// message that quotes the token in its biz_content and whose signature is
// recorded as a secret; then the handler's own refusals and failures.
func secretNotifyPaths(l *leakCheck) {
	t := l.t
	key := testNotifySigner(t)
	m := l.merchant(answer(200, "{}"))
	base := fieldChangedParams("2024052000262171013056307524619999")
	base["biz_content"] = `{"note":"` + secretsToken + `"}`
	valid := signNotification(t, key, base)
	sign := valid.Get("sign")
	l.sign(sign)
	edit := func(f func(url.Values)) url.Values {
		v := url.Values{}
		for k, vs := range valid {
			v[k] = append([]string(nil), vs...)
		}
		f(v)
		return v
	}
	resign := func(f func(map[string]string)) url.Values {
		p := map[string]string{}
		for k, v := range base {
			p[k] = v
		}
		f(p)
		v := signNotification(t, key, p)
		l.sign(v.Get("sign"))
		return v
	}
	forms := map[string]url.Values{
		"duplicate_param":    edit(func(v url.Values) { v.Add("sign", sign) }),
		"missing_sign":       edit(func(v url.Values) { v.Del("sign") }),
		"sign_type_mismatch": edit(func(v url.Values) { v.Set("sign_type", "RSA") }),
		"malformed_sign":     edit(func(v url.Values) { v.Set("sign", strings.Replace(sign, "=", " ", 1)+"!") }),
		"bad_signature":      edit(func(v url.Values) { v.Set("charset", "GBK") }),
		"app_id_mismatch":    resign(func(p map[string]string) { p["app_id"] = "2021000000000099" }),
		"missing_field":      resign(func(p map[string]string) { delete(p, "notify_id") }),
		"bad_timestamp":      resign(func(p map[string]string) { p["utc_timestamp"] = "x" }),
		"stale_timestamp":    resign(func(p map[string]string) { p["utc_timestamp"] = "1016182055000" }),
	}
	h := m.NotifyHandler(func(context.Context, *Notification) error { return nil })
	serve := func(h http.Handler, method, ctype, body string) {
		req := httptest.NewRequest(method, "/notify", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		l.text("handler answer", w.Body.String())
		if w.Code == http.StatusOK {
			t.Errorf("handler accepted a %s request that must fail", method)
		}
	}
	for step, form := range forms {
		_, err := m.VerifyNotification(form)
		l.err("VerifyNotification "+step, err)
		serve(h, http.MethodPost, notifyFormType, form.Encode())
	}
	_, err := m.VerifyNotification(valid, WithNotifyMaxAge(0))
	l.err("VerifyNotification bad option", err)
	serve(h, http.MethodGet, notifyFormType, valid.Encode())
	serve(h, http.MethodPost, "text/plain", valid.Encode())
	serve(h, http.MethodPost, notifyFormType, valid.Encode()+"&pad="+strings.Repeat("x", DefaultNotifyMaxBytes))
	serve(h, http.MethodPost, notifyFormType, valid.Encode()+"&%zz")
	serve(m.NotifyHandler(nil), http.MethodPost, notifyFormType, valid.Encode())
	serve(m.NotifyHandler(func(context.Context, *Notification) error { return nil }, WithNotifyLease(0)), http.MethodPost, notifyFormType, valid.Encode())
	failing := m.NotifyHandler(func(context.Context, *Notification) error { return errors.New("processing failed") })
	serve(failing, http.MethodPost, notifyFormType, valid.Encode())
	panicking := m.NotifyHandler(func(context.Context, *Notification) error { panic("processing panicked") })
	serve(panicking, http.MethodPost, notifyFormType, valid.Encode())
	store := &scriptedDedupeStore{claimErr: errors.New("store unavailable")}
	serve(m.NotifyHandler(func(context.Context, *Notification) error { return nil }, WithDedupeStore(store)), http.MethodPost, notifyFormType, valid.Encode())
	n, err := m.VerifyNotification(valid)
	if err != nil {
		t.Fatal(err)
	}
	n.MsgMethod = "alipay.open.mini.version.audit.passed"
	_, err = n.AppAPIFieldChanged()
	l.err("field.changed decoding another message", err)
}

// secretCertPaths covers certificate-mode failures with rotation on: a
// response signed under a new SN whose download fails in transport, is
// answered with a certificate that does not chain, or with an HTTP error.
func secretCertPaths(l *leakCheck) {
	t := l.t
	query := signedBody(t, "keys/alipay_rotated_private_pkcs8.pem", methodQuery, queryNode, snRotated)
	rogue := readTestdata(t, "certs/alipay_cert_public_key_rsa2_rogue.crt")
	for name, download := range map[string]func(*http.Request) (*http.Response, error){
		"download transport error": func(*http.Request) (*http.Response, error) { return nil, errors.New("connection reset") },
		"download not trusted": answer(200, signedBody(t, "keys/alipay_rogue_private_pkcs8.pem", methodAlipayCertDownload,
			downloadNode(rogue), snRotated)),
		"download HTTP 500": answer(500, "internal error "+secretsToken),
	} {
		respond := func(r *http.Request) (*http.Response, error) {
			if r.URL.Query().Get("method") == methodAlipayCertDownload {
				return download(r)
			}
			return answer(200, query)(r)
		}
		opts := append([]Option{WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"), WithClock(certClock), WithGatewayURL(testGW),
			WithLogger(l.logger), WithHTTPClient(l.transport(respond)), WithCertRotation(true)}, certModeOptions()...)
		c, err := NewClient(testAppID, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.WithAppAuthToken(secretsToken).AppAPIQuery(context.Background(), nil)
		l.err("cert "+name, err)
	}
}

// TestSecretsNeverPrintedByNotifications drives the error paths of
// notifications and certificates and checks the output for the three
// secrets.
func TestSecretsNeverPrintedByNotifications(t *testing.T) {
	t.Parallel()
	l := newLeakCheck(t)
	secretNotifyPaths(l)
	secretCertPaths(l)
	l.check(12, 20)
}
