package alipay

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"strings"
	"testing"

	"github.com/isvkit/alipay/internal/jsonnode"
	"github.com/isvkit/alipay/internal/opendata"
	"github.com/stretchr/testify/assert"
)

// TestAPIErrorFormat: one line, `alipay: <method>: <code> <msg>: <sub_code>
// <sub_msg> [trace_id=…] [unverified]`.
func TestAPIErrorFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  APIError
		want string
	}{
		{APIError{Method: methodAppAPIQuery, Code: "40004", Msg: "Business Failed", SubCode: "SYSTEM_ERROR", SubMsg: "系统错误",
			TraceID: "0b8a1c2d", Verified: true},
			"alipay: alipay.open.app.api.query: 40004 Business Failed: SYSTEM_ERROR 系统错误 trace_id=0b8a1c2d"},
		{APIError{Method: methodAppAPIQuery, Code: "40004", Msg: "Business Failed", SubCode: "SYSTEM_ERROR", SubMsg: "系统错误"},
			"alipay: alipay.open.app.api.query: 40004 Business Failed: SYSTEM_ERROR 系统错误 [unverified]"},
		{APIError{Method: methodAppAPIQuery, Code: "20000", Msg: "Service Currently Unavailable", Verified: true},
			"alipay: alipay.open.app.api.query: 20000 Service Currently Unavailable"},
		{APIError{Method: methodAppAPIQuery, Code: "40004", SubCode: "X", TraceID: "t", Verified: false},
			"alipay: alipay.open.app.api.query: 40004: X trace_id=t [unverified]"},
	} {
		assert.Equal(t, tc.want, tc.err.Error())
		assert.NotContains(t, tc.err.Error(), "\n")
	}
}

// TestPredicates checks the error classes of
// docs/wire.md#errors-and-retries, for verified
// and unverified errors, wrapped or not.
func TestPredicates(t *testing.T) {
	t.Parallel()
	type preds struct{ token, perm, rate, temp bool }
	for _, tc := range []struct {
		code, sub string
		want      preds
	}{
		{"20001", "aop.invalid-app-auth-token", preds{token: true}},
		{"20001", "aop.app-auth-token-time-out", preds{token: true}},
		{"20001", "aop.invalid-auth-token", preds{token: true}},
		{"20001", "aop.auth-token-time-out", preds{token: true}},
		{"20001", "aop.invalid-app-auth-token-no-api", preds{token: true, perm: true}},
		{"40006", "isv.insufficient-isv-permissions", preds{perm: true}},
		{"40006", "", preds{perm: true}},
		{"40004", "NO_PERMISSION", preds{perm: true}},
		{"40005", "", preds{rate: true}},
		{"40004", "OP_FREQUENCY_LIMIT", preds{rate: true}},
		{"20000", "isp.unknow-error", preds{temp: true}},
		{"20000", "", preds{temp: true}},
		{"40004", "SYSTEM_ERROR", preds{}},
		{"40002", "isv.invalid-signature", preds{}},
		{"40004", "no_permission", preds{}}, // sub_codes compare exactly
	} {
		for _, verified := range []bool{true, false} {
			base := &APIError{Method: methodAppAPIQuery, Code: tc.code, SubCode: tc.sub, Verified: verified}
			for name, err := range map[string]error{
				"plain": base, "wrapped": fmt.Errorf("merchant 42: %w", base), "joined": errors.Join(errors.New("x"), base),
			} {
				got := preds{IsAppAuthTokenInvalid(err), IsPermissionDenied(err), IsRateLimited(err), IsTemporary(err)}
				assert.Equal(t, tc.want, got, "%s %s %s verified=%v", tc.code, tc.sub, name, verified)
			}
		}
	}
	for _, err := range []error{nil, errors.New("20000"), &VerifyError{Step: StepBadSignature},
		&ResponseError{StatusCode: 503}, context.DeadlineExceeded} {
		assert.False(t, IsAppAuthTokenInvalid(err) || IsPermissionDenied(err) || IsRateLimited(err) || IsTemporary(err), "%v", err)
	}
}

// TestTypedErrorsUnwrap: each typed error unwraps to its class sentinel,
// and only to it; texts start with "alipay:".
func TestTypedErrorsUnwrap(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrSignature, ErrBadResponse, ErrInvalidRequest}
	for _, tc := range []struct {
		err  error
		want error
		text string
	}{
		{&VerifyError{Method: "m", Step: StepBadSignature, Content: `{"a":1}`, CertSN: "sn1"}, ErrSignature,
			`alipay: m: verification failed at bad_signature (alipay_cert_sn sn1); content checked: "{\"a\":1}"`},
		{&VerifyError{Method: "m", Step: StepDuplicateNode}, ErrSignature, "alipay: m: verification failed at duplicate_node"},
		{&ResponseError{Method: "m", StatusCode: 502, Reason: "http_status", Body: "<html>", TraceID: "t"}, ErrBadResponse,
			`alipay: m: unusable response (HTTP 502, http_status) trace_id=t: "<html>"`},
		{&ValidationError{Method: "m", Field: "api_name", Problem: "required"}, ErrInvalidRequest, "alipay: m: api_name: required"},
		{&ValidationError{Method: "m", Problem: "empty"}, ErrInvalidRequest, "alipay: m: empty"},
	} {
		assert.Equal(t, tc.text, tc.err.Error())
		for _, s := range sentinels {
			assert.Equal(t, s == tc.want, errors.Is(fmt.Errorf("w: %w", tc.err), s), "%v is %v", tc.err, s)
		}
		assert.True(t, strings.HasPrefix(tc.want.Error(), "alipay: "))
	}
	var apiErr error = &APIError{Code: "40004"}
	for _, s := range sentinels {
		assert.False(t, errors.Is(apiErr, s))
	}
}

// TestStepAndReasonSpelling: the reasons that internal/jsonnode and
// internal/opendata hand over as a Step or Reason are spelled exactly as
// the constants, so converting them yields a declared value; and a decode
// failure keeps the decoder's words in the error text, not in Reason.
func TestStepAndReasonSpelling(t *testing.T) {
	t.Parallel()
	steps := map[VerifyStep]bool{}
	reasons := map[ResponseReason]bool{}
	p := parseSource(t)
	for _, s := range p.typed["VerifyStep"] {
		steps[VerifyStep(s)] = true
	}
	for _, s := range p.typed["ResponseReason"] {
		reasons[ResponseReason(s)] = true
	}
	assert.Len(t, steps, 20)
	for _, r := range []string{jsonnode.ReasonDuplicateNode, jsonnode.ReasonDuplicateKey} {
		assert.True(t, steps[VerifyStep(r)], "jsonnode.%s is a VerifyStep", r)
	}
	for _, r := range []string{jsonnode.ReasonEmptyBody, jsonnode.ReasonInvalidJSON, jsonnode.ReasonRootNotObject,
		jsonnode.ReasonTrailingData, jsonnode.ReasonMissingNode, jsonnode.ReasonNodeNotObject} {
		assert.True(t, reasons[ResponseReason(r)], "jsonnode.%s is a ResponseReason", r)
	}
	for _, r := range []string{opendata.ReasonDuplicateKey, opendata.ReasonMissingSign, opendata.ReasonSignTypeMismatch,
		opendata.ReasonMalformedSign, opendata.ReasonBadSignature} {
		assert.True(t, steps[VerifyStep(r)], "opendata.%s is a VerifyStep", r)
	}
	err := &ResponseError{Method: "m", StatusCode: 200, Reason: ReasonDecode, detail: "json: cannot unmarshal number"}
	assert.Equal(t, "alipay: m: unusable response (HTTP 200, decode: json: cannot unmarshal number)", err.Error())
}

// TestStepsAndReasonsNamed: no source file produces a VerifyError step or a
// ResponseError reason from a string literal; they use the constants, so
// the list in errors.go is the whole list.
func TestStepsAndReasonsNamed(t *testing.T) {
	t.Parallel()
	p := parseSource(t)
	for _, f := range p.files {
		ast.Inspect(f, func(n ast.Node) bool {
			var lits []ast.Expr
			switch n := n.(type) {
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); ok && (id.Name == "VerifyError" || id.Name == "ResponseError" || id.Name == "certFailure") {
					for _, e := range n.Elts {
						kv, ok := e.(*ast.KeyValueExpr)
						if ok && (isIdent(kv.Key, "Step") || isIdent(kv.Key, "step") || isIdent(kv.Key, "Reason")) {
							lits = append(lits, kv.Value)
						}
					}
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "fail" && len(n.Args) > 0 {
					lits = append(lits, n.Args[0])
				}
			}
			for _, lit := range lits {
				if b, ok := lit.(*ast.BasicLit); ok && b.Kind == token.STRING {
					t.Errorf("%s: a step or reason spelled %s: use a Step… or Reason… constant", p.fset.Position(b.Pos()), b.Value)
				}
			}
			return true
		})
	}
}
