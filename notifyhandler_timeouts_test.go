package alipay

import (
	"bufio"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServersBoundSlowRequests guards against slowloris on every server
// this repository shows: NotifyHandler cannot bound how slowly headers or
// a body arrive, so each http.Server literal in the example programs must
// set ReadHeaderTimeout and ReadTimeout, none may serve through the
// package-level http.ListenAndServe or http.Serve (a zero http.Server),
// the Examples may not serve a NotifyHandler from httptest.NewServer (no
// timeouts), and every README snippet that mounts or serves a handler must
// set both timeouts.
func TestServersBoundSlowRequests(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("examples/*/*.go")
	require.NoError(t, err)
	servers := 0
	for _, name := range append(files, "example_test.go") {
		if strings.HasSuffix(name, "_test.go") && name != "example_test.go" {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if isSelector(n.Type, "http", "Server") {
					servers++
					keys := literalKeys(n)
					for _, k := range []string{"ReadHeaderTimeout", "ReadTimeout"} {
						assert.True(t, keys[k], "%s: http.Server without %s", fset.Position(n.Pos()), k)
					}
				}
			case *ast.CallExpr:
				for _, fn := range []string{"ListenAndServe", "ListenAndServeTLS", "Serve", "ServeTLS"} {
					assert.False(t, isSelector(n.Fun, "http", fn), "%s: http.%s serves without timeouts", fset.Position(n.Pos()), fn)
				}
				if isSelector(n.Fun, "httptest", "NewServer") && mentions(n, "NotifyHandler") {
					assert.Fail(t, "a NotifyHandler served without timeouts",
						"%s: httptest.NewServer has none; use NewUnstartedServer and set Config's timeouts", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
	assert.Positive(t, servers, "no http.Server found in the examples")

	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, blocks)
	for _, b := range blocks {
		code := b[1]
		if !strings.Contains(code, "http.Handle(") && !strings.Contains(code, "ListenAndServe") && !strings.Contains(code, "http.Server{") {
			continue
		}
		for _, k := range []string{"ReadHeaderTimeout:", "ReadTimeout:"} {
			first, _, _ := strings.Cut(code, "\n")
			assert.True(t, strings.Contains(code, k), "the README snippet starting %q serves a handler without %s", first, k)
		}
	}
}

// literalKeys returns the field names set in a keyed composite literal.
func literalKeys(lit *ast.CompositeLit) map[string]bool {
	keys := map[string]bool{}
	for _, elt := range lit.Elts {
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok {
				keys[id.Name] = true
			}
		}
	}
	return keys
}

// mentions reports whether a selector .name appears inside n.
func mentions(n ast.Node, name string) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		if sel, ok := m.(*ast.SelectorExpr); ok && sel.Sel.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// TestNotifyHandlerSlowBodyCutByReadTimeout is the slowloris the handler
// documents it cannot stop on its own: a client trickles a notification's
// body a byte at a time. Served with the ReadTimeout the handler's doc asks
// for, the request is cut off, the connection closed, and fn never runs.
func TestNotifyHandlerSlowBodyCutByReadTimeout(t *testing.T) {
	t.Parallel()
	rec := &notifyRecorder{}
	srv := httptest.NewUnstartedServer(newNotifyClient(t).NotifyHandler(rec.fn))
	srv.Config.ReadHeaderTimeout, srv.Config.ReadTimeout = 500*time.Millisecond, 500*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	body := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524614001")).Encode()
	_, err = fmt.Fprintf(conn, "POST /notify HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", notifyFormType, len(body))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closed := make(chan struct{})
	go func() { // the server's answer, if any, then EOF
		defer close(closed)
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
	}()
	for i := 0; i < len(body); i++ { // a byte every 100 ms: the whole body would take minutes
		select {
		case <-closed:
			assert.Zero(t, rec.count(), "fn must not run for a body cut off")
			return
		case <-ctx.Done():
			require.FailNow(t, "the trickled request was never cut off")
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{body[i]}); err != nil {
			break // the server closed the connection
		}
	}
	select {
	case <-closed:
	case <-ctx.Done():
		require.FailNow(t, "the trickled request was never cut off")
	}
	assert.Zero(t, rec.count(), "fn must not run for a body cut off")
}
