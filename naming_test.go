package alipay

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This test keeps the naming rule true of the source: an Alipay method maps
// to a Go name by dropping "alipay.open." and camel-casing the rest with a
// fixed glossary (alipay.open.auth.token.app.query → AuthTokenAppQuery), and
// the method says so in its doc comment; helpers that are not one Alipay
// method start with a verb. CONTRIBUTING.md explains the rule.

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
// one Alipay method (helpers start with a verb).
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

// goName derives the Go name of an Alipay method: drop "alipay.open.",
// camel-case the rest with the glossary (acronyms included).
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

		// Shape and method constant.
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
		assert.Equal(t, msg, p.consts["MsgMethod"+name], "the exported constant MsgMethod%s", name)
		assert.True(t, p.types[name], "type %s is declared", name)
		d, ok := p.funcs["Notification."+name]
		require.True(t, ok, "Notification.%s decodes the message", name)
		assert.True(t, uses(d, "MsgMethod"+name), "Notification.%s checks msg_method against MsgMethod%s", name, name)
	}
	assert.Equal(t, "open_app_auth_notify", p.consts["NotifyTypeAppAuth"], "the authorization notify's notify_type is exported")
}

// TestOneMeaningPerName: an unexported name of the package is one kind of
// thing: never a type and also a function, a method or a value (as
// "outcome" once named both a verified body and a wait's decision, and
// "upload" both a method and the opened files of a call).
func TestOneMeaningPerName(t *testing.T) {
	t.Parallel()
	p := parseSource(t)
	kinds := map[string]map[string]string{} // name → kind → first position
	add := func(name, kind string, pos token.Pos) {
		if ast.IsExported(name) || name == "_" {
			return
		}
		if kinds[name] == nil {
			kinds[name] = map[string]string{}
		}
		if _, ok := kinds[name][kind]; !ok {
			kinds[name][kind] = p.fset.Position(pos).String()
		}
	}
	for _, f := range p.files {
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

// maxFileLines bounds every Go file of the repository: a longer file holds
// more than one concern.
const maxFileLines = 400

// TestFileLayout: every Go file of the repository (nested modules and
// examples included) has at most maxFileLines lines, and every NotifyOption
// is declared in notifyoptions.go, so one file lists what the app gateway
// can be told.
func TestFileLayout(t *testing.T) {
	t.Parallel()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n := bytes.Count(b, []byte{'\n'})
		assert.LessOrEqual(t, n, maxFileLines, "%s has %d lines: split it by concern", path, n)
		return nil
	})
	require.NoError(t, err)
	p := parseSource(t)
	for _, d := range p.exported {
		rs := d.Type.Results
		if rs != nil && len(rs.List) == 1 && isIdent(rs.List[0].Type, "NotifyOption") {
			assert.Equal(t, "notifyoptions.go", filepath.Base(p.fset.Position(d.Pos()).Filename), "%s returns a NotifyOption", d.Name.Name)
		}
	}
}

// crossCuttingTests are the test files not named after one source file:
// the shared helpers, the in-package fake gateway, the rules of the source
// (names, docs), and the files whose subject is the whole package —
// benchmarks, the secrets tests and the runnable Examples.
var crossCuttingTests = []string{"helpers_test.go", "loopback_test.go", "naming_test.go", "docs_test.go",
	"bench*_test.go", "secrets*_test.go", "example*_test.go"}

// TestTestFileNames keeps the test layout navigable: every other test file
// of the package is named after the source file it tests — <src>_test.go,
// or <src>_<word>_test.go for a kind (kat, fuzz) or a topic of <src> —
// mentions something that source declares, and holds a test.
func TestTestFileNames(t *testing.T) {
	t.Parallel()
	p := parseSource(t)
	tests, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, name := range tests {
		if slices.ContainsFunc(crossCuttingTests, func(pattern string) bool { ok, _ := filepath.Match(pattern, name); return ok }) {
			continue
		}
		base := strings.TrimSuffix(name, "_test.go")
		src := base + ".go"
		if p.files[src] == nil {
			if i := strings.LastIndexByte(base, '_'); i > 0 {
				src = base[:i] + ".go"
			}
		}
		f := p.files[src]
		if !assert.NotNil(t, f, "%s: name a test file after the source file it tests (<src>_test.go, <src>_<word>_test.go) or add it to crossCuttingTests", name) {
			continue
		}
		declared := map[string]bool{}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				declared[d.Name.Name] = true
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						declared[s.Name.Name] = true
					case *ast.ValueSpec:
						for _, n := range s.Names {
							declared[n.Name] = true
						}
					}
				}
			}
		}
		tf, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		mentions, hasTest := false, false
		ast.Inspect(tf, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && declared[id.Name] {
				mentions = true
			}
			return true
		})
		for _, d := range tf.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				for _, prefix := range []string{"Test", "Fuzz", "Benchmark", "Example"} {
					hasTest = hasTest || strings.HasPrefix(fd.Name.Name, prefix)
				}
			}
		}
		assert.True(t, mentions, "%s: uses nothing %s declares: name it after the source it tests", name, src)
		assert.True(t, hasTest, "%s holds no test: move its helpers to helpers_test.go or to the test that uses them", name)
	}
}
