package alipay

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"
)

// The in-package fake gateway. It reads every request with its own code
// (none of the client's signing, encoding or AES helpers), so a bug shared
// by both sides cannot pass, and it is served two ways: a loopback HTTP
// server (newLoopbackGateway) or an httpmock responder (serveMock). Tests
// that only need a correct gateway and the exported API use alipaytest.

// queryKeys are exactly the parameters a call puts in the URL query, besides
// encrypt_type with AES.
var queryKeys = []string{"app_id", "charset", "format", "method", "sign", "sign_type", "timestamp", "version"}

var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)

// isvAESKey is the ISV app's own AES key in these tests (the generated key
// of testdata/kat/aes.json).
const isvAESKey = "zM+/R8elr0D6ivjOyoUBuQ=="

// gatewayRequest is what the fake gateway read from one request.
type gatewayRequest struct {
	Method        string
	Query         url.Values
	Form          url.Values             // the form body, or the multipart text parts
	Files         map[string]gatewayFile // the multipart file parts
	Biz           string                 // biz_content, decrypted when encrypt_type=AES
	Encrypted     bool
	ContentType   string
	ContentLength int64
	Content       string // the string to sign the gateway rebuilt
}

// gatewayFile is a file part as the gateway received it.
type gatewayFile struct {
	Filename, ContentType string
	Size                  int
	SHA256                [32]byte
}

// checkGatewayRequest checks r as the gateway would: a POST of a UTF-8 form
// or a multipart body; the protocol params exactly, only in the query (and
// encrypt_type=AES with the ISV key); the business params only in the body
// (text parts are signed, files are not); no key twice, none empty; the sign
// valid over the rebuilt string to sign with the app public key; and, when
// want is not zero, a UTC+8 timestamp within tolerance of want.
func checkGatewayRequest(r *http.Request, appPub *rsa.PublicKey, want time.Time, tolerance time.Duration) (*gatewayRequest, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("method %s, want POST", r.Method)
	}
	query, err := singleValues("query", r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	g := &gatewayRequest{Method: query.Get("method"), Query: query, Files: map[string]gatewayFile{},
		ContentType: r.Header.Get("Content-Type"), ContentLength: r.ContentLength}
	if g.Form, err = readGatewayBody(r, g); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(query))
	for k := range query {
		if k != "encrypt_type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != strings.Join(queryKeys, ",") {
		return nil, fmt.Errorf("query keys %v, want %v", keys, queryKeys)
	}
	text := map[string]string{}
	for k := range g.Form {
		if query.Has(k) || k == "encrypt_type" || slices.Contains(queryKeys, k) {
			return nil, fmt.Errorf("body key %s belongs in the query or is given twice", k)
		}
		text[k] = g.Form.Get(k)
	}
	if g.Content, err = verifyGatewaySign(appPub, query, text); err != nil {
		return nil, err
	}
	for k, v := range map[string]string{"app_id": testAppID, "format": "JSON", "charset": "utf-8", "sign_type": "RSA2", "version": "1.0"} {
		if query.Get(k) != v {
			return nil, fmt.Errorf("%s=%q, want %q", k, query.Get(k), v)
		}
	}
	ts := query.Get("timestamp")
	at, err := time.ParseInLocation("2006-01-02 15:04:05", ts, time.FixedZone("UTC+8", 8*3600))
	if !timestampRE.MatchString(ts) || err != nil {
		return nil, fmt.Errorf("timestamp %q is not yyyy-MM-dd HH:mm:ss", ts)
	}
	if d := at.Sub(want); !want.IsZero() && (d > tolerance || d < -tolerance) {
		return nil, fmt.Errorf("timestamp %q is %v away from %v in UTC+8", ts, d, want)
	}
	g.Biz = g.Form.Get("biz_content")
	switch query.Get("encrypt_type") {
	case "":
		if g.Biz != "" && (!json.Valid([]byte(g.Biz)) || strings.HasSuffix(g.Biz, "\n")) {
			return nil, fmt.Errorf("biz_content %q is not compact JSON", g.Biz)
		}
	case "AES":
		key, _ := base64.StdEncoding.DecodeString(isvAESKey)
		ct, err := base64.StdEncoding.DecodeString(g.Biz)
		if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
			return nil, fmt.Errorf("biz_content is not an AES ciphertext")
		}
		g.Biz, g.Encrypted = string(cbcZeroIV(key, ct, false)), true
	default:
		return nil, fmt.Errorf("encrypt_type %q", query.Get("encrypt_type"))
	}
	return g, nil
}

// readGatewayBody returns the text params of a form or multipart body and
// records a multipart body's files in g.
func readGatewayBody(r *http.Request, g *gatewayRequest) (url.Values, error) {
	mt, ps, err := mime.ParseMediaType(g.ContentType)
	switch {
	case err == nil && mt == "application/x-www-form-urlencoded" && strings.EqualFold(ps["charset"], "utf-8"):
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		return singleValues("body", string(raw))
	case err != nil || mt != "multipart/form-data" || ps["boundary"] == "":
		return nil, fmt.Errorf("Content-Type %q, want a UTF-8 form or multipart", g.ContentType)
	}
	text := url.Values{}
	mr := multipart.NewReader(r.Body, ps["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return text, nil
		}
		if err != nil {
			return nil, err
		}
		name := p.FormName()
		if _, dup := g.Files[name]; name == "" || dup || text.Has(name) {
			return nil, fmt.Errorf("part %q missing or given twice", name)
		}
		if p.FileName() == "" {
			if ct := p.Header.Get("Content-Type"); ct != "text/plain;charset=utf-8" {
				return nil, fmt.Errorf("text part %s has Content-Type %q", name, ct)
			}
			v, err := io.ReadAll(io.LimitReader(p, 1<<20))
			if err != nil || len(v) == 0 {
				return nil, fmt.Errorf("text part %s is empty or unreadable (%v)", name, err)
			}
			text.Set(name, string(v))
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, p)
		if err != nil {
			return nil, err
		}
		f := gatewayFile{Filename: p.FileName(), ContentType: p.Header.Get("Content-Type"), Size: int(n)}
		copy(f.SHA256[:], h.Sum(nil))
		g.Files[name] = f
	}
}

// verifyGatewaySign does what the gateway does with a request's signature,
// with the test's own code: join the query params but sign and the text
// params (body fields or multipart text parts) sorted by key as k=v with '&',
// and verify the query's sign over it with appPub. It returns the content.
func verifyGatewaySign(appPub *rsa.PublicKey, query url.Values, text map[string]string) (string, error) {
	all := make(map[string]string, len(query)+len(text))
	for k := range query {
		if k != "sign" {
			all[k] = query.Get(k)
		}
	}
	for k, v := range text {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + all[k]
	}
	content := strings.Join(parts, "&")
	sig, err := base64.StdEncoding.Strict().DecodeString(query.Get("sign"))
	if err != nil {
		return "", fmt.Errorf("sign is not standard Base64")
	}
	digest := sha256.Sum256([]byte(content))
	if rsa.VerifyPKCS1v15(appPub, crypto.SHA256, digest[:], sig) != nil {
		return "", fmt.Errorf("sign does not verify over %q", content)
	}
	return content, nil
}

// singleValues parses a query or form and refuses a key given twice or an
// empty value (the client must send neither).
func singleValues(where, raw string) (url.Values, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("%s does not parse: %v", where, err)
	}
	for k, vs := range v {
		if len(vs) != 1 {
			return nil, fmt.Errorf("%s: key %s given %d times", where, k, len(vs))
		}
		if vs[0] == "" {
			return nil, fmt.Errorf("%s: key %s sent empty", where, k)
		}
	}
	return v, nil
}

// gatewayAnswer returns the node answering a request, and whether to send it
// encrypted with the ISV's AES key.
type gatewayAnswer func(r *gatewayRequest) (node string, encrypt bool)

// defaultAnswer answers each method with its success node.
func defaultAnswer(r *gatewayRequest) (string, bool) {
	switch r.Method {
	case methodAppAPIFieldApply:
		return upSuccess, false
	case methodMiniBaseInfoModify:
		return mmNode, false
	}
	return successNodes[r.Method], false
}

// loopbackGateway is an httptest server on 127.0.0.1 acting as the gateway:
// it checks each request (any timestamp: clients may run on a fixed clock),
// records it, and answers what answer says, signed.
type loopbackGateway struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*gatewayRequest
	errs []error
}

// newLoopbackGateway starts a gateway; a nil answer is defaultAnswer.
func newLoopbackGateway(t *testing.T, answer gatewayAnswer) *loopbackGateway {
	t.Helper()
	if answer == nil {
		answer = defaultAnswer
	}
	appPub := parsePublicPEM(t, "keys/app_public.pem")
	signer := newGatewaySigner(t)
	key, err := base64.StdEncoding.DecodeString(isvAESKey)
	require.NoError(t, err)
	g := &loopbackGateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gr, err := checkGatewayRequest(r, appPub, time.Time{}, 0)
		g.mu.Lock()
		if err != nil {
			g.errs = append(g.errs, err)
		} else {
			g.reqs = append(g.reqs, gr)
		}
		g.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		node, encrypt := answer(gr)
		if node == "" {
			http.Error(w, "unknown method", http.StatusNotFound)
			return
		}
		if encrypt {
			node = `"` + base64.StdEncoding.EncodeToString(cbcZeroIV(key, []byte(node), true)) + `"`
		}
		w.Header().Set("Content-Type", "text/html;charset=utf-8") // as the gateway does
		w.Header().Set("trace_id", "loopback-trace")
		_, _ = io.WriteString(w, signer.body(gr.Method, node))
	}))
	t.Cleanup(g.Close)
	return g
}

// client returns an ISV client of the gateway (the KAT app key, the test
// Alipay key) with opts applied after those.
func (g *loopbackGateway) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(testAppID, append([]Option{
		WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")),
		WithGatewayURL(g.URL + "/gateway.do"), WithHTTPClient(g.Client()), WithTimeout(10 * time.Second),
	}, opts...)...)
	require.NoError(t, err)
	return c
}

// requests returns what the gateway accepted; nothing may have been refused.
func (g *loopbackGateway) requests(t *testing.T) []*gatewayRequest {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	require.Empty(t, g.errs)
	return append([]*gatewayRequest(nil), g.reqs...)
}

// last returns the one request the gateway accepted.
func (g *loopbackGateway) last(t *testing.T) *gatewayRequest {
	t.Helper()
	reqs := g.requests(t)
	require.Len(t, reqs, 1)
	return reqs[0]
}

// mockGateway records what an httpmock responder saw, checked as the
// gateway would (at fixedTime exactly), and answers a fixed response.
type mockGateway struct {
	mu   sync.Mutex
	reqs []*gatewayRequest
	errs []error
}

func (mg *mockGateway) responder(t testing.TB, status int, body string, header http.Header) httpmock.Responder {
	appPub := parsePublicPEM(t, "keys/app_public.pem")
	return func(r *http.Request) (*http.Response, error) {
		gr, err := checkGatewayRequest(r, appPub, fixedTime, 0)
		mg.mu.Lock()
		if err != nil {
			mg.errs = append(mg.errs, err)
		} else {
			mg.reqs = append(mg.reqs, gr)
		}
		mg.mu.Unlock()
		resp := httpmock.NewStringResponse(status, body)
		for k, vs := range header {
			resp.Header[k] = vs
		}
		return resp, nil
	}
}

// requests returns the checked requests; every request must have passed.
func (mg *mockGateway) requests(t testing.TB) []*gatewayRequest {
	t.Helper()
	mg.mu.Lock()
	defer mg.mu.Unlock()
	require.Empty(t, mg.errs)
	return mg.reqs
}

// serveMock registers a responder for the test gateway and returns its recorder.
func serveMock(t testing.TB, mock *httpmock.MockTransport, status int, body string, header http.Header) *mockGateway {
	mg := &mockGateway{}
	mock.RegisterResponder(http.MethodPost, testGW, mg.responder(t, status, body, header))
	return mg
}

// cbcZeroIV is AES-CBC with a zero IV and PKCS#7 padding, written apart
// from internal/aescbc. Decryption returns nil for bad padding.
func cbcZeroIV(key, data []byte, encrypt bool) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a fixed test key
	}
	iv := make([]byte, aes.BlockSize)
	if encrypt {
		pad := aes.BlockSize - len(data)%aes.BlockSize
		buf := append(append([]byte{}, data...), bytes.Repeat([]byte{byte(pad)}, pad)...)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
		return buf
	}
	buf := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, data)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize || !bytes.Equal(buf[len(buf)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil
	}
	return buf[:len(buf)-pad]
}
