package alipay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The error paths of TestSecretsNeverPrinted. Each records its error with
// l.err (which also fails the test when the path did not fail).

// secretResponsePaths runs every response vector through a merchant call,
// then failures that quote the token: in sub_msg and msg (signed and
// unsigned), in a node with a bad or missing signature, and in bodies that
// are not Alipay responses.
func secretResponsePaths(l *leakCheck) {
	t := l.t
	ctx := context.Background()
	for _, tc := range loadKAT[responseKAT](t, "response_verify") {
		opts := append(responseKATOptions(tc), WithLogger(l.logger), WithHTTPClient(l.transport(answer(200, tc.Body))))
		c, err := NewClient(testAppID, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.WithAppAuthToken(secretsToken).Call(ctx, tc.Method, map[string]string{"q": "v"})
		if tc.Expect != "verified" || deref(tc.Code) != "10000" || tc.SubCode != nil {
			l.err("response vector "+tc.Name, err)
		}
	}
	g := newGatewaySigner(t)
	failure := `{"code":"20001","msg":"Insufficient Token Permissions ` + secretsToken + `","sub_code":"aop.invalid-app-auth-token","sub_msg":"无效的应用授权令牌 app_auth_token=` + secretsToken + `"}`
	success := `{"code":"10000","msg":"Success","apis":[],"note":"` + secretsToken + `"}`
	node := func(n string) string { return `{"` + nodeKey(methodAppAPIQuery) + `":` + n }
	long := strings.Repeat("x", maxErrorSnippet-10) + secretsToken
	for name, body := range map[string]struct {
		status int
		body   string
	}{
		"signed failure":     {200, g.body(methodAppAPIQuery, failure)},
		"unsigned failure":   {200, node(failure) + `}`},
		"error_response":     {200, `{"error_response":` + failure + `}`},
		"bad signature":      {200, node(success) + `,"sign":"` + g.sign(failure) + `"}`},
		"missing sign":       {200, node(success) + `}`},
		"malformed sign":     {200, node(success) + `,"sign":"` + secretsToken + `"}`},
		"not JSON":           {200, "<html>" + secretsToken + "</html>"},
		"token across cut":   {200, long},
		"trailing data":      {200, g.body(methodAppAPIQuery, success) + secretsToken},
		"HTTP 502":           {502, "bad gateway " + secretsToken},
		"duplicate node":     {200, node(success) + `,"` + nodeKey(methodAppAPIQuery) + `":` + failure + `}`},
		"typed decode fails": {200, g.body(methodAppAPIQuery, `{"code":"10000","msg":"Success","apis":"`+secretsToken+`"}`)},
	} {
		_, err := l.merchant(answer(body.status, body.body)).AppAPIQuery(ctx, nil)
		l.err("response "+name, err)
	}
	big := secretsToken + strings.Repeat(" ", maxResponse)
	_, err := l.merchant(answer(200, big)).AppAPIQuery(ctx, nil)
	l.err("response too large", err)
}

// secretUploadPaths covers upload validation and streaming failures, and a
// transport error during an upload.
func secretUploadPaths(l *leakCheck) {
	ctx := context.Background()
	m := l.merchant(answer(200, newGatewaySigner(l.t).body(methodAppAPIFieldApply, `{"code":"10000","msg":"Success"}`)))
	pic := FileFromBytes("a.png", upPNG)
	head := io.MultiReader(bytes.NewReader(upPNG), upZeros{})
	for name, req := range map[string]*AppAPIFieldApplyRequest{
		"empty request":   {},
		"no files":        {AuthFieldApply: faValid()},
		"six pictures":    {AuthFieldApply: faValid(), Pictures: []File{pic, pic, pic, pic, pic, pic}},
		"missing path":    {AuthFieldApply: faValid(), Pictures: []File{FileFromPath("testdata/none/" + secretsToken[:4] + ".png")}},
		"empty bytes":     {AuthFieldApply: faValid(), Pictures: []File{FileFromBytes("a.png", nil)}},
		"declared 11 MiB": {AuthFieldApply: faValid(), Pictures: []File{FileFromReader("a.png", head, 11<<20)}},
		"bad filename":    {AuthFieldApply: faValid(), Pictures: []File{FileFromBytes("a\n.png", upPNG)}},
		"read error": {AuthFieldApply: faValid(), Pictures: []File{FileFromReader("a.png",
			io.MultiReader(bytes.NewReader(upPNG), errReader{errors.New("disk failed")}), -1)}},
		"empty video":           {AuthFieldApply: faValid(), Video: &File{}},
		"streams past 10 MiB":   {AuthFieldApply: faValid(), Pictures: []File{FileFromReader("z.png", io.MultiReader(bytes.NewReader(upPNG), upZeros{}), -1)}},
		"shorter than declared": {AuthFieldApply: faValid(), Pictures: []File{FileFromReader("a.png", bytes.NewReader(upPNG), int64(len(upPNG)+10))}},
	} {
		_, err := m.AppAPIFieldApply(ctx, req)
		l.err("upload "+name, err)
	}
	_, err := m.MiniBaseInfoModify(ctx, &MiniBaseInfoModifyRequest{AppName: "x"})
	l.err("modify invalid", err)
	_, err = m.MiniBaseInfoModify(ctx, &MiniBaseInfoModifyRequest{AppLogo: &File{}})
	l.err("modify empty logo", err)
	fail := func(*http.Request) (*http.Response, error) { return nil, errors.New("broken pipe") }
	_, err = l.merchant(fail).AppAPIFieldApply(ctx, &AppAPIFieldApplyRequest{AuthFieldApply: faValid(), Pictures: []File{pic}})
	l.err("upload transport error", err)
	_, err = l.merchant(answer(200, "<html>"+secretsToken)).AppAPIFieldApply(ctx, &AppAPIFieldApplyRequest{AuthFieldApply: faValid(), Pictures: []File{pic}})
	l.err("upload answer not JSON", err)
}

// TestSecretsNeverPrintedByCalls drives the error paths of answers and
// uploads and checks the output for the three secrets.
func TestSecretsNeverPrintedByCalls(t *testing.T) {
	t.Parallel()
	l := newLeakCheck(t)
	secretResponsePaths(l)
	secretUploadPaths(l)
	l.check(60, 60)
}
