package alipay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// FuzzNotification feeds arbitrary bodies to the form parser, the verifier
// and the handler. Nothing may panic, and nothing may verify unless its
// parameters are exactly those the test Alipay key really signed (a KAT
// case whose checks.v1_rsa2 is true): no edit of a signed message, however
// it moves bytes between keys and values, may come out verified, not even
// one that keeps the signed V1 content.
func FuzzNotification(f *testing.F) {
	cases := loadKAT[notifyKAT](f, "notify_verify")
	genuine := map[string]map[string]string{}
	for _, k := range cases {
		f.Add(k.RawBody, "")
		if k.PublicKey == "keys/alipay_test_public.pem" && k.V1Content != nil &&
			k.Checks != nil && k.Checks.V1RSA2 != nil && *k.Checks.V1RSA2 {
			p := flatten(k.values())
			delete(p, "sign")
			delete(p, "sign_type")
			genuine[*k.V1Content] = p
			// The same content re-split: notify_id swallows the next field.
			folded := refold(k.values(), func(p map[string]string) {
				p["notify_id"] += "&msg_method=" + p["msg_method"]
				delete(p, "msg_method")
			})
			f.Add(folded.Encode(), "")
		}
	}
	if len(genuine) < 5 {
		f.Fatalf("only %d genuine contents in the vectors", len(genuine))
	}
	f.Add("sign_type=RSA2&sign=", "notify_id=1")
	f.Add(cases[len(cases)-1].RawBody, "app_id=2021000000000001")
	// The authorization notify (no msg_method), and a re-split of it.
	auth := signNotification(f, testNotifySigner(f), authNotifyParams("2024052000222205656083451410597760", authNotifyToken))
	f.Add(auth.Encode(), "")
	f.Add(refold(auth, func(p map[string]string) {
		p["notify_id"] += "&notify_type=" + p["notify_type"]
		delete(p, "notify_type")
	}).Encode(), "")
	// One client for every input (fuzz inputs run one at a time per process).
	logger, logs := notifyDebugLogger()
	c := newNotifyClient(f, WithLogger(logger))
	// Its verified params are genuine as the verifier returns them: with
	// the tokens redacted from biz_content.
	n, err := c.VerifyNotification(auth)
	if err != nil {
		f.Fatal(err)
	}
	genuine[joinV1(n.Params)] = n.Params
	f.Fuzz(func(t *testing.T, body, query string) {
		logs.reset()
		merged, mergedOK := fuzzForm(body, query)
		if mergedOK {
			n, err := c.VerifyNotification(merged)
			checkFuzzResult(t, genuine, n, err)
		}
		var got *Notification
		h := c.NotifyHandler(func(_ context.Context, n *Notification) error {
			got = n
			return nil
		})
		req := httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", notifyFormType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case got != nil:
			checkFuzzResult(t, genuine, got, nil)
			if w.Code != http.StatusOK || w.Body.String() != "success" {
				t.Fatalf("processed but answered %d %q", w.Code, w.Body.String())
			}
		case w.Code == http.StatusOK || w.Body.String() != "fail":
			t.Fatalf("not processed but answered %d %q", w.Code, w.Body.String())
		}
		if got != nil && !mergedOK {
			t.Fatalf("processed a form that does not parse")
		}
		for _, s := range merged["sign"] {
			if len(s) >= 16 && strings.ContainsAny(s, "+/=") && strings.Contains(logs.String(), s) {
				t.Fatalf("the log holds the signature")
			}
		}
	})
}

// fuzzForm decodes body and query once and merges them, as the handler does.
func fuzzForm(body, query string) (url.Values, bool) {
	params, err := url.ParseQuery(body)
	if err != nil {
		return params, false
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return params, false
	}
	for k, vs := range q {
		params[k] = append(params[k], vs...)
	}
	return params, true
}

// checkFuzzResult fails unless err is a *VerifyError without the sign, or n
// is a notification whose verified params are exactly a genuinely signed
// set.
func checkFuzzResult(t *testing.T, genuine map[string]map[string]string, n *Notification, err error) {
	t.Helper()
	if err != nil {
		var ve *VerifyError
		if !errors.As(err, &ve) || !errors.Is(err, ErrSignature) || n != nil {
			t.Fatalf("want *VerifyError and no notification, got %v, %v", n, err)
		}
		return
	}
	if n == nil {
		t.Fatal("nil notification without an error")
	}
	content := joinV1(n.Params)
	signed, ok := genuine[content]
	if !ok {
		t.Fatalf("verified a content nobody signed: %q", content)
	}
	if !reflect.DeepEqual(signed, n.Params) {
		t.Fatalf("verified a re-split of a signed content: %q", n.Params)
	}
	if n.NotifyID != n.Params["notify_id"] || n.MsgMethod != n.Params["msg_method"] ||
		n.AppID != n.Params["app_id"] || n.BizContent != n.Params["biz_content"] {
		t.Fatalf("notification fields differ from the verified params")
	}
}

// TestNotificationSecretsNeverPrinted drives every rejection step, through
// VerifyNotification and the handler, for a merchant client whose token
// appears in the message, and checks that no error or log holds the token
// or the signature.
func TestNotificationSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	key := testNotifySigner(t)
	logger, logs := notifyDebugLogger()
	m := newNotifyClient(t, WithLogger(logger)).WithAppAuthToken(testToken)
	base := fieldChangedParams("2024052000262171013056307524611001")
	base["biz_content"] = `{"note":"` + testToken + `"}`
	valid := signNotification(t, key, base)
	sign := valid.Get("sign")
	edits := map[string]func(url.Values){
		"duplicate_param":    func(v url.Values) { v.Add("sign", sign) },
		"missing_sign":       func(v url.Values) { v.Del("sign") },
		"sign_type_mismatch": func(v url.Values) { v.Set("sign_type", "RSA") },
		"malformed_sign":     func(v url.Values) { v.Set("sign", strings.Replace(sign, "=", " ", 1)+"!") },
		"bad_signature":      func(v url.Values) { v.Set("charset", "GBK") },
		"app_id_mismatch":    nil,
		"missing_field":      nil,
		"ambiguous_field":    nil,
		"bad_notify_id":      nil,
		"bad_timestamp":      nil,
		"stale_timestamp":    nil,
	}
	resign := map[string]func(map[string]string){
		"app_id_mismatch": func(p map[string]string) { p["app_id"] = "2021000000000099" },
		"missing_field":   func(p map[string]string) { delete(p, "notify_id") },
		"ambiguous_field": func(p map[string]string) { p["notify_id"] += "&notify_type=x" },
		"bad_notify_id":   func(p map[string]string) { p["notify_id"] = "id-" + testToken },
		"bad_timestamp":   func(p map[string]string) { p["utc_timestamp"] = "x" },
		"stale_timestamp": func(p map[string]string) { p["utc_timestamp"] = "1016182055000" },
	}
	h := m.NotifyHandler(func(context.Context, *Notification) error { return nil })
	for step, edit := range edits {
		v := url.Values{}
		if edit != nil {
			for k, vs := range valid {
				v[k] = append([]string(nil), vs...)
			}
			edit(v)
		} else {
			p := map[string]string{}
			for k, val := range base {
				p[k] = val
			}
			resign[step](p)
			v = signNotification(t, key, p)
		}
		_, err := m.VerifyNotification(v)
		var ve *VerifyError
		if !errors.As(err, &ve) || string(ve.Step) != step {
			t.Fatalf("%s: got %v", step, err)
		}
		for _, s := range v["sign"] {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: the error holds the signature", step)
			}
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: the error holds the token", step)
		}
		req := httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", notifyFormType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusBadRequest || !strings.Contains(logs.String(), `"reason":"`+step+`"`) {
			t.Errorf("%s: handler answered %d; log %s", step, w.Code, logs.String())
		}
	}
	for _, secret := range []string{testToken, sign[:16], url.QueryEscape(sign)[:16]} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
