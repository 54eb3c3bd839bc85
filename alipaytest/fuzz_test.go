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
