package alipay

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"
)

// Test identities. The keys are the public test keys of testdata/keys.
const (
	testAppID = "2021000000000001"
	testToken = "202405BBexampleAppAuthToken0001"
	testGW    = "https://gw.test/gateway.do"
)

// fixedTime is the instant of the request KATs: 2024-05-20 13:14:15 UTC+8.
var fixedTime = time.Unix(1716182055, 0)

func fixedClock() time.Time { return fixedTime }

// readTestdata returns a file of testdata/.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// loadKAT decodes testdata/kat/<name>.json's cases into a slice of T.
func loadKAT[T any](t testing.TB, name string) []T {
	t.Helper()
	var f struct {
		Cases []T `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(readTestdata(t, filepath.Join("kat", name+".json")), &f))
	require.NotEmpty(t, f.Cases)
	return f.Cases
}

// baseOptions are the options of a test client: the KAT app key, the test
// Alipay public key, a fixed clock, and the test gateway.
func baseOptions(t testing.TB) []Option {
	return []Option{
		WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")),
		WithClock(fixedClock),
		WithGatewayURL(testGW),
	}
}

// newMockClient returns a client whose transport is a private httpmock
// transport: unmatched requests fail with NoResponderFound, so no test can
// reach the network.
func newMockClient(t testing.TB, opts ...Option) (*Client, *httpmock.MockTransport) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	all := append(baseOptions(t), WithHTTPClient(&http.Client{Transport: mock}))
	c, err := NewClient(testAppID, append(all, opts...)...)
	require.NoError(t, err)
	return c, mock
}

// sourcePackage is the root package's non-test source, parsed.
type sourcePackage struct {
	fset     *token.FileSet
	methods  []*ast.FuncDecl          // exported methods of *Client
	types    map[string]bool          // declared type names
	consts   map[string]string        // string constants: name → value
	funcs    map[string]*ast.FuncDecl // methods of any receiver, "Recv.Name"
	exported []*ast.FuncDecl          // exported functions (no receiver)
	typed    map[string][]string      // values of the string constants of a declared type: type → values
	files    map[string]*ast.File     // every file, by name
}

func parseSource(t *testing.T) *sourcePackage {
	t.Helper()
	paths, err := filepath.Glob("*.go")
	require.NoError(t, err)
	p := &sourcePackage{fset: token.NewFileSet(), types: map[string]bool{}, consts: map[string]string{},
		funcs: map[string]*ast.FuncDecl{}, typed: map[string][]string{}, files: map[string]*ast.File{}}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(p.fset, path, nil, parser.ParseComments)
		require.NoError(t, err)
		require.Equal(t, "alipay", f.Name.Name, path)
		p.files[path] = f
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				p.addFunc(d)
			case *ast.GenDecl:
				p.addGen(d)
			}
		}
	}
	require.NotEmpty(t, p.methods, "no *Client method found: wrong directory?")
	return p
}

func (p *sourcePackage) addFunc(d *ast.FuncDecl) {
	if d.Recv == nil && d.Name.IsExported() {
		p.exported = append(p.exported, d)
	}
	if d.Recv == nil || len(d.Recv.List) != 1 {
		return
	}
	recv := d.Recv.List[0].Type
	star, isPtr := recv.(*ast.StarExpr)
	if isPtr {
		recv = star.X
	}
	id, ok := recv.(*ast.Ident)
	if !ok {
		return
	}
	p.funcs[id.Name+"."+d.Name.Name] = d
	if isPtr && id.Name == "Client" && d.Name.IsExported() {
		p.methods = append(p.methods, d)
	}
}

func (p *sourcePackage) addGen(d *ast.GenDecl) {
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			p.types[s.Name.Name] = true
		case *ast.ValueSpec:
			for i, name := range s.Names {
				if i >= len(s.Values) {
					continue
				}
				if lit, ok := s.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if v, err := strconv.Unquote(lit.Value); err == nil {
						p.consts[name.Name] = v
						if typ, ok := s.Type.(*ast.Ident); ok {
							p.typed[typ.Name] = append(p.typed[typ.Name], v)
						}
					}
				}
			}
		}
	}
}

// apiLineOf returns the doc comment's "Alipay API:" lines and whether the
// last of them ends the comment.
func apiLineOf(d *ast.FuncDecl) (lines []string, last bool) {
	if d.Doc == nil {
		return nil, false
	}
	all := strings.Split(strings.TrimRight(d.Doc.Text(), "\n"), "\n")
	for i, l := range all {
		if strings.HasPrefix(strings.TrimSpace(l), "Alipay API") {
			lines = append(lines, l)
			last = i == len(all)-1
		}
	}
	return lines, last
}

func takesCtx(d *ast.FuncDecl) bool {
	ps := d.Type.Params.List
	return len(ps) > 0 && isSelector(ps[0].Type, "context", "Context")
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg && sel.Sel.Name == name
}

func isStarIdent(e ast.Expr, name string) bool {
	s, ok := e.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == name
}

// uses reports whether the body of d mentions the identifier name.
func uses(d *ast.FuncDecl, name string) bool {
	found := false
	ast.Inspect(d.Body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
