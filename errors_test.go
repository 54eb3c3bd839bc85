package alipay

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/isvkit/alipay/internal/jsonnode"
	"github.com/isvkit/alipay/internal/opendata"
	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
// docs/protocol.md#errors-and-retries, for verified
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

// TestSceneQueryValidation: both names are required and nothing is sent
// without them; a nil request is the zero request.
func TestSceneQueryValidation(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		req   *AppAPISceneQueryRequest
		field string
	}{
		"nil":           {nil, "api_name"},
		"zero":          {&AppAPISceneQueryRequest{}, "api_name"},
		"no_field_name": {&AppAPISceneQueryRequest{APIName: "getPhoneNumber"}, "field_name"},
		"no_api_name":   {&AppAPISceneQueryRequest{FieldName: "mobile"}, "api_name"},
		"blank":         {&AppAPISceneQueryRequest{APIName: " \t", FieldName: "mobile"}, "api_name"},
	} {
		t.Run(name, func(t *testing.T) {
			c, mock := newMockClient(t)
			res, err := c.WithAppAuthToken(testToken).AppAPISceneQuery(context.Background(), tc.req)
			assert.Nil(t, res)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.ErrorIs(t, err, ErrInvalidRequest)
			assert.Equal(t, tc.field, ve.Field)
			assert.Equal(t, methodAppAPISceneQuery, ve.Method)
			assert.Equal(t, 0, mock.GetTotalCallCount())
		})
	}
}

// TestTokenRedacted: the gateway quotes its string to sign, token included,
// in isv.invalid-signature sub_msgs; the token must not reach the error.
func TestTokenRedacted(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	quoted := "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：app_auth_token=" + testToken +
		"&amp;app_id=" + testAppID + "&amp;charset=utf-8&amp;method=alipay.open.app.api.query&amp;sign_type=RSA2&amp;timestamp=2024-05-20 13:14:15&amp;version=1.0"
	node := failNode("40002", "Invalid Arguments "+testToken, "isv.invalid-signature", quoted)
	key := nodeKey(methodAppAPIQuery)
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"signed":          {200, g.body(methodAppAPIQuery, node)},
		"unsigned":        {200, `{"` + key + `":` + node + `}`},
		"error_response":  {200, `{"error_response":` + node + `}`},
		"bad_signature":   {200, `{"` + key + `":` + node + `,"sign":"` + g.sign("{}") + `"}`},
		"http_502":        {502, "<html>upstream said " + testToken + "</html>"},
		"snippet_cut":     {502, strings.Repeat("x", 500) + testToken + strings.Repeat("y", 100)},
		"non_json":        {200, "<html>" + testToken},
		"snippet_unicode": {502, strings.Repeat("网", 170) + testToken},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "snippet_cut" {
			}
			c, mock := newMockClient(t)
			serveMock(t, mock, tc.status, tc.body, nil)
			res, err := c.WithAppAuthToken(testToken).AppAPIQuery(context.Background(), nil)
			assert.Nil(t, res)
			require.Error(t, err)
			text := fmt.Sprintf("%v %+v %#v", err, err, err)
			assert.NotContains(t, text, testToken[:12])
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				assert.Equal(t, "isv.invalid-signature", apiErr.SubCode)
				assert.Contains(t, apiErr.SubMsg, "app_auth_token=[redacted]&amp;app_id=")
			}
		})
	}
}

// TestTransportErrorScrubbed: a transport failure names the method and
// carries neither the query (sign, timestamp) nor the token.
func TestTransportErrorScrubbed(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset by peer")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/gateway.do"
	require.NoError(t, ln.Close())

	for name, opts := range map[string][]Option{
		"error_responder": nil,
		"closed_port":     {WithGatewayURL(closed), WithHTTPClient(&http.Client{})},
	} {
		t.Run(name, func(t *testing.T) {
			c, mock := newMockClient(t, opts...)
			mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewErrorResponder(boom))
			m := c.WithAppAuthToken(testToken)
			s, err := m.sign(methodAppAPIQuery, nil, nil) // the fixed clock makes sign the same as the call's
			require.NoError(t, err)
			u, err := url.Parse(s.url)
			require.NoError(t, err)
			sign := u.Query().Get("sign")
			require.NotEmpty(t, sign)

			res, err := m.AppAPIQuery(context.Background(), nil)
			assert.Nil(t, res)
			require.Error(t, err)
			text := fmt.Sprintf("%v %+v", err, err)
			assert.True(t, strings.HasPrefix(err.Error(), "alipay: "+methodAppAPIQuery+": "), text)
			for _, bad := range []string{sign, url.QueryEscape(sign), sign[:16], "timestamp", "sign=", "?", testToken} {
				assert.NotContains(t, text, bad)
			}
			if name == "error_responder" {
				assert.ErrorIs(t, err, boom)
			} else {
				var opErr *net.OpError
				assert.ErrorAs(t, err, &opErr)
			}
			assert.False(t, errors.Is(err, ErrSignature) || errors.Is(err, ErrBadResponse) || errors.Is(err, ErrInvalidRequest))
		})
	}
}

// TestBodyTooLarge: a body over the 10 MiB read limit is refused, not
// buffered and decoded.
func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewBytesResponder(200, make([]byte, maxResponse+1)))
	res, err := c.AppAPIQuery(context.Background(), nil)
	assert.Nil(t, res)
	var re *ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, ReasonBodyTooLarge, re.Reason)
	assert.ErrorIs(t, err, ErrBadResponse)
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
