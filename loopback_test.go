package alipay

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fake gateway below reads requests with its own code: none of the
// client's signing or encoding helpers is used, so a bug shared by both
// sides cannot pass.

// queryKeys are exactly the parameters a form call puts in the URL query.
var queryKeys = []string{"app_id", "charset", "format", "method", "sign", "sign_type", "timestamp", "version"}

// bodyKeys are the only parameters a form call may put in the body.
var bodyKeys = map[string]bool{"app_auth_token": true, "biz_content": true}

var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)

// gatewayRequest is what the fake gateway read from one request.
type gatewayRequest struct {
	Query       url.Values
	Form        url.Values
	ContentType string
	Content     string // the string to sign the gateway rebuilt
}

// parsePublicPEM reads a PEM SubjectPublicKeyInfo RSA key with x509 alone.
func parsePublicPEM(t testing.TB, name string) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode(readTestdata(t, name))
	require.NotNil(t, block)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	require.NoError(t, err)
	return k.(*rsa.PublicKey)
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

// checkGatewayRequest checks r as the gateway would: POST, form body,
// protocol params only in the query, business params only in the body, no
// key twice, sign valid over the rebuilt string to sign with the app public
// key, and a UTC+8 timestamp within tolerance of want.
func checkGatewayRequest(r *http.Request, appPub *rsa.PublicKey, want time.Time, tolerance time.Duration) (*gatewayRequest, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("method %s, want POST", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	mt, ps, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" || !strings.EqualFold(ps["charset"], "utf-8") {
		return nil, fmt.Errorf("Content-Type %q, want a UTF-8 form", ct)
	}
	query, err := singleValues("query", r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	got := make([]string, 0, len(query))
	for k := range query {
		got = append(got, k)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(queryKeys, ",") {
		return nil, fmt.Errorf("query keys %v, want %v", got, queryKeys)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	form, err := singleValues("body", string(raw))
	if err != nil {
		return nil, err
	}
	all := map[string]string{}
	for k := range form {
		if !bodyKeys[k] {
			return nil, fmt.Errorf("body key %s not allowed", k)
		}
		if query.Has(k) {
			return nil, fmt.Errorf("key %s both in query and body", k)
		}
		all[k] = form.Get(k)
	}
	content, err := verifyGatewaySign(appPub, query, all)
	if err != nil {
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
	if d := at.Sub(want); d > tolerance || d < -tolerance {
		return nil, fmt.Errorf("timestamp %q is %v away from %v in UTC+8", ts, d, want)
	}
	if biz := form.Get("biz_content"); biz != "" && (!json.Valid([]byte(biz)) || strings.HasSuffix(biz, "\n")) {
		return nil, fmt.Errorf("biz_content %q is not compact JSON", biz)
	}
	return &gatewayRequest{Query: query, Form: form, ContentType: ct, Content: content}, nil
}

// loopbackGateway is an httptest server on 127.0.0.1 acting as the gateway.
type loopbackGateway struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*gatewayRequest
	errs []error
}

func newLoopbackGateway(t *testing.T) *loopbackGateway {
	t.Helper()
	appPub := parsePublicPEM(t, "keys/app_public.pem")
	g := newGatewaySigner(t)
	lg := &loopbackGateway{}
	lg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gr, err := checkGatewayRequest(r, appPub, time.Now(), 2*time.Minute)
		lg.mu.Lock()
		defer lg.mu.Unlock()
		if err != nil {
			lg.errs = append(lg.errs, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		lg.reqs = append(lg.reqs, gr)
		method := gr.Query.Get("method")
		node, ok := successNodes[method]
		if !ok {
			http.Error(w, "unknown method", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html;charset=utf-8") // as the gateway does
		w.Header().Set("trace_id", "loopback-trace")
		_, _ = io.WriteString(w, g.body(method, node))
	}))
	t.Cleanup(lg.Close)
	return lg
}

// TestLoopbackGateway runs each call against a real loopback server that
// checks the request as the gateway would.
func TestLoopbackGateway(t *testing.T) {
	lg := newLoopbackGateway(t)
	c, err := NewClient(testAppID,
		WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")),
		WithGatewayURL(lg.URL+"/gateway.do"), WithTimeout(10*time.Second))
	require.NoError(t, err)
	m := c.WithAppAuthToken(testToken)
	ctx := context.Background()

	for _, tc := range fourCalls {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.invoke(ctx, m)
			require.NoError(t, err)
			tc.check(t, res)
		})
	}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	require.Empty(t, lg.errs)
	require.Len(t, lg.reqs, len(fourCalls))
	for i, r := range lg.reqs {
		assert.Equal(t, fourCalls[i].method, r.Query.Get("method"))
		assert.Equal(t, testToken, r.Form.Get("app_auth_token"))
		if fourCalls[i].method == methodAppAPISceneQuery {
			assert.Equal(t, `{"api_name":"getPhoneNumber","field_name":"mobile"}`, r.Form.Get("biz_content"))
		} else {
			assert.False(t, r.Form.Has("biz_content"))
		}
	}
}

// TestLoopbackRootClientSendsNoToken: the ISV's own client sends no
// app_auth_token at all, not an empty one.
func TestLoopbackRootClientSendsNoToken(t *testing.T) {
	lg := newLoopbackGateway(t)
	c, err := NewClient(testAppID,
		WithPrivateKeyFile("testdata/keys/app_private_pkcs1.pem"),
		WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.b64"),
		WithGatewayURL(lg.URL+"/gateway.do"))
	require.NoError(t, err)
	res, err := c.AppAPIQuery(context.Background(), nil)
	require.NoError(t, err)
	assert.Len(t, res.APIs, 2)
	lg.mu.Lock()
	defer lg.mu.Unlock()
	require.Empty(t, lg.errs)
	require.Len(t, lg.reqs, 1)
	assert.Empty(t, lg.reqs[0].Form)
	assert.NotContains(t, lg.reqs[0].Content, "app_auth_token")
}

// mockGateway records what an httpmock responder saw, checked as the
// gateway would (checkGatewayRequest), and answers a fixed response.
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
