package alipaytest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// This file is the tests' own small client: it builds, signs and sends raw
// gateway requests and checks the answers' signatures, with code that
// shares nothing with the server's.

// testWait bounds every wait of these tests: far more than a loaded
// machine needs, far less than go test's own timeout, so that a hang fails
// the test that hangs, with a message naming what it waited for, instead
// of stopping the whole binary after ten minutes without a word.
const testWait = 30 * time.Second

// testHTTP is the tests' raw HTTP client. Unlike http.DefaultClient it
// gives up after testWait: a request the server holds (a leftover
// FaultDelay, a lock held across I/O) fails the test instead of hanging it.
var testHTTP = &http.Client{Timeout: testWait}

// recv returns the next value from ch (the zero value once ch is closed),
// failing the test when none comes within testWait.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(testWait)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", testWait, what)
	}
	var zero T
	return zero
}

// bounded runs fn, failing the test when it has not returned within
// testWait. fn runs on another goroutine: it must not call t.FailNow.
func bounded(t testing.TB, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	recv(t, done, what)
}

// giveUpInDelay returns a ctx that s cancels when a FaultDelay wait
// starts: a client using it gives up while the server delays its answer,
// always after the server took the fault. A client on a short timer (the
// tests' former 50 ms) can instead give up before its request is even sent
// on a loaded machine; the one-hour fault then stayed queued and the next
// request, sent without a deadline, waited for it until go test's timeout.
func giveUpInDelay(t testing.TB, s *Server) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	t.Cleanup(cancel)
	s.mu.Lock()
	s.onDelay = cancel
	s.mu.Unlock()
	return ctx
}

func newTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := NewServer(opts...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func mustPrivateKey(t testing.TB, pemText []byte) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(pemText)
	require.NotNil(t, block)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	return k.(*rsa.PrivateKey)
}

func mustPublicKey(t testing.TB, pemText []byte) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode(pemText)
	require.NotNil(t, block)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	require.NoError(t, err)
	return k.(*rsa.PublicKey)
}

// repoFile reads a file of the repository's testdata/.
func repoFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	require.NoError(t, err)
	return b
}

type pair struct{ k, v string }

type tfile struct {
	name, filename, ctype string
	data                  []byte
	r                     io.Reader // streamed instead of data when set
}

// call is one raw request under construction.
type call struct {
	s         *Server
	query     []pair
	body      []pair
	files     []tfile
	multipart bool
	key       *rsa.PrivateKey
	noSign    bool
	sign      string // used instead of the computed signature when set
}

func cstNow() string {
	return time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05")
}

// newCall prepares a call of method for the default merchant, with the
// protocol parameters in the query, as the Java SDK places them.
func newCall(t testing.TB, s *Server, method string) *call {
	return &call{
		s: s,
		query: []pair{
			{"app_id", DefaultAppID}, {"method", method}, {"format", "JSON"}, {"charset", "utf-8"},
			{"sign_type", "RSA2"}, {"timestamp", cstNow()}, {"version", "1.0"},
		},
		body: []pair{{"app_auth_token", DefaultMerchantToken}},
		key:  mustPrivateKey(t, s.AppPrivateKeyPEM()),
	}
}

// set replaces k wherever it is, or adds it to the body.
func (c *call) set(k, v string) *call {
	for _, l := range []*[]pair{&c.query, &c.body} {
		for i := range *l {
			if (*l)[i].k == k {
				(*l)[i].v = v
				return c
			}
		}
	}
	c.body = append(c.body, pair{k, v})
	return c
}

// del removes k everywhere.
func (c *call) del(k string) *call {
	for _, l := range []*[]pair{&c.query, &c.body} {
		out := (*l)[:0]
		for _, p := range *l {
			if p.k != k {
				out = append(out, p)
			}
		}
		*l = out
	}
	return c
}

func (c *call) file(name, filename, ctype string, data []byte) *call {
	c.multipart = true
	c.files = append(c.files, tfile{name: name, filename: filename, ctype: ctype, data: data})
	return c
}

// content is the test's own string to sign: every text pair except sign and
// empty values, sorted by key, k=v joined with '&'.
func (c *call) content() string {
	var ps []pair
	for _, p := range append(append([]pair(nil), c.query...), c.body...) {
		if p.k != "sign" && p.v != "" {
			ps = append(ps, p)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

func testSign(t testing.TB, key *rsa.PrivateKey, content string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(content))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

func encodePairs(ps []pair) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = url.QueryEscape(p.k) + "=" + url.QueryEscape(p.v)
	}
	return strings.Join(parts, "&")
}

// request builds the signed HTTP request; a multipart body is streamed.
func (c *call) request(t testing.TB) *http.Request {
	t.Helper()
	q := append([]pair(nil), c.query...)
	if !c.noSign {
		sign := c.sign
		if sign == "" {
			sign = testSign(t, c.key, c.content())
		}
		q = append(q, pair{"sign", sign})
	}
	u := c.s.URL + "?" + encodePairs(q)
	if !c.multipart {
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(encodePairs(c.body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
		return req
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeParts(mw, c.body, c.files))
	}()
	req, err := http.NewRequest(http.MethodPost, u, pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

func writeParts(mw *multipart.Writer, text []pair, files []tfile) error {
	for _, p := range text {
		if err := mw.WriteField(p.k, p.v); err != nil {
			return err
		}
	}
	for _, f := range files {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="` + f.name + `"; filename="` + f.filename + `"`}
		if f.ctype != "" {
			h["Content-Type"] = []string{f.ctype}
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		src := f.r
		if src == nil {
			src = bytes.NewReader(f.data)
		}
		if _, err := io.Copy(w, src); err != nil {
			return err
		}
	}
	return mw.Close()
}

// reply is a parsed answer.
type reply struct {
	status   int
	header   http.Header
	raw      string
	node     string
	nodeRaw  json.RawMessage
	sign     string
	hasSign  bool
	fields   map[string]any
	code     string
	subCode  string
	subMsg   string
	verified bool
}

func (c *call) do(t testing.TB) *reply {
	t.Helper()
	return send(t, c.s, c.request(t))
}

// send posts req and parses the answer, verifying its signature with the
// server's Alipay public key.
func send(t testing.TB, s *Server, req *http.Request) *reply {
	t.Helper()
	resp, err := testHTTP.Do(req)
	require.NoError(t, err, "no answer from the gateway")
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := &reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if resp.StatusCode != http.StatusOK {
		return r
	}
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &top), "body %s", raw)
	for k, v := range top {
		if strings.HasSuffix(k, "_response") {
			r.node, r.nodeRaw = k, v
		}
	}
	require.NotEmpty(t, r.node, "no node in %s", raw)
	if s, ok := top["sign"]; ok {
		r.hasSign = true
		require.NoError(t, json.Unmarshal(s, &r.sign))
	}
	require.NoError(t, json.Unmarshal(r.nodeRaw, &r.fields))
	r.code, _ = r.fields["code"].(string)
	r.subCode, _ = r.fields["sub_code"].(string)
	r.subMsg, _ = r.fields["sub_msg"].(string)
	if sig, err := base64.StdEncoding.DecodeString(r.sign); err == nil && r.hasSign {
		sum := sha256.Sum256(r.nodeRaw)
		r.verified = rsa.VerifyPKCS1v15(mustPublicKey(t, s.AlipayPublicKeyPEM()), crypto.SHA256, sum[:], sig) == nil
	}
	return r
}

// requireCode asserts the answer's code and sub_code, and that it is signed.
func requireCode(t testing.TB, r *reply, code, subCode string) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, r.raw)
	require.Equal(t, code, r.code, r.raw)
	require.Equal(t, subCode, r.subCode, r.raw)
	require.True(t, r.verified, "answer not signed by the server: %s", r.raw)
}

// pngBytes returns a w×h PNG.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		img.Set(x, x%h, color.RGBA{R: 0x12, G: 0x96, B: 0xdb, A: 0xff})
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// mp4Bytes returns the start of an MP4 file (an ftyp box) and some padding.
func mp4Bytes() []byte {
	return append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), bytes.Repeat([]byte{0}, 1000)...)
}

// applyJSON is a valid auth_field_apply for the default fields.
const applyJSON = `{"api_name":"getPhoneNumber","field_name":"mobile","package_code":"20180927110154092444",` +
	`"scene_code":"14","qps_answer":"预计接口秒级调用量峰值：200 QPS","customer_answer":"有自己的客服团队3人","memo":"收发快递联系人"}`

// applyCall is a valid field.apply with one picture.
func applyCall(t testing.TB, s *Server) *call {
	return newCall(t, s, methodFieldApply).set("auth_field_apply", applyJSON).
		file("picture_1", "login.png", "image/png", pngBytes(t, 8, 8))
}
