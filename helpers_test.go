package alipay

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
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

// parsePublicPEM reads a PEM SubjectPublicKeyInfo RSA key with x509 alone
// (no size check: test keys of 1024 bits load too).
func parsePublicPEM(t testing.TB, name string) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode(readTestdata(t, name))
	require.NotNil(t, block)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	require.NoError(t, err)
	return k.(*rsa.PublicKey)
}

// gatewaySigner signs response nodes as Alipay does, with the test Alipay
// key, using crypto/rsa directly rather than the client's code.
type gatewaySigner struct{ key *rsa.PrivateKey }

func newGatewaySigner(t testing.TB) *gatewaySigner {
	t.Helper()
	block, _ := pem.Decode(readTestdata(t, "keys/alipay_test_private_pkcs8.pem"))
	require.NotNil(t, block)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	return &gatewaySigner{key: k.(*rsa.PrivateKey)}
}

// sign returns the Base64 SHA256withRSA signature of the exact node bytes.
func (g *gatewaySigner) sign(node string) string {
	digest := sha256.Sum256([]byte(node))
	sig, err := rsa.SignPKCS1v15(nil, g.key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err) // a fixed, valid test key cannot fail
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// body returns {"<method>_response":node,"sign":"…"}, signed over node.
func (g *gatewaySigner) body(method, node string) string {
	return `{"` + nodeKey(method) + `":` + node + `,"sign":"` + g.sign(node) + `"}`
}

// nodeKey is the response node name, computed independently of jsonnode.
func nodeKey(method string) string { return strings.ReplaceAll(method, ".", "_") + "_response" }

// testNotifySigner is the Alipay-side test key that signs generated
// notifications (its public key is in baseOptions): the gateway signer's.
func testNotifySigner(t testing.TB) *rsa.PrivateKey { return newGatewaySigner(t).key }

// signNotification signs params as Alipay does (V1 content: every param but
// sign and sign_type, sorted, k=v joined by '&', empties kept; SHA256withRSA)
// and returns them with sign and sign_type=RSA2 added. It is written apart
// from v1Content on purpose; the KATs pin both.
func signNotification(t testing.TB, key *rsa.PrivateKey, params map[string]string) url.Values {
	t.Helper()
	digest := sha256.Sum256([]byte(joinV1(params)))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	require.NoError(t, err)
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	v.Set("sign_type", "RSA2")
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return v
}

// joinV1 is the test's own V1 content: every param but sign and sign_type,
// sorted by key, k=v joined by '&', empty values kept.
func joinV1(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" && k != "sign_type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
	}
	return strings.Join(parts, "&")
}

// fieldChangedParams returns the unsigned params of a field.changed message
// sent at fixedTime to testAppID.
func fieldChangedParams(notifyID string) map[string]string {
	return map[string]string{
		"notify_id":     notifyID,
		"utc_timestamp": "1716182055000",
		"msg_method":    MsgMethodAppAPIFieldChanged,
		"app_id":        testAppID,
		"version":       "1.1",
		"charset":       "UTF-8",
		"biz_content":   `{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile","status":"reject","reason":"演示视频未展示授权流程","package_code":"20180927110154092444","extra":1}`,
	}
}

// newNotifyClient returns a test client (testAppID, the test Alipay key,
// fixedClock).
func newNotifyClient(t testing.TB, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(testAppID, append(baseOptions(t), opts...)...)
	require.NoError(t, err)
	return c
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
