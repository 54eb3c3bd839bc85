package alipay

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyOptions are the two required key options.
func keyOptions(t testing.TB) []Option {
	return []Option{
		WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")),
	}
}

// TestNewClientErrors: missing keys, bad app ids and nil options fail with
// a message that names the fix.
func TestNewClientErrors(t *testing.T) {
	t.Parallel()
	priv := WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem")
	pub := WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem")
	for name, tc := range map[string]struct {
		appID string
		opts  []Option
		want  string
	}{
		"no_keys":         {testAppID, nil, "alipay: NewClient: no app private key: use WithPrivateKey or WithPrivateKeyFile"},
		"no_alipay_key":   {testAppID, []Option{priv}, "alipay: NewClient: no Alipay public key: use WithAlipayPublicKey or WithAlipayPublicKeyFile"},
		"no_private_key":  {testAppID, []Option{pub}, "alipay: NewClient: no app private key"},
		"empty_app_id":    {"", []Option{priv, pub}, `alipay: NewClient: invalid app id ""`},
		"space_app_id":    {"2021 0001", []Option{priv, pub}, "alipay: NewClient: invalid app id"},
		"amp_app_id":      {"2021&method=x", []Option{priv, pub}, "alipay: NewClient: invalid app id"},
		"newline_app_id":  {"2021\n", []Option{priv, pub}, "alipay: NewClient: invalid app id"},
		"nil_option":      {testAppID, []Option{priv, nil, pub}, "alipay: NewClient: option 1 is nil"},
		"nil_http_client": {testAppID, []Option{priv, pub, WithHTTPClient(nil)}, "alipay: WithHTTPClient: nil *http.Client"},
		"nil_logger":      {testAppID, []Option{priv, pub, WithLogger(nil)}, "alipay: WithLogger: nil logger"},
		"nil_clock":       {testAppID, []Option{priv, pub, WithClock(nil)}, "alipay: WithClock: nil clock"},
		"negative_timeout": {testAppID, []Option{priv, pub, WithTimeout(-time.Second)},
			"alipay: WithTimeout: negative timeout -1s"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := NewClient(tc.appID, tc.opts...)
			assert.Nil(t, c)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tc.want), err.Error())
		})
	}
}

// TestWithGatewayURL accepts absolute http(s) URLs without a query.
func TestWithGatewayURL(t *testing.T) {
	t.Parallel()
	for u, ok := range map[string]bool{
		"https://openapi.alipay.com/gateway.do": true, "http://127.0.0.1:8080/gateway.do": true, "https://gw.test": true,
		"": false, "gateway.do": false, "/gateway.do": false, "ftp://x/gateway.do": false, "https://": false,
		"https://x/gateway.do?charset=utf-8": false, "https://x/gateway.do#f": false, "http://[::1": false, " https://x": false,
	} {
		var cfg config
		err := WithGatewayURL(u)(&cfg)
		if ok {
			assert.NoError(t, err, u)
			assert.Equal(t, u, cfg.gateway)
		} else {
			require.Error(t, err, u)
			assert.True(t, strings.HasPrefix(err.Error(), "alipay: WithGatewayURL: "), err.Error())
		}
	}
}

// TestGatewaySelection: production by default, WithSandbox the current
// sandbox host, and the chosen URL is where calls go.
func TestGatewaySelection(t *testing.T) {
	t.Parallel()
	c, err := NewClient(testAppID, keyOptions(t)...)
	require.NoError(t, err)
	assert.Equal(t, "https://openapi.alipay.com/gateway.do", c.core.gateway)
	assert.Equal(t, "https://openapi-sandbox.dl.alipaydev.com/gateway.do", SandboxGateway)

	c, mock := newMockClient(t, WithSandbox())
	assert.Equal(t, SandboxGateway, c.core.gateway)
	mock.RegisterResponder(http.MethodPost, SandboxGateway, httpmock.NewStringResponder(200,
		newGatewaySigner(t).body(methodAppAPIQuery, nodeAPIQuery)))
	_, err = c.AppAPIQuery(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, 1, mock.GetTotalCallCount())
}

// TestWithHTTPClientCopies: the caller's client is never written, and
// changing it after NewClient changes nothing.
func TestWithHTTPClientCopies(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Timeout: 7 * time.Second}
	c, err := NewClient(testAppID, append(keyOptions(t), WithHTTPClient(hc))...)
	require.NoError(t, err)
	assert.Equal(t, &http.Client{Timeout: 7 * time.Second}, hc, "caller's client changed")
	assert.NotSame(t, hc, c.core.http)
	assert.Equal(t, 7*time.Second, c.core.http.Timeout, "the caller's timeout is kept")
	assert.Equal(t, 7*time.Second, c.core.timeout, "and bounds the call without WithTimeout")

	c, err = NewClient(testAppID, append(keyOptions(t), WithHTTPClient(hc), WithTimeout(2*time.Second))...)
	require.NoError(t, err)
	assert.Equal(t, 7*time.Second, hc.Timeout)
	assert.Equal(t, 7*time.Second, c.core.http.Timeout, "the caller's per-request timeout is respected")
	assert.Equal(t, 2*time.Second, c.core.timeout)

	mock, other := httpmock.NewMockTransport(), httpmock.NewMockTransport()
	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(200,
		newGatewaySigner(t).body(methodAppAPIQuery, nodeAPIQuery)))
	hc = &http.Client{Transport: mock}
	c, err = NewClient(testAppID, append(baseOptions(t), WithHTTPClient(hc))...)
	require.NoError(t, err)
	hc.Transport, hc.Timeout = other, time.Nanosecond
	_, err = c.AppAPIQuery(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, 1, mock.GetTotalCallCount())
	assert.Equal(t, 0, other.GetTotalCallCount())
}

// TestTimeouts: 30 s by default, WithTimeout(0) means none, negative fails.
// The timeout is a deadline on each call's ctx (c.core.timeout), never
// http.Client.Timeout, which costs a goroutine and a timer per request; a
// caller's own http.Client.Timeout is kept as it is.
func TestTimeouts(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 30*time.Second, DefaultTimeout)
	for name, tc := range map[string]struct {
		opts       []Option
		want, http time.Duration
	}{
		"default":          {nil, 30 * time.Second, 0},
		"zero_http_client": {[]Option{WithHTTPClient(&http.Client{})}, 30 * time.Second, 0},
		"with_timeout":     {[]Option{WithTimeout(5 * time.Second)}, 5 * time.Second, 0},
		"zero":             {[]Option{WithTimeout(0)}, 0, 0},
		"client_timeout":   {[]Option{WithHTTPClient(&http.Client{Timeout: time.Minute})}, time.Minute, time.Minute},
		"zero_over_client": {[]Option{WithHTTPClient(&http.Client{Timeout: time.Minute}), WithTimeout(0)}, 0, time.Minute},
	} {
		c, err := NewClient(testAppID, append(keyOptions(t), tc.opts...)...)
		require.NoError(t, err, name)
		assert.Equal(t, tc.want, c.core.timeout, name)
		assert.Equal(t, tc.http, c.core.http.Timeout, name)
	}
}

// TestClientFormattingHidesToken: every way of printing or logging a
// client shows the merchant's fingerprint, never the token.
func TestClientFormattingHidesToken(t *testing.T) {
	t.Parallel()
	c, _ := newMockClient(t)
	m := c.WithAppAuthToken(testToken)
	fp := secret(testToken).fingerprint()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "client", m)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "client", m)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", slog.Any("client", m))
	out := fmt.Sprintf("%v|%+v|%#v|%s|%q|", m, m, m, m, m) + m.String() + m.GoString() + buf.String()
	assert.NotContains(t, out, testToken)
	assert.Contains(t, m.String(), "merchant="+fp)
	assert.Contains(t, buf.String(), `"merchant":"`+fp+`"`)
	assert.Contains(t, buf.String(), "client.merchant="+fp)
	assert.Equal(t, "alipay.Client{app_id="+testAppID+" gateway="+testGW+"}", c.String())
	assert.Equal(t, testAppID, m.AppID())

	t.Run("dereferenced", func(t *testing.T) {
		out := fmt.Sprintf("%v|%+v|%#v", *m, *m, *m)
		buf.Reset()
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "client", *m)
		assert.NotContains(t, out+buf.String(), testToken)
	})
}

// TestConcurrentMerchants: one Client, 50 goroutines, each with its own
// token; the gateway echoes the token back in a signed response, and every
// goroutine must get its own. Run with -race.
func TestConcurrentMerchants(t *testing.T) {
	t.Parallel()
	const n = 50
	g := newGatewaySigner(t)
	bodies := make(map[string]string, n)
	for i := 0; i < n; i++ {
		tok := fmt.Sprintf("202405BBmerchantToken%04d", i)
		bodies[tok] = g.body(methodAppAPIQuery, `{"code":"10000","msg":"Success","apis":[{"api_name":"`+tok+`"}]}`)
	}
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return httpmock.NewStringResponse(200, bodies[r.PostForm.Get("app_auth_token")]), nil
	})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for tok := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.WithAppAuthToken(tok).AppAPIQuery(context.Background(), nil)
			switch {
			case err != nil:
				errs <- err
			case len(res.APIs) != 1 || res.APIs[0].APIName != tok:
				errs <- fmt.Errorf("token %s got %+v", tok, res.APIs)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Equal(t, n, mock.GetTotalCallCount())
	assert.Equal(t, "alipay.Client{app_id="+testAppID+" gateway="+testGW+"}", c.String(), "the shared client is unchanged")
}

// TestGatewayURLCredentialsRefused: a proxy password in the gateway URL
// would reach errors, Debug logs and %v of the client; the URL is refused
// with an error that names neither the user nor the password.
func TestGatewayURLCredentialsRefused(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"http://proxyuser:s3cretPa55@proxy.test/gateway.do",
		"https://proxyuser@gw.test/gateway.do",
		"https://proxyuser:@gw.test/gateway.do",
		"ftp://proxyuser:s3cretPa55@gw.test/",
		"http://proxyuser:s3cretPa55@gw.test/gateway.do?x=1",
	} {
		var cfg config
		err := WithGatewayURL(u)(&cfg)
		require.Error(t, err, u)
		assert.Equal(t, "alipay: WithGatewayURL: the URL holds a user name or password (user:password@host): "+
			"put credentials in the transport (WithHTTPClient), not in the gateway URL", err.Error())
		assert.Empty(t, cfg.gateway)
	}
	var cfg config
	err := WithGatewayURL("http://proxyuser:s3cret@Pa55@[::1/gateway.do")(&cfg) // does not parse
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "proxyuser")
	assert.NotContains(t, err.Error(), "s3cret")
	require.NoError(t, WithGatewayURL("https://gw.test/a@b/gateway.do")(&cfg), "an '@' in the path is no credential")
}

// TestGatewayURLRejectedNotQuotedWhole: a rejected URL is described by its
// problem and at most its start; a key passed by mistake is not quoted.
func TestGatewayURLRejectedNotQuotedWhole(t *testing.T) {
	t.Parallel()
	key := string(readTestdata(t, "keys/app_private_pkcs8.pem"))
	for u, want := range map[string]string{
		key:                               "alipay: WithGatewayURL: (1704 bytes that look like key material; not quoted) is not an absolute http(s) URL",
		"ftp://gw.test/gateway.do":        `alipay: WithGatewayURL: "ftp://gw.tes"… (24 bytes) is not an absolute http(s) URL`,
		"https://gw.test/gateway.do?t=tk": `alipay: WithGatewayURL: "https://gw.t"… (31 bytes) must not have a query or fragment`,
		"https://gw.test/gateway.do?":     `alipay: WithGatewayURL: "https://gw.t"… (27 bytes) must not have a query or fragment`,
		"gw":                              `alipay: WithGatewayURL: "gw" is not an absolute http(s) URL`,
	} {
		var cfg config
		err := WithGatewayURL(u)(&cfg)
		require.Error(t, err)
		assert.Equal(t, want, err.Error())
	}
	var cfg config
	err := WithGatewayURL("https://gw.test/" + strings.TrimSpace(string(readTestdata(t, "keys/app_private_pkcs8.b64"))) + "?q")(&cfg)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "MII")
	assert.Contains(t, err.Error(), "not quoted")
}
