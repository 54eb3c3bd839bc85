package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	keys  = "../../testdata/keys/"
	appID = "2021000000000001"
)

// syncBuffer is a goroutine-safe stdout.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func baseEnv() map[string]string {
	return map[string]string{
		"ALIPAY_NOTIFY_ADDR":     "127.0.0.1:0",
		"ALIPAY_APP_ID":          appID,
		"ALIPAY_PUBLIC_KEY_FILE": keys + "alipay_test_public.pem",
	}
}

// started is a running run(): its address and stdout.
type started struct {
	addr     string
	stdout   *syncBuffer
	code     chan int
	cancel   context.CancelFunc
	once     sync.Once
	exitCode int
}

// stop cancels run's ctx and returns its exit code.
func (s *started) stop() int {
	s.once.Do(func() {
		s.cancel()
		s.exitCode = <-s.code
	})
	return s.exitCode
}

// start runs run() in a goroutine and waits for "listening on ADDR".
func start(t *testing.T, vars map[string]string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &started{stdout: &syncBuffer{}, code: make(chan int, 1), cancel: cancel}
	go func() {
		s.code <- run(ctx, nil, env(vars), s.stdout, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			s.addr = a
			break
		}
	}
	require.NotEmpty(t, s.addr, "no listening line")
	go func() { _, _ = io.Copy(io.Discard, pr) }() // keep logs flowing
	t.Cleanup(func() { s.stop() })
	return s
}

// signedBody returns a field.changed message sent now, signed with the test
// Alipay key.
func signedBody(t *testing.T, notifyID string) string {
	t.Helper()
	return signParams(t, map[string]string{
		"notify_id":     notifyID,
		"utc_timestamp": strconv.FormatInt(time.Now().UnixMilli(), 10),
		"msg_method":    "alipay.open.app.api.field.changed",
		"app_id":        appID,
		"version":       "1.1",
		"charset":       "UTF-8",
		"biz_content":   `{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile","package_code":"20180927110154092444","status":"AGREE"}`,
	})
}

// signParams signs p as Alipay does (V1 content: all but sign and
// sign_type, sorted, empties kept) and returns the form body.
func signParams(t *testing.T, p map[string]string) string {
	t.Helper()
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + p[k]
	}
	raw, err := os.ReadFile(keys + "alipay_test_private_pkcs8.pem")
	require.NoError(t, err)
	block, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	digest := sha256.Sum256([]byte(strings.Join(parts, "&")))
	sig, err := rsa.SignPKCS1v15(nil, k.(*rsa.PrivateKey), crypto.SHA256, digest[:])
	require.NoError(t, err)
	v := url.Values{}
	for k, val := range p {
		v.Set(k, val)
	}
	v.Set("sign_type", "RSA2")
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return v.Encode()
}

func postForm(t *testing.T, addr, body string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/", "application/x-www-form-urlencoded", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestRunPrintsVerifiedNotifications(t *testing.T) {
	t.Parallel()
	s := start(t, baseEnv())
	body := signedBody(t, "2024052000262171013056307524699001")
	for i := 0; i < 2; i++ { // the repeat is acknowledged, not printed
		status, ack := postForm(t, s.addr, body)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "success", ack)
	}
	status, ack := postForm(t, s.addr, strings.Replace(body, "AGREE", "REJECT", 1))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "fail", ack)

	lines := strings.Split(strings.TrimSpace(s.stdout.String()), "\n")
	require.Len(t, lines, 1)
	var got struct {
		NotifyID     string `json:"notify_id"`
		MsgMethod    string `json:"msg_method"`
		FieldChanged struct {
			APIName string `json:"api_name"`
			Status  string `json:"status"`
		} `json:"field_changed"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	assert.Equal(t, "2024052000262171013056307524699001", got.NotifyID)
	assert.Equal(t, "alipay.open.app.api.field.changed", got.MsgMethod)
	assert.Equal(t, "getPhoneNumber", got.FieldChanged.APIName)
	assert.Equal(t, "AGREE", got.FieldChanged.Status)

	assert.Equal(t, exitOK, s.stop())
}

// TestRunPrintsAuthorizationNotify: the authorization notify is verified
// and printed with its payload, its token and code redacted.
func TestRunPrintsAuthorizationNotify(t *testing.T) {
	t.Parallel()
	s := start(t, baseEnv())
	const token, code = "202405BBexampleAppAuthToken0001", "aae0477c3c014c44b11b240fbebbbX09"
	body := signParams(t, map[string]string{
		"notify_id": "2024052000222205656083451410597730", "notify_type": "open_app_auth_notify",
		"notify_time": time.Now().In(time.FixedZone("UTC+8", 8*3600)).Format(time.DateTime),
		"charset":     "UTF-8", "version": "1.0", "app_id": appID, "auth_app_id": "2021004000000002",
		"biz_content": `{"notify_context":{"trigger":"mrchiscore"},"detail":{"app_auth_token":"` + token +
			`","auth_app_id":"2021004000000002","app_id":"` + appID + `","auth_time":1716182055000,"app_auth_code":"` + code + `"},"error":{}}`,
	})
	status, ack := postForm(t, s.addr, body)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "success", ack)
	out := s.stdout.String()
	var got struct {
		NotifyType string `json:"notify_type"`
		AppAuth    struct {
			Token struct {
				AuthAppID    string `json:"auth_app_id"`
				AppAuthToken string `json:"app_auth_token"`
			} `json:"token"`
			Trigger string `json:"trigger"`
		} `json:"app_auth"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &got))
	assert.Equal(t, "open_app_auth_notify", got.NotifyType)
	assert.Equal(t, "2021004000000002", got.AppAuth.Token.AuthAppID)
	assert.Equal(t, "[redacted]", got.AppAuth.Token.AppAuthToken)
	assert.Equal(t, "mrchiscore", got.AppAuth.Trigger)
	assert.NotContains(t, out, token)
	assert.NotContains(t, out, code)
	assert.Equal(t, exitOK, s.stop())
}

// TestRunWithoutAppKey: the command needs no app private key, in either
// form of the Alipay public key.
func TestRunWithoutAppKey(t *testing.T) {
	t.Parallel()
	vars := baseEnv()
	pub, err := os.ReadFile(keys + "alipay_test_public.pem")
	require.NoError(t, err)
	delete(vars, "ALIPAY_PUBLIC_KEY_FILE")
	vars["ALIPAY_PUBLIC_KEY"] = string(pub)
	s := start(t, vars)
	status, ack := postForm(t, s.addr, signedBody(t, "2024052000262171013056307524699002"))
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "success", ack)
	assert.Equal(t, exitOK, s.stop())
}

func TestRunConfigurationProblems(t *testing.T) {
	t.Parallel()
	cases := map[string]func(map[string]string){
		"no app id":     func(m map[string]string) { delete(m, "ALIPAY_APP_ID") },
		"no public key": func(m map[string]string) { delete(m, "ALIPAY_PUBLIC_KEY_FILE") },
		"bad key file":  func(m map[string]string) { m["ALIPAY_PUBLIC_KEY_FILE"] = keys + "bad_rsa1024_public.pem" },
		"bad address":   func(m map[string]string) { m["ALIPAY_NOTIFY_ADDR"] = "127.0.0.1:notaport" },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vars := baseEnv()
			edit(vars)
			var stderr bytes.Buffer
			code := run(context.Background(), nil, env(vars), io.Discard, &stderr)
			assert.Equal(t, exitProblem, code)
			assert.Contains(t, stderr.String(), "notify:")
		})
	}
	var stderr bytes.Buffer
	assert.Equal(t, exitProblem, run(context.Background(), []string{"extra"}, env(baseEnv()), io.Discard, &stderr))
	assert.Equal(t, exitProblem, run(context.Background(), []string{"-nope"}, env(baseEnv()), io.Discard, &stderr))
}
