package alipay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// Each SDK benchmark has a raw twin doing the same work with crypto/rsa,
// encoding/json and net/http alone, against the same loopback server with
// the same keys, so `go test -bench .` reads the SDK's overhead as a ratio.

// benchFixture is shared by the SDK and the raw benchmarks.
type benchFixture struct {
	srv       *httptest.Server
	gateway   string
	body      []byte // pre-signed alipay.open.app.api.query response
	appKey    *rsa.PrivateKey
	alipayPub *rsa.PublicKey
	client    *Client // acting for testToken, real clock
}

func newBenchFixture(b *testing.B, opts ...Option) *benchFixture {
	b.Helper()
	block, _ := pem.Decode(readTestdata(b, "keys/app_private_pkcs8.pem"))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	f := &benchFixture{appKey: k.(*rsa.PrivateKey), alipayPub: parsePublicPEM(b, "keys/alipay_test_public.pem")}
	f.body = []byte(newGatewaySigner(b).body(methodAppAPIQuery, nodeAPIQuery))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		_, _ = w.Write(f.body)
	}))
	b.Cleanup(f.srv.Close)
	f.gateway = f.srv.URL + "/gateway.do"
	c, err := NewClient(testAppID, append([]Option{WithPrivateKey(readTestdata(b, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(b, "keys/alipay_test_public.pem")), WithGatewayURL(f.gateway)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	f.client = c.WithAppAuthToken(testToken)
	return f
}

// rawAPIQuery is what the raw client decodes.
type rawAPIQuery struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	APIs    []struct {
		APIName     string `json:"api_name"`
		FieldName   string `json:"field_name"`
		PackageCode string `json:"package_code"`
	} `json:"apis"`
}

var rawCST = time.FixedZone("CST", 8*3600)

// rawSign signs a request the least a correct client can: sorted params,
// k=v joined by &, one SignPKCS1v15. It returns the query and the body.
func (f *benchFixture) rawSign() (query, body string, err error) {
	params := [][2]string{
		{"app_id", testAppID}, {"method", methodAppAPIQuery}, {"format", "JSON"}, {"charset", "utf-8"},
		{"sign_type", "RSA2"}, {"timestamp", time.Now().In(rawCST).Format("2006-01-02 15:04:05")},
		{"version", "1.0"}, {"app_auth_token", testToken},
	}
	sort.Slice(params, func(i, j int) bool { return params[i][0] < params[j][0] })
	var content, q strings.Builder
	for i, p := range params {
		if i > 0 {
			content.WriteByte('&')
		}
		content.WriteString(p[0] + "=" + p[1])
		if p[0] != "app_auth_token" {
			q.WriteString(p[0] + "=" + url.QueryEscape(p[1]) + "&")
		}
	}
	digest := sha256.Sum256([]byte(content.String()))
	sig, err := rsa.SignPKCS1v15(nil, f.appKey, crypto.SHA256, digest[:])
	if err != nil {
		return "", "", err
	}
	q.WriteString("sign=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)))
	return q.String(), "app_auth_token=" + url.QueryEscape(testToken), nil
}

// rawVerify finds the node bytes minimally, verifies them once and decodes.
func (f *benchFixture) rawVerify(body []byte) (*rawAPIQuery, error) {
	prefix := []byte(`{"alipay_open_app_api_query_response":`)
	end := bytes.LastIndex(body, []byte(`,"sign":"`))
	if !bytes.HasPrefix(body, prefix) || end < 0 || !bytes.HasSuffix(body, []byte(`"}`)) {
		return nil, errors.New("no node")
	}
	node := body[len(prefix):end]
	sig, err := base64.StdEncoding.DecodeString(string(body[end+len(`,"sign":"`) : len(body)-2]))
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(node)
	if err := rsa.VerifyPKCS1v15(f.alipayPub, crypto.SHA256, digest[:], sig); err != nil {
		return nil, err
	}
	var res rawAPIQuery
	if err := json.Unmarshal(node, &res); err != nil {
		return nil, err
	}
	if res.Code != "10000" || res.SubCode != "" {
		return nil, errors.New(res.Code)
	}
	return &res, nil
}

// rawCall is one full call with net/http: POST, read, verify, decode.
func (f *benchFixture) rawCall(ctx context.Context, hc *http.Client) (*rawAPIQuery, error) {
	q, body, err := f.rawSign()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.gateway+"?"+q, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, errors.New("bad response")
	}
	return f.rawVerify(data)
}

// rawHTTPClient is the minimal stdlib client: a plain http.Client over a
// transport, nothing the SDK happens to add (no Timeout: net/http starts a
// goroutine and a timer per request for it).
func rawHTTPClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

func BenchmarkSign(b *testing.B) {
	f := newBenchFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.client.sign(methodAppAPIQuery, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawSign(b *testing.B) {
	f := newBenchFixture(b)
	content := []byte("app_auth_token=" + testToken + "&app_id=" + testAppID + "&charset=utf-8&format=JSON&method=" +
		methodAppAPIQuery + "&sign_type=RSA2&timestamp=2024-05-20 13:14:15&version=1.0")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		digest := sha256.Sum256(content)
		if _, err := rsa.SignPKCS1v15(nil, f.appKey, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify: readResponse (extract, verify, status) plus the typed
// decode, i.e. everything the SDK does with a response body.
func BenchmarkVerify(b *testing.B) {
	f := newBenchFixture(b)
	ctx, h := context.Background(), http.Header{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := f.client.readResponse(ctx, methodAppAPIQuery, http.StatusOK, h, f.body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodeVerified[AppAPIQueryResponse](methodAppAPIQuery, res); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawVerify(b *testing.B) {
	f := newBenchFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.rawVerify(f.body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCall is a full call with the defaults: the 30 s timeout as a
// deadline on the call's ctx and retries configured (3 attempts; no fault,
// so one attempt runs).
func BenchmarkCall(b *testing.B) { benchCall(b) }

// BenchmarkCallNoRetry is BenchmarkCall with retries off (WithRetry(1, 0, 0)).
func BenchmarkCallNoRetry(b *testing.B) { benchCall(b, WithRetry(1, 0, 0)) }

func benchCall(b *testing.B, opts ...Option) {
	f := newBenchFixture(b, opts...)
	ctx := context.Background()
	if res, err := f.client.AppAPIQuery(ctx, nil); err != nil || len(res.APIs) != 2 {
		b.Fatal(res, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.client.AppAPIQuery(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawCall is the minimal stdlib call: params, one
// rsa.SignPKCS1v15, one POST on a plain http.Client{Transport: t}, find the
// node, one rsa.VerifyPKCS1v15, decode.
func BenchmarkRawCall(b *testing.B) {
	f := newBenchFixture(b)
	ctx, hc := context.Background(), rawHTTPClient()
	if res, err := f.rawCall(ctx, hc); err != nil || len(res.APIs) != 2 {
		b.Fatal(res, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.rawCall(ctx, hc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallParallel(b *testing.B) {
	f := newBenchFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.client.AppAPIQuery(context.Background(), nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRawCallParallel(b *testing.B) {
	f := newBenchFixture(b)
	hc := rawHTTPClient()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.rawCall(context.Background(), hc); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCallDirect is BenchmarkCall without the pipeline: the same
// signed request sent with the client's *http.Client, then the same
// readResponse and typed decode, with no deadline, retry loop, log check
// or observer. Call minus CallDirect is the pipeline's share.
func BenchmarkCallDirect(b *testing.B) {
	f := newBenchFixture(b)
	ctx := context.Background()
	call := func() error {
		s, err := f.client.sign(methodAppAPIQuery, nil, nil)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(encodeForm(s.body)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", formMediaType)
		req.Header.Set("User-Agent", userAgent)
		resp, err := f.client.core.http.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
		resp.Body.Close()
		if err != nil {
			return err
		}
		res, err := f.client.readResponse(ctx, methodAppAPIQuery, resp.StatusCode, resp.Header, body)
		if err != nil {
			return err
		}
		_, err = decodeVerified[AppAPIQueryResponse](methodAppAPIQuery, res)
		return err
	}
	if err := call(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
}
