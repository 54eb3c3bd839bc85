package alipay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"
)

// The error paths of TestSecretsNeverPrinted. Each records its error with
// l.err (which also fails the test when the path did not fail).

// secretKeyPaths gives the app private key, whole or damaged, to every
// option that takes key or certificate material, and damaged keys to the
// private-key options.
func secretKeyPaths(l *leakCheck) {
	t := l.t
	pem8, pem1 := readTestdata(t, "keys/app_private_pkcs8.pem"), readTestdata(t, "keys/app_private_pkcs1.pem")
	b64 := bytes.TrimSpace(readTestdata(t, "keys/app_private_pkcs8.b64"))
	lines := strings.Split(string(pem8), "\n")
	flip := func(s string, i int, c byte) []byte { b := []byte(s); b[i] = c; return b }
	other := byte('A') // a valid Base64 character other than the one replaced
	if pem8[len(pem8)/2] == 'A' {
		other = 'B'
	}
	body := strings.Join(lines[1:len(lines)-2], "\n")
	damaged := map[string][]byte{
		"bad char":          flip(string(pem8), len(pem8)/2, '!'),
		"bit flip":          flip(string(pem8), len(pem8)/2, other),
		"truncated":         []byte(lines[0] + "\n" + strings.Join(lines[1:len(lines)/2], "\n") + "\n" + lines[len(lines)-2] + "\n"),
		"trailing data":     append(append([]byte{}, pem8...), "garbage "+secretsToken...),
		"bare with junk":    append(append([]byte{}, b64...), '!', '!'),
		"PKCS#1 as PKCS#8":  bytes.ReplaceAll(pem1, []byte("RSA PRIVATE KEY"), []byte("PRIVATE KEY")),
		"PKCS#8 as PKCS#1":  bytes.ReplaceAll(pem8, []byte("PRIVATE KEY"), []byte("RSA PRIVATE KEY")),
		"encrypted header":  []byte(lines[0] + "\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n" + body + "\n" + lines[len(lines)-2] + "\n"),
		"other armour":      bytes.ReplaceAll(pem8, []byte("PRIVATE KEY"), []byte("SECRET THING")),
		"bare half":         b64[:len(b64)/2],
		"public as private": readTestdata(t, "keys/app_public.pem"),
		"EC key":            readTestdata(t, "keys/bad_ec_p256_private_pkcs8.pem"),
		"1024-bit key":      readTestdata(t, "keys/bad_rsa1024_private_pkcs8.pem"),
		"encrypted PKCS#8":  readTestdata(t, "keys/bad_encrypted_pkcs8.pem"),
		"truncated DER":     readTestdata(t, "keys/bad_truncated_der.pem"),
	}
	pub := WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem")
	for name, key := range damaged {
		_, err := NewClient(testAppID, WithPrivateKey(key), pub)
		l.err("WithPrivateKey "+name, err)
		_, err = NewClient(testAppID, WithPrivateKeyFile(writeTemp(t, "key.pem", key)), pub)
		l.err("WithPrivateKeyFile "+name, err)
	}
	priv := WithPrivateKey(pem8)
	for name, key := range map[string][]byte{"PKCS#8 PEM": pem8, "PKCS#1 PEM": pem1, "bare": b64, "damaged": damaged["bit flip"]} {
		for opt, o := range map[string]Option{
			"WithAlipayPublicKey": WithAlipayPublicKey(key), "WithAlipayPublicKeyFile": WithAlipayPublicKeyFile(writeTemp(t, "k", key)),
			"WithAppCert": WithAppCert(key), "WithAlipayCert": WithAlipayCert(key), "WithAlipayRootCert": WithAlipayRootCert(key),
			"WithAppCertFile": WithAppCertFile(writeTemp(t, "c", key)), "WithAESKey": WithAESKey(string(key)),
			"WithAlipayCertFile": WithAlipayCertFile(writeTemp(t, "c", key)), "WithAlipayRootCertFile": WithAlipayRootCertFile(writeTemp(t, "c", key)),
		} {
			_, err := NewClient(testAppID, priv, pub, o)
			l.err(opt+" given the private key ("+name+")", err)
		}
	}
	_, err := NewClient(testAppID, priv, pub, WithAESKey(string(b64[:24])))
	l.err("WithAESKey 24 chars of the key", err)
	_, err = NewClient(testAppID, WithPrivateKeyFile(t.TempDir()), pub)
	l.err("WithPrivateKeyFile directory", err)
	_, err = NewClient(testAppID, WithPrivateKeyFile("testdata/keys/missing.pem"), pub)
	l.err("WithPrivateKeyFile missing", err)
}

// secretClientPaths covers NewClient's own refusals and the client's
// printed forms.
func secretClientPaths(l *leakCheck) {
	priv, pub := WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"), WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem")
	for name, opts := range map[string][]Option{
		"no private key": {pub}, "no public key": {priv}, "nil option": {priv, pub, nil},
		"rotation without cert mode": {priv, pub, WithCertRotation(true)}, "both modes": append([]Option{priv, pub}, certModeOptions()...),
		"cert mode incomplete": {priv, WithAppCertFile("testdata/certs/app_cert_public_key.crt")},
		"nil http client":      {priv, pub, WithHTTPClient(nil)}, "negative timeout": {priv, pub, WithTimeout(-time.Second)},
		"nil logger": {priv, pub, WithLogger(nil)}, "nil clock": {priv, pub, WithClock(nil)},
		"bad gateway":         {priv, pub, WithGatewayURL("ftp://gw.test/")},
		"mismatched app cert": append([]Option{WithPrivateKeyFile("testdata/keys/alipay_test_private_pkcs8.pem")}, certModeOptions()...),
	} {
		_, err := NewClient(testAppID, opts...)
		l.err("NewClient "+name, err)
	}
	_, err := NewClient("", priv, pub)
	l.err("NewClient empty app id", err)
	m := l.merchant(answer(200, "{}"))
	l.text("client", fmt.Sprintf("%v %+v %#v %s", m, m, m, m.String()))
	l.logger.Info("client", "client", *m)
	_, err = l.merchant(answer(200, "{}")).WithAppAuthToken("").AppAPIQuery(context.Background(), nil)
	l.err("empty token", err)
	_, err = m.Call(context.Background(), "", nil)
	l.err("Call without method", err)
	_, err = m.Call(context.Background(), "x.y", func() {})
	l.err("Call with unmarshalable biz_content", err)
}

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

// secretTransportPaths makes calls fail before any answer: a transport
// error, a refused connection, the client timeout, a cancelled ctx.
func secretTransportPaths(l *leakCheck) {
	ctx := context.Background()
	fail := func(*http.Request) (*http.Response, error) { return nil, errors.New("connection reset by peer") }
	_, err := l.merchant(fail).AppAPIQuery(ctx, nil)
	l.err("transport error", err)
	hang := func(r *http.Request) (*http.Response, error) { <-r.Context().Done(); return nil, r.Context().Err() }
	_, err = l.merchant(hang, WithTimeout(20*time.Millisecond)).AppAPIFieldQuery(ctx, nil)
	l.err("client timeout", err)
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err = l.merchant(hang).MiniBaseInfoQuery(dctx, nil)
	cancel()
	l.err("ctx deadline", err)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	req := wtReq()
	req.Interval, req.MaxInterval = time.Millisecond, 2*time.Millisecond
	_, err = l.merchant(answer(502, "bad gateway "+secretsToken)).WaitFieldAudit(wctx, req)
	cancel()
	l.err("WaitFieldAudit after failed polls", err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = l.merchant(hang).AppAPIQuery(cctx, nil)
	l.err("ctx cancelled", err)
	srv := httptest.NewServer(http.NotFoundHandler())
	gw := srv.URL + "/gateway.do"
	srv.Close()
	c, err := NewClient(testAppID, append(baseOptions(l.t), WithLogger(l.logger), WithGatewayURL(gw))...)
	if err != nil {
		l.t.Fatal(err)
	}
	m := c.WithAppAuthToken(secretsToken)
	s, err := m.sign(methodAppAPIQuery, nil, nil) // the sign the refused request carries (fixed clock)
	if err != nil {
		l.t.Fatal(err)
	}
	u, _ := url.Parse(s.url)
	l.sign(u.Query().Get("sign"))
	_, err = m.AppAPIQuery(ctx, nil)
	l.err("connection refused", err)
	_, err = m.AppAPIFieldApply(ctx, &AppAPIFieldApplyRequest{AuthFieldApply: faValid(), Pictures: []File{FileFromBytes("a.png", upPNG)}})
	l.err("upload connection refused", err)
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
