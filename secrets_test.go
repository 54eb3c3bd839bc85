package alipay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"
)

// The secrets test drives every error path it can reach with a known app
// private key (testdata's app key), a known app_auth_token and known
// signatures (every request sign the mock gateway receives, every
// notification sign), captures every error string (%v, %+v and %#v) and
// every slog record (JSON, Debug level, from the clients and the handlers),
// and asserts that none holds the token, a 16-character window of the key's
// Base64 (PKCS#8 and PKCS#1, PEM and bare), or a 16-character window of a
// signature (raw or URL-escaped). The paths are here, in
// secrets_calls_test.go and in secrets_notify_test.go.

// secretsToken is the merchant token of the secrets test.
const secretsToken = "202405BBsecretsTokenQ9xZ7wV3kR1m"

// leakCheck collects what the test printed and the signatures it saw.
type leakCheck struct {
	t      *testing.T
	logger *slog.Logger
	logs   *notifyLogBuffer
	mu     sync.Mutex
	texts  []string
	signs  []string
	errs   int
}

func newLeakCheck(t *testing.T) *leakCheck {
	logger, logs := notifyDebugLogger()
	return &leakCheck{t: t, logger: logger, logs: logs}
}

// err records a path's error; the path must have failed.
func (l *leakCheck) err(label string, err error) {
	l.t.Helper()
	if err == nil {
		l.t.Errorf("%s: no error", label)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs++
	l.texts = append(l.texts, label+": "+fmt.Sprintf("%v\n%+v\n%#v", err, err, err))
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		l.texts = append(l.texts, label+" (wrapped): "+fmt.Sprintf("%v\n%#v", e, e))
	}
}

// text records any other printed value.
func (l *leakCheck) text(label, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.texts = append(l.texts, label+": "+s)
}

// sign records a signature that must never be printed.
func (l *leakCheck) sign(s string) {
	if s == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.signs = append(l.signs, s, url.QueryEscape(s))
}

// options are the options of a public-key client that logs to l.
func (l *leakCheck) options(answer func(*http.Request) (*http.Response, error), extra ...Option) []Option {
	return append(append(baseOptions(l.t), WithLogger(l.logger), WithHTTPClient(l.transport(answer))), extra...)
}

// merchant returns a public-key client for secretsToken whose gateway
// answers with answer.
func (l *leakCheck) merchant(answer func(*http.Request) (*http.Response, error), extra ...Option) *Client {
	l.t.Helper()
	c, err := NewClient(testAppID, l.options(answer, extra...)...)
	require.NoError(l.t, err)
	return c.WithAppAuthToken(secretsToken)
}

// transport is a private httpmock transport: every request's sign is
// recorded, its body read (so upload streams run), then answer decides.
func (l *leakCheck) transport(answer func(*http.Request) (*http.Response, error)) *http.Client {
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		l.sign(req.URL.Query().Get("sign"))
		if req.Body != nil {
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return nil, err
			}
		}
		return answer(req)
	})
	return &http.Client{Transport: mock}
}

// answer returns a fixed response.
func answer(status int, body string) func(*http.Request) (*http.Response, error) {
	return func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("trace_id", "0b1f2c3d4e5f")
		return resp, nil
	}
}

// keyWindows returns every 16-character window of the Base64 of the app key
// files: PEM bodies joined without line breaks, and the bare Base64 files.
func keyWindows(t *testing.T) map[string]bool {
	windows := map[string]bool{}
	for _, f := range []string{"app_private_pkcs8.pem", "app_private_pkcs1.pem", "app_private_pkcs8.b64", "app_private_pkcs1.b64"} {
		var b64 strings.Builder
		for _, line := range strings.Split(string(readTestdata(t, filepath.Join("keys", f))), "\n") {
			if line = strings.TrimSpace(line); !strings.HasPrefix(line, "-----") {
				b64.WriteString(line)
			}
		}
		for s, i := b64.String(), 0; i+16 <= len(s); i++ {
			windows[s[i:i+16]] = true
		}
	}
	require.Greater(t, len(windows), 2000)
	return windows
}

// check asserts that nothing printed holds a secret, after checking that
// enough paths were driven (errors and log records) and that the search
// finds planted secrets.
func (l *leakCheck) check(minErrors, minRecords int) {
	t := l.t
	l.mu.Lock()
	defer l.mu.Unlock()
	require.GreaterOrEqual(t, l.errs, minErrors, "error paths driven")
	require.NotEmpty(t, l.signs, "signatures seen")
	secrets := keyWindows(t)
	for _, s := range l.signs {
		for i := 0; i+16 <= len(s); i++ {
			secrets[s[i:i+16]] = true
		}
	}
	records := strings.Split(strings.TrimSpace(l.logs.String()), "\n")
	require.GreaterOrEqual(t, len(records), minRecords, "log records")
	key := string(readTestdata(t, "keys/app_private_pkcs8.b64"))
	for _, planted := range []string{"x" + secretsToken, "k=" + key[100:116] + ".", l.signs[0][30:46], l.signs[1][40:56]} {
		require.NotEmpty(t, leaks(secrets, planted), "the search misses %q", planted)
	}
	for _, text := range append(l.texts, records...) {
		for _, leak := range leaks(secrets, text) {
			t.Errorf("%s appears in %s", leak, text)
		}
	}
	t.Logf("%d error paths, %d texts, %d log records, %d signatures checked", l.errs, len(l.texts), len(records), len(l.signs)/2)
}

// leaks names the secrets text holds: the token, or a 16-character window
// of key or signature material.
func leaks(secrets map[string]bool, text string) []string {
	var found []string
	if strings.Contains(text, secretsToken) {
		found = append(found, "the token")
	}
	for i := 0; i+16 <= len(text); i++ {
		if secrets[text[i:i+16]] {
			found = append(found, fmt.Sprintf("key or signature material %q", text[i:i+16]))
			break
		}
	}
	return found
}

// TestSecretsNeverPrinted drives the error paths of key loading, client
// options and transport failures and checks the output for the three
// secrets; secrets_calls_test.go and secrets_notify_test.go drive the
// others.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	l := newLeakCheck(t)
	secretKeyPaths(l)
	secretClientPaths(l)
	secretTransportPaths(l)
	l.check(85, 10)
}

// writeTemp writes data to a file in a temporary directory.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

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
