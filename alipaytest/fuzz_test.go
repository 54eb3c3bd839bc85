package alipaytest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzGateway feeds arbitrary queries, content types and bodies to the
// gateway handler: it must never panic, and must answer either HTTP 200
// with one JSON node or 413.
func FuzzGateway(f *testing.F) {
	s, err := NewServer(WithMaxBodyBytes(1 << 16))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	seed := func(c *call) {
		req := c.request(f)
		body, err := io.ReadAll(req.Body)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(req.URL.RawQuery, req.Header.Get("Content-Type"), body)
	}
	seed(newCall(f, s, methodAPIQuery))
	seed(newCall(f, s, methodSceneQuery).set("biz_content", `{"api_name":"getPhoneNumber","field_name":"mobile"}`))
	seed(applyCall(f, s))
	seed(newCall(f, s, methodBaseInfoModify).set("app_name", "会员小程序").file("app_logo", "l.png", "image/png", pngBytes(f, 4, 4)))
	seed(newCall(f, s, methodTokenApp).del("app_auth_token").set("biz_content", `{"grant_type":"refresh_token","refresh_token":"x"}`))
	seed(newCall(f, s, methodTemplateUsage).set("biz_content", `{"template_id":"t","page_num":2,"page_size":"50"}`))
	seed(newCall(f, s, methodAESGet).del("app_auth_token").set("encrypt_type", "AES").set("biz_content", "AAAAAAAAAAAAAAAAAAAAAA=="))
	f.Add("app_id=1&app_id=2", "application/x-www-form-urlencoded", []byte("a=%zz&b"))
	f.Add("", "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"picture_1\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, query, ctype string, body []byte) {
		req := &http.Request{
			Method: http.MethodPost, URL: &url.URL{Path: gatewayPath, RawQuery: query},
			Header: http.Header{"Content-Type": {ctype}}, Body: io.NopCloser(bytes.NewReader(body)),
		}
		w := httptest.NewRecorder()
		s.serveGateway(w, req)
		switch w.Code {
		case http.StatusRequestEntityTooLarge:
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d", w.Code)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &top); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, w.Body.Bytes())
		}
		nodes := 0
		for k := range top {
			if strings.HasSuffix(k, "_response") {
				nodes++
			}
		}
		if nodes != 1 {
			t.Fatalf("%d nodes in %s", nodes, w.Body.Bytes())
		}
	})
}

// FuzzMethods feeds arbitrary biz_content to every method's handler, past
// the signature check the gateway fuzzer rarely gets through: a handler
// must never panic and always answer a code.
func FuzzMethods(f *testing.F) {
	s, err := NewServer(WithTemplate(Template{ID: "2021000000000099", Usages: []TemplateUsage{{MiniAppID: "a"}, {MiniAppID: "b"}}}))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	code, err := s.Authorize("2021004000000010", AuthNoNotify())
	if err != nil {
		f.Fatal(err)
	}
	methods := []string{
		methodBaseInfoQuery, methodAPIQuery, methodSceneQuery, methodFieldQuery, methodTokenApp, methodTokenAppQuery,
		methodAESSet, methodAESGet, methodCategoryQuery, methodCategoryRequireQuery, methodTemplateUsage,
	}
	f.Add(uint8(4), `{"grant_type":"authorization_code","code":"`+code+`"}`, false)
	f.Add(uint8(4), `{"grant_type":"refresh_token","refresh_token":""}`, false)
	f.Add(uint8(5), `{"app_auth_token":"`+DefaultMerchantToken+`"}`, false)
	f.Add(uint8(9), `{"category_code_list":["XS1011_XS2089","XS1001_XS2001_XS3002"]}`, true)
	f.Add(uint8(10), `{"template_id":"2021000000000099","page_num":"9223372036854775807","page_size":1}`, false)
	f.Add(uint8(2), `{"api_name":"getPhoneNumber","field_name":"mobile"}`, true)
	f.Fuzz(func(t *testing.T, m uint8, biz string, token bool) {
		in := &incoming{params: map[string]string{
			"method": methods[int(m)%len(methods)], "app_id": DefaultAppID, "biz_content": biz,
		}, counts: map[string]int{}, inQuery: map[string]bool{}}
		if token {
			in.params["app_auth_token"] = DefaultMerchantToken
		}
		a := s.dispatch(in, in.params["method"])
		if a == nil || a.code == "" {
			t.Fatalf("no answer for %s %q", in.params["method"], biz)
		}
		if b := a.nodeBytes(); !json.Valid(b) {
			t.Fatalf("node is not JSON: %s", b)
		}
	})
}
