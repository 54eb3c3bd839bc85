package alipay

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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
// signature (raw or URL-escaped). The paths are in secrets_paths_test.go.

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
// enough paths were driven and that the search finds planted secrets.
func (l *leakCheck) check(minErrors int) {
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
	require.Greater(t, len(records), minErrors/2, "log records")
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

// TestSecretsNeverPrinted drives every reachable error path (see
// secrets_paths_test.go) and checks the output for the three secrets.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	l := newLeakCheck(t)
	secretKeyPaths(l)
	secretClientPaths(l)
	secretResponsePaths(l)
	secretTransportPaths(l)
	secretUploadPaths(l)
	secretNotifyPaths(l)
	secretCertPaths(l)
	l.check(100)
}

// writeTemp writes data to a file in a temporary directory.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}
