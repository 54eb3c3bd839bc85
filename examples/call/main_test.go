package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const keys = "../../testdata/keys/"

// gateway answers every call with the node given, signed with the test
// Alipay key unless unsigned is set.
func gateway(t *testing.T, node string, unsigned bool) *httptest.Server {
	t.Helper()
	block, _ := pem.Decode(mustRead(t, keys+"alipay_test_private_pkcs8.pem"))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	digest := sha256.Sum256([]byte(node))
	sig, err := rsa.SignPKCS1v15(nil, k.(*rsa.PrivateKey), crypto.SHA256, digest[:])
	require.NoError(t, err)
	body := `{"alipay_open_app_api_query_response":` + node
	if !unsigned {
		body += `,"sign":"` + base64.StdEncoding.EncodeToString(sig) + `"`
	}
	body += "}"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func baseEnv(url string) map[string]string {
	return map[string]string{
		"ALIPAY_GATEWAY_URL":          url,
		"ALIPAY_APP_ID":               "2021000000000001",
		"ALIPAY_APP_PRIVATE_KEY_FILE": keys + "app_private_pkcs8.pem",
		"ALIPAY_PUBLIC_KEY_FILE":      keys + "alipay_test_public.pem",
		"ALIPAY_APP_AUTH_TOKEN":       "202405BBexampleAppAuthToken0001",
	}
}

func TestRun(t *testing.T) {
	const ok = `{"code":"10000","msg":"Success","apis":[{"api_name":"getPhoneNumber","field_name":"mobile","package_code":"1"}]}`
	const failed = `{"code":"40004","msg":"Business Failed","sub_code":"INVALID_PARAMETER","sub_msg":"bad"}`
	pubInline := string(mustRead(t, keys+"alipay_test_public.pem"))
	cases := []struct {
		name      string
		node      string
		unsigned  bool
		args      []string
		env       func(map[string]string)
		code      int
		stdout    string
		stderrHas string
	}{
		{name: "success", node: ok, args: []string{"-method", "alipay.open.app.api.query"}, code: 0, stdout: ok + "\n"},
		{name: "inline key", node: ok, args: []string{"-method", "alipay.open.app.api.query", "-biz", `{"a":"b"}`},
			env: func(m map[string]string) { delete(m, "ALIPAY_PUBLIC_KEY_FILE"); m["ALIPAY_PUBLIC_KEY"] = pubInline }, code: 0, stdout: ok + "\n"},
		{name: "api error", node: failed, args: []string{"-method", "alipay.open.app.api.query"}, code: 1, stderrHas: "INVALID_PARAMETER"},
		{name: "unsigned api error", node: failed, unsigned: true, args: []string{"-method", "alipay.open.app.api.query"}, code: 1, stderrHas: "[unverified]"},
		{name: "unsigned success", node: ok, unsigned: true, args: []string{"-method", "alipay.open.app.api.query"}, code: 2, stderrHas: "missing_sign"},
		{name: "no method", node: ok, code: 2, stderrHas: "-method is required"},
		{name: "bad biz", node: ok, args: []string{"-method", "x.y", "-biz", "{"}, code: 2, stderrHas: "not valid JSON"},
		{name: "no app id", node: ok, args: []string{"-method", "x.y"}, env: func(m map[string]string) { delete(m, "ALIPAY_APP_ID") }, code: 2, stderrHas: "ALIPAY_APP_ID"},
		{name: "no public key", node: ok, args: []string{"-method", "x.y"}, env: func(m map[string]string) { delete(m, "ALIPAY_PUBLIC_KEY_FILE") }, code: 2, stderrHas: "ALIPAY_PUBLIC_KEY"},
		{name: "bad flag", node: ok, args: []string{"-nope"}, code: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := gateway(t, tc.node, tc.unsigned)
			e := baseEnv(srv.URL + "/gateway.do")
			if tc.env != nil {
				tc.env(e)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, env(e), &stdout, &stderr)
			assert.Equal(t, tc.code, code, stderr.String())
			if tc.stdout != "" {
				assert.Equal(t, tc.stdout, stdout.String())
			}
			assert.Contains(t, stderr.String(), tc.stderrHas)
			assert.NotContains(t, stderr.String(), "202405BBexampleAppAuthToken0001")
		})
	}
}

func TestRunTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-method", "alipay.open.app.api.query"}, env(baseEnv(url+"/gateway.do")), &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.NotContains(t, stderr.String(), "sign=")
}

// TestRunRetriesQueriesOnly: a .query method is retried after a transient
// failure; any other method is sent once, and its failure says the outcome
// is unknown.
func TestRunRetriesQueriesOnly(t *testing.T) {
	const ok = `{"code":"10000","msg":"Success","apis":[]}`
	for _, tc := range []struct {
		method   string
		code     int
		requests int32
		stderr   string
	}{
		{method: "alipay.open.app.api.query", code: 0, requests: 2},
		{method: "alipay.open.auth.app.aes.get", code: 2, requests: 1, stderr: "HTTP 503"},
		{method: "alipay.open.mini.version.audit.apply", code: 2, requests: 1, stderr: "outcome unknown"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			signed := gateway(t, ok, false)
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					http.Error(w, "<html>503 Service Unavailable</html>", http.StatusServiceUnavailable)
					return
				}
				resp, err := http.Post(signed.URL, "text/plain", nil)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				defer resp.Body.Close()
				_, _ = io.Copy(w, resp.Body)
			}))
			t.Cleanup(srv.Close)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-method", tc.method}, env(baseEnv(srv.URL+"/gateway.do")), &stdout, &stderr)
			assert.Equal(t, tc.code, code, stderr.String())
			assert.Equal(t, tc.requests, n.Load())
			assert.Contains(t, stderr.String(), tc.stderr)
		})
	}
}
