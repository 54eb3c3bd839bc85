package alipay

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This test keeps style.md B2 and B7 true of the source: API methods are
// named after the Alipay method, mechanically, and say so in their doc
// comment.

// nameGlossary maps each segment of an Alipay method (after "alipay.open.")
// to its part of a Go name. A new word joins it in the change that needs it.
var nameGlossary = map[string]string{
	"mini": "Mini", "baseinfo": "BaseInfo", "app": "App", "api": "API",
	"scene": "Scene", "field": "Field",
	"query": "Query", "modify": "Modify", "apply": "Apply", "changed": "Changed",
	"auth": "Auth", "aes": "AES", "set": "Set", "get": "Get",
	"category": "Category", "require": "Require", "template": "Template", "usage": "Usage",
	"token": "Token", "appauth": "AppAuth", "invite": "Invite", "create": "Create",
	"userauth": "UserAuth", "cancelled": "Cancelled",
}

// callHelpers are the exported *Client methods that take a ctx but are not
// one Alipay method (style.md B2: verb-first helper names).
var callHelpers = map[string]bool{
	"Call": true, "WaitFieldAudit": true, "ApplyFieldOnce": true, "DecryptOpenData": true, "PhoneNumber": true,
	"ListMiniTemplateUsages": true,
	"ForMerchant":            true, "RefreshMerchant": true, "RecordAuthorization": true, "SetMerchantState": true,
	"SyncMerchantAESKey": true,
}

// flowAPIs are the API methods of the flow and of the approved field's use
// with their page titles, exactly.
var flowAPIs = map[string]string{
	"alipay.open.mini.baseinfo.query":  "查询小程序基础信息",
	"alipay.open.mini.baseinfo.modify": "小程序修改基础信息",
	"alipay.open.app.api.query":        "查询应用可申请的接口出参敏感字段列表",
	"alipay.open.app.api.scene.query":  "查询接口字段使用场景",
	"alipay.open.app.api.field.apply":  "申请获取接口用户敏感信息字段",
	"alipay.open.app.api.field.query":  "用户信息申请记录查询",
	// Using the approved field.
	"alipay.open.auth.app.aes.set":            "授权应用aes密钥设置",
	"alipay.open.auth.app.aes.get":            "授权应用aes密钥查询",
	"alipay.open.mini.category.query":         "小程序类目树查询",
	"alipay.open.mini.category.require.query": "查询类目所需资质信息",
	"alipay.open.mini.template.usage.query":   "查询使用模板的小程序列表",
}

// authAPIs are the authorization API methods with their page titles.
var authAPIs = map[string]string{
	"alipay.open.auth.token.app":             "换取应用授权令牌",
	"alipay.open.auth.token.app.query":       "查询某个应用授权AppAuthToken的授权信息",
	"alipay.open.auth.appauth.invite.create": "ISV向商户发起应用授权邀约",
}

// apiLine is the form of the line: "Alipay API: <method> (<title>)."
var apiLine = regexp.MustCompile(`^Alipay API: (alipay\.open(?:\.[a-z]+)+) \(([^()]+)\)\.$`)

// goName derives the Go name of an Alipay method (style.md B2).
func goName(method string) (string, error) {
	rest, ok := strings.CutPrefix(method, "alipay.open.")
	if !ok || rest == "" {
		return "", fmt.Errorf("%q does not start with alipay.open.", method)
	}
	var b strings.Builder
	for _, seg := range strings.Split(rest, ".") {
		w, ok := nameGlossary[seg]
		if !ok {
			return "", fmt.Errorf("%q: segment %q is not in the glossary", method, seg)
		}
		b.WriteString(w)
	}
	return b.String(), nil
}

func TestGoName(t *testing.T) {
	t.Parallel()
	for method, want := range map[string]string{
		"alipay.open.mini.baseinfo.query":         "MiniBaseInfoQuery",
		"alipay.open.app.api.field.apply":         "AppAPIFieldApply",
		"alipay.open.app.api.field.changed":       "AppAPIFieldChanged",
		"alipay.open.auth.app.aes.set":            "AuthAppAESSet",
		"alipay.open.mini.category.require.query": "MiniCategoryRequireQuery",
		"alipay.open.mini.template.usage.query":   "MiniTemplateUsageQuery",
		"alipay.open.auth.token.app.query":        "AuthTokenAppQuery",
	} {
		got, err := goName(method)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	for _, bad := range []string{"alipay.trade.pay", "alipay.open.", "alipay.open.app.alipaycert.download", "open.app.api.query"} {
		_, err := goName(bad)
		assert.Error(t, err, bad)
	}
}

// sourcePackage is the root package's non-test source, parsed.
type sourcePackage struct {
	fset    *token.FileSet
	methods []*ast.FuncDecl          // exported methods of *Client
	types   map[string]bool          // declared type names
	consts  map[string]string        // string constants: name → value
	funcs   map[string]*ast.FuncDecl // methods of any receiver, "Recv.Name"
}

func parseSource(t *testing.T) *sourcePackage {
	t.Helper()
	paths, err := filepath.Glob("*.go")
	require.NoError(t, err)
	p := &sourcePackage{fset: token.NewFileSet(), types: map[string]bool{}, consts: map[string]string{}, funcs: map[string]*ast.FuncDecl{}}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(p.fset, path, nil, parser.ParseComments)
		require.NoError(t, err)
		require.Equal(t, "alipay", f.Name.Name, path)
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

// TestAPIMethodNames checks every exported method of *Client: an "Alipay
// API:" line names the method it is derived from, in the fixed form, as
// the comment's last line; its signature is (ctx, *<Name>Request)
// (*<Name>Response, error) and it calls method<Name>; every other method
// taking a ctx is a listed helper; and the API methods are those of
// flowAPIs and authAPIs.
func TestAPIMethodNames(t *testing.T) {
	t.Parallel()
	p := parseSource(t)
	apis := map[string]string{} // Alipay method → Go name
	for _, d := range p.methods {
		name := d.Name.Name
		pos := p.fset.Position(d.Pos())
		lines, last := apiLineOf(d)
		if len(lines) == 0 {
			if takesCtx(d) {
				assert.True(t, callHelpers[name], "%s: Client.%s takes a ctx but has no \"Alipay API:\" line and is not a listed helper", pos, name)
			}
			continue
		}
		assert.False(t, callHelpers[name], "%s: helper Client.%s must not claim an Alipay API", pos, name)
		if !assert.Len(t, lines, 1, "%s: Client.%s: one \"Alipay API:\" line", pos, name) {
			continue
		}
		assert.True(t, last, "%s: Client.%s: the \"Alipay API:\" line must end the doc comment", pos, name)
		m := apiLine.FindStringSubmatch(lines[0])
		if !assert.NotNil(t, m, "%s: Client.%s: %q must read \"Alipay API: <method> (<中文标题>).\"", pos, name, lines[0]) {
			continue
		}
		method, title := m[1], m[2]
		assert.True(t, strings.IndexFunc(title, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0,
			"%s: Client.%s: the title %q is the Chinese page title", pos, name, title)
		want, err := goName(method)
		if assert.NoError(t, err, "%s: Client.%s", pos, name) {
			assert.Equal(t, want, name, "%s: the method for %s must be named %s", pos, method, want)
		}
		if wantTitle, ok := flowAPIs[method]; ok {
			assert.Equal(t, wantTitle, title, "%s: Client.%s: page title", pos, name)
		}
		if wantTitle, ok := authAPIs[method]; ok {
			assert.Equal(t, wantTitle, title, "%s: Client.%s: page title", pos, name)
		}
		_, dup := apis[method]
		assert.False(t, dup, "%s: two methods claim %s", pos, method)
		apis[method] = name

		// Shape and method constant (style.md B2).
		ps, rs := d.Type.Params.List, d.Type.Results
		ok := len(ps) == 2 && len(ps[0].Names) <= 1 && takesCtx(d) && isStarIdent(ps[1].Type, name+"Request") &&
			rs != nil && len(rs.List) == 2 && isStarIdent(rs.List[0].Type, name+"Response") && isIdent(rs.List[1].Type, "error")
		assert.True(t, ok, "%s: Client.%s must be (ctx context.Context, req *%sRequest) (*%sResponse, error)", pos, name, name, name)
		assert.True(t, p.types[name+"Request"], "%s: type %sRequest is declared", pos, name)
		assert.True(t, p.types[name+"Response"], "%s: type %sResponse is declared", pos, name)
		assert.Equal(t, method, p.consts["method"+name], "%s: const method%s holds the Alipay method", pos, name)
		assert.True(t, uses(d, "method"+name), "%s: Client.%s calls with method%s", pos, name, name)
	}
	got := make([]string, 0, len(apis))
	for m := range apis {
		got = append(got, m)
	}
	want := make([]string, 0, len(flowAPIs)+len(authAPIs))
	for m := range flowAPIs {
		want = append(want, m)
	}
	for m := range authAPIs {
		want = append(want, m)
	}
	sort.Strings(got)
	sort.Strings(want)
	assert.Equal(t, want, got, "the API methods of *Client are those of flowAPIs and authAPIs")
	for h := range callHelpers {
		d, ok := p.funcs["Client."+h]
		if assert.True(t, ok, "listed helper Client.%s exists", h) {
			assert.True(t, takesCtx(d), "helper Client.%s takes a ctx first", h)
		}
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// TestMessageNames: the messages follow the same rule: each event type and
// decoder is named after the message's method.
func TestMessageNames(t *testing.T) {
	t.Parallel()
	p := parseSource(t)
	for _, msg := range []string{
		"alipay.open.app.api.field.changed", "alipay.open.auth.appauth.cancelled", "alipay.open.auth.userauth.cancelled",
	} {
		name, err := goName(msg)
		require.NoError(t, err)
		assert.Equal(t, msg, p.consts["method"+name])
		assert.True(t, p.types[name], "type %s is declared", name)
		d, ok := p.funcs["Notification."+name]
		require.True(t, ok, "Notification.%s decodes the message", name)
		assert.True(t, uses(d, "method"+name), "Notification.%s checks msg_method against method%s", name, name)
	}
}

// TestOneMeaningPerName: an unexported name of the package is one kind of
// thing: never a type and also a function, a method or a value (as
// "outcome" once named both a verified body and a wait's decision, and
// "upload" both a method and the opened files of a call).
func TestOneMeaningPerName(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	kinds := map[string]map[string]string{} // name → kind → first position
	add := func(name, kind string, pos token.Pos) {
		if ast.IsExported(name) || name == "_" {
			return
		}
		if kinds[name] == nil {
			kinds[name] = map[string]string{}
		}
		if _, ok := kinds[name][kind]; !ok {
			kinds[name][kind] = fset.Position(pos).String()
		}
	}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				kind := "function"
				if d.Recv != nil {
					kind = "method"
				}
				add(d.Name.Name, kind, d.Pos())
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						add(s.Name.Name, "type", s.Pos())
					case *ast.ValueSpec:
						for _, n := range s.Names {
							add(n.Name, "value", n.Pos())
						}
					}
				}
			}
		}
	}
	for name, k := range kinds {
		assert.Len(t, k, 1, "%s names several kinds of thing: %v", name, k)
	}
}
