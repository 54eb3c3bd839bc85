package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// runIt runs the program and returns its exit code, stdout and stderr.
func runIt(t *testing.T, e map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(testCtx(t), args, env(e), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mp4File writes the start of an MP4 file (an ftyp box) into dir.
func mp4File(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "demo.mp4")
	require.NoError(t, os.WriteFile(p, []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), 0o600))
	return p
}

func pngFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := loginPNG()
	require.NoError(t, err)
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

func TestRunOffline(t *testing.T) {
	t.Parallel()
	code, out, errs := runIt(t, map[string]string{}, "-audit-delay", "10ms")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Empty(t, errs)
	for _, want := range []string{
		"offline: fake gateway http://127.0.0.1:",
		"1. baseinfo.query: \"小程序示例\", categories: (none)",
		"baseinfo.modify mini_category_ids=XS1011_XS2089",
		"baseinfo.query: categories: 交通出行_物流快递",
		"2. api.query: 2 applicable fields",
		"chose getPhoneNumber/mobile (asked for)",
		"3. scene.query getPhoneNumber/mobile: 2 scenes",
		"chose scene 14 (物流快递, the first)",
		"4. field.apply getPhoneNumber/mobile, scene 14: picture_1 login.png (generated PNG,",
		"submitted, now under audit",
		"5. field.changed received at http://127.0.0.1:",
		"getPhoneNumber/mobile of 2021004000000002: AGREE (approved)",
		"6. field.query: 1 record of getPhoneNumber/mobile (package 20180927110154092444)",
		"done: getPhoneNumber/mobile is AGREE (approved)",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, alipaytest.DefaultMerchantToken)
	// The steps come in order.
	last := -1
	for _, step := range []string{"\n1. ", "\n2. ", "\n3. ", "\n4. ", "\n5. ", "\n6. ", "\ndone: "} {
		i := strings.Index(out, step)
		require.Greater(t, i, last, step)
		last = i
	}
}

func TestRunOfflineOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := map[string]string{
		"ALIPAY_FIELD_PICTURE": pngFile(t, dir, "a.png") + string(os.PathListSeparator) + pngFile(t, dir, "b.png"),
		"ALIPAY_FIELD_VIDEO":   mp4File(t, dir),
	}
	code, out, errs := runIt(t, e, "-audit", "reject", "-audit-delay", "0", "-api", "alipay.user.info.share",
		"-scene", "6", "-category", "生活服务_家政服务_室内清洁服务", "-set-category", "XS1001_XS2001_XS3002")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	for _, want := range []string{
		"chose alipay.user.info.share/mobile (asked for)",
		"chose scene 6 (汽车服务, asked for)",
		"picture_1 login.png (generated PNG,",
		"picture_2 a.png, picture_3 b.png, video demo.mp4",
		"baseinfo.query: categories: 生活服务_家政服务_室内清洁服务",
		"REJECT (rejected: 演示材料未展示用户授权手机号的页面)",
		"done: alipay.user.info.share/mobile is REJECT",
	} {
		assert.Contains(t, out, want)
	}

	code, out, _ = runIt(t, map[string]string{}, "-audit", "invalid", "-audit-delay", "0", "-api", "nope")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "nope/mobile is not applicable, so the first")
	assert.Contains(t, out, "done: getPhoneNumber/mobile is INVALID (invalid)")
}

func TestRunFlagErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"unknown flag":    {args: []string{"-nope"}, want: "flag provided but not defined"},
		"argument":        {args: []string{"extra"}, want: "no arguments expected"},
		"audit":           {args: []string{"-audit", "maybe"}, want: "-audit must be"},
		"interval":        {args: []string{"-interval", "0s"}, want: "-interval must be positive"},
		"empty api":       {args: []string{"-api", ""}, want: "-api and -field"},
		"missing picture": {env: map[string]string{"ALIPAY_FIELD_PICTURE": filepath.Join(dir, "none.png")}, want: "none.png"},
		"video is a dir":  {env: map[string]string{"ALIPAY_FIELD_VIDEO": dir}, want: "not a regular file"},
		"six pictures":    {env: map[string]string{"ALIPAY_FIELD_PICTURE": strings.Repeat("a.png"+string(os.PathListSeparator), 5) + "a.png"}, want: "at most 5"},
		"unknown scene":   {args: []string{"-scene", "99"}, want: "-scene 99 is not a scene"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := tc.env
			if e == nil {
				e = map[string]string{}
			}
			code, _, errs := runIt(t, e, append(tc.args, "-audit-delay", "0")...)
			assert.Equal(t, exitProblem, code)
			assert.Contains(t, errs, tc.want)
		})
	}
}

// gatewayEnv configures gateway mode for the fake gateway s, with its
// public test keys given inline as a user would give real ones.
func gatewayEnv(t *testing.T, s *alipaytest.Server) map[string]string {
	return map[string]string{
		"ALIPAY_GATEWAY_URL":     s.URL,
		"ALIPAY_APP_ID":          alipaytest.DefaultAppID,
		"ALIPAY_APP_PRIVATE_KEY": string(s.AppPrivateKeyPEM()),
		"ALIPAY_PUBLIC_KEY":      string(s.AlipayPublicKeyPEM()),
		"ALIPAY_APP_AUTH_TOKEN":  alipaytest.DefaultMerchantToken,
		"ALIPAY_FIELD_PICTURE":   pngFile(t, t.TempDir(), "login.png"),
	}
}

func newServer(t *testing.T, opts ...alipaytest.Option) *alipaytest.Server {
	t.Helper()
	s, err := alipaytest.NewServer(opts...)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func TestRunGatewayConfiguration(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for name, tc := range map[string]struct {
		edit func(map[string]string)
		want string
	}{
		"no app id":     {func(e map[string]string) { delete(e, "ALIPAY_APP_ID") }, "ALIPAY_APP_ID is not set"},
		"no token":      {func(e map[string]string) { delete(e, "ALIPAY_APP_AUTH_TOKEN") }, "ALIPAY_APP_AUTH_TOKEN is not set"},
		"no material":   {func(e map[string]string) { delete(e, "ALIPAY_FIELD_PICTURE") }, "set ALIPAY_FIELD_PICTURE or ALIPAY_FIELD_VIDEO"},
		"no app key":    {func(e map[string]string) { delete(e, "ALIPAY_APP_PRIVATE_KEY") }, "ALIPAY_APP_PRIVATE_KEY"},
		"no alipay key": {func(e map[string]string) { delete(e, "ALIPAY_PUBLIC_KEY") }, "ALIPAY_PUBLIC_KEY"},
		"bad key":       {func(e map[string]string) { e["ALIPAY_PUBLIC_KEY"] = "not a key" }, "WithAlipayPublicKey"},
		"key file": {func(e map[string]string) {
			delete(e, "ALIPAY_PUBLIC_KEY")
			e["ALIPAY_PUBLIC_KEY_FILE"] = "/nonexistent.pem"
		}, "nonexistent.pem"},
		"bad URL":          {func(e map[string]string) { e["ALIPAY_GATEWAY_URL"] = "ftp://x" }, "WithGatewayURL"},
		"no category":      {nil, "any category is missing: pass -set-category IDS"},
		"wrong Alipay key": {func(e map[string]string) { e["ALIPAY_PUBLIC_KEY"] = string(s.AppPublicKeyPEM()) }, "bad_signature"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := gatewayEnv(t, s)
			if tc.edit != nil {
				tc.edit(e)
			}
			code, out, errs := runIt(t, e)
			assert.Equal(t, exitProblem, code, out)
			assert.Contains(t, errs, tc.want)
			assert.NotContains(t, errs+out, alipaytest.DefaultMerchantToken)
		})
	}
}

func TestRunGatewayTransportError(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	s := newServer(t)
	e := gatewayEnv(t, s)
	e["ALIPAY_GATEWAY_URL"] = dead.URL + "/gateway.do"
	code, _, errs := runIt(t, e)
	assert.Equal(t, exitProblem, code)
	assert.Contains(t, errs, "alipay.open.mini.baseinfo.query")
	assert.NotContains(t, errs, "sign=")
}

// watchWriter is a stdout that signals when a line containing want was
// written, so a test can act at that point of a run.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestRunGateway(t *testing.T) {
	t.Parallel()
	s := newServer(t) // the test decides the audit
	e := gatewayEnv(t, s)
	e["ALIPAY_FIELD_VIDEO"] = mp4File(t, t.TempDir())

	code, out, errs := runIt(t, e, "-set-category", "XS1011_XS2089")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "gateway "+s.URL+", app "+alipaytest.DefaultAppID)
	assert.Contains(t, out, "any category: missing, so baseinfo.modify mini_category_ids=XS1011_XS2089")
	assert.Contains(t, out, "picture_1 login.png, video demo.mp4")
	assert.Contains(t, out, "5. field.changed: Alipay posts it to the app gateway")
	assert.Contains(t, out, "done: getPhoneNumber/mobile is AUDIT (under audit)")
	require.Len(t, s.Applications(alipaytest.DefaultMerchantToken), 1)
	assert.Len(t, s.Applications(alipaytest.DefaultMerchantToken)[0].Files, 2)

	// A second run meets the application under audit and waits; the audit
	// ends while it polls.
	ctx := testCtx(t)
	stdout := &watchWriter{want: "waiting up to", seen: make(chan struct{})}
	var stderr bytes.Buffer
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, []string{"-wait", "10s", "-interval", "20ms"}, env(e), stdout, &stderr) }()
	select {
	case <-stdout.seen:
	case code := <-exited:
		t.Fatalf("exited with %d before waiting:\n%s%s", code, stdout, stderr.String())
	}
	require.NoError(t, s.Approve(alipaytest.DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444"))
	code = <-exited
	out = stdout.String()
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, stderr.String())
	assert.Contains(t, out, "any category: present")
	assert.Contains(t, out, "already applied for: field.query shows AUDIT (under audit); nothing sent")
	assert.Contains(t, out, "audit ended: AGREE (approved)")
	assert.Contains(t, out, "done: getPhoneNumber/mobile is AGREE (approved)")

	// A third run meets the approval.
	code, out, _ = runIt(t, e)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "already applied for: field.query shows AGREE (approved); nothing sent")
	assert.Len(t, s.Applications(alipaytest.DefaultMerchantToken), 1, "nothing was filed twice")
}

// TestRunGatewayAnswerLost: the gateway records the application, then the
// connection drops before the answer; the run finds the application with
// field.query, files nothing twice and exits 0.
func TestRunGatewayAnswerLost(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.InjectFault(alipaytest.Fault{Method: "alipay.open.app.api.field.apply", Kind: alipaytest.FaultDisconnect, Count: 1})
	code, out, errs := runIt(t, gatewayEnv(t, s), "-set-category", "XS1011_XS2089")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "the answer was lost; field.query shows the application (AUDIT (under audit)): filed once")
	assert.Len(t, s.Applications(alipaytest.DefaultMerchantToken), 1)
	assert.Equal(t, 1, s.RequestCount("alipay.open.app.api.field.apply"))
}

func TestRunGatewayWaitEnds(t *testing.T) {
	t.Parallel()
	s := newServer(t) // nobody decides the audit
	code, out, errs := runIt(t, gatewayEnv(t, s), "-set-category", "XS1011_XS2089", "-wait", "50ms", "-interval", "10ms")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "still under audit after 50ms")
	assert.Contains(t, out, "done: getPhoneNumber/mobile is AUDIT (under audit)")
}

func TestRunGatewayAPIError(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	e := gatewayEnv(t, s)
	e["ALIPAY_APP_AUTH_TOKEN"] = "202405BBrevokedToken"
	code, _, errs := runIt(t, e)
	assert.Equal(t, exitAPIError, code)
	assert.Contains(t, errs, "aop.invalid-app-auth-token")

	// Nothing to apply for is the gateway's answer too.
	s2 := newServer(t, alipaytest.WithMerchant(alipaytest.Merchant{
		Token: alipaytest.DefaultMerchantToken, AppID: alipaytest.DefaultMerchantAppID, Fields: []alipaytest.Field{},
		BaseInfo: alipaytest.BaseInfo{AppName: "无字段", ServicePhone: "13110101010", MiniCategoryIDs: "XS1011_XS2089"},
	}))
	code, out, errs := runIt(t, gatewayEnv(t, s2))
	assert.Equal(t, exitAPIError, code, out)
	assert.Contains(t, errs, "may apply for no field")
	assert.Contains(t, out, "any category: present")
}

// TestReadmeShowsTheOfflineRun: the README's Quick start shows what the
// offline run prints, ports, ids and sizes aside.
func TestReadmeShowsTheOfflineRun(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(readme), "go run ./examples/fieldapply\n```\n\n```\n")
	require.True(t, ok, "the README's Quick start has no output block")
	block, _, _ = strings.Cut(block, "```")
	code, out, errs := runIt(t, map[string]string{})
	require.Equal(t, exitOK, code, errs)
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`127\.0\.0\.1:\d+`), regexp.MustCompile(`trace_id [0-9a-f]+`),
		regexp.MustCompile(`notify_id \d+`), regexp.MustCompile(`\(\d+ bytes\)`),
	} {
		block, out = re.ReplaceAllString(block, "…"), re.ReplaceAllString(out, "…")
	}
	assert.Equal(t, block, out)
}
