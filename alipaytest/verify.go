package alipaytest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"strings"
	"time"
)

// Methods the server implements.
const (
	methodBaseInfoQuery  = "alipay.open.mini.baseinfo.query"
	methodBaseInfoModify = "alipay.open.mini.baseinfo.modify"
	methodAPIQuery       = "alipay.open.app.api.query"
	methodSceneQuery     = "alipay.open.app.api.scene.query"
	methodFieldApply     = "alipay.open.app.api.field.apply"
	methodFieldQuery     = "alipay.open.app.api.field.query"
	methodFieldChanged   = "alipay.open.app.api.field.changed"
)

func knownMethod(m string) bool {
	switch m {
	case methodBaseInfoQuery, methodBaseInfoModify, methodAPIQuery, methodSceneQuery, methodFieldApply, methodFieldQuery:
		return true
	}
	_, ok := isvMethods[m]
	return ok
}

// timestampLayout is the format of the timestamp parameter, in UTC+8.
const timestampLayout = "2006-01-02 15:04:05"

// cst returns the fixed UTC+8 zone of timestamps (no tzdata needed).
func cst() *time.Location { return time.FixedZone("UTC+8", 8*3600) }

// signContent rebuilds the string the app signed: every
// received text parameter except sign and those with an empty value, sorted
// by key, joined as k=v with '&', values raw. File parts are not parameters.
func signContent(params map[string]string) string {
	return joinSorted(params, func(k, v string) bool { return k == "sign" || v == "" })
}

// joinSorted joins the parameters that skip does not drop, sorted by key in
// byte order, as k=v with '&': the shape of every Alipay string to sign.
func joinSorted(params map[string]string, skip func(k, v string) bool) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if !skip(k, v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// verifyRSA2 checks a standard-Base64 SHA256withRSA signature.
func verifyRSA2(pub *rsa.PublicKey, content, sign string) bool {
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(content))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
}

// checkProtocol applies the gateway's checks common to every method, in
// this order: the request's shape, duplicate keys, the required parameters
// (40001), the app, method, format, charset, sign_type, version and
// timestamp (40002), the signature (40002), and the app_auth_token (20001).
// It returns the failure, or nil when the request passes.
func (s *Server) checkProtocol(in *incoming) *answer {
	method := in.get("method")
	appID := in.get("app_id")
	s.mu.Lock()
	pub := s.apps[appID]
	s.mu.Unlock()
	fail := func(code, sub, msg string) *answer {
		a := failure(code, sub, msg)
		a.node = errorNode
		if knownMethod(method) {
			a.node = nodeName(method)
		}
		a.signed = pub != nil // without a known app there is no key to sign for
		return a
	}
	if in.malformed != "" {
		return fail(codeInvalidArgs, "isv.invalid-parameter", "参数无效: "+in.malformed)
	}
	if k := in.duplicate(); k != "" {
		return fail(codeInvalidArgs, "isv.invalid-parameter", "参数无效: 参数 "+k+" 重复出现")
	}
	for _, m := range [...]struct{ key, sub, msg string }{
		{"app_id", "isv.missing-app-id", "缺少appId参数"},
		{"method", "isv.missing-method", "缺少方法名参数"},
		{"sign_type", "isv.missing-signature-type", "缺少签名类型参数"},
		{"sign", "isv.missing-signature", "缺少签名参数"},
		{"timestamp", "isv.missing-timestamp", "缺少时间戳参数"},
		{"version", "isv.missing-version", "缺少版本参数"},
	} {
		if in.get(m.key) == "" {
			return fail(codeMissingArgs, m.sub, m.msg)
		}
	}
	switch {
	case pub == nil:
		return fail(codeInvalidArgs, "isv.invalid-app-id", "无效的AppID参数")
	case !knownMethod(method):
		return fail(codeInvalidArgs, "isv.invalid-method", "不存在的方法名")
	case in.get("format") != "" && !strings.EqualFold(in.get("format"), "json"):
		return fail(codeInvalidArgs, "isv.invalid-format", "无效的数据格式")
	case in.get("charset") != "" && !strings.EqualFold(in.get("charset"), "utf-8"):
		return fail(codeInvalidArgs, "isv.invalid-charset", "字符集错误: alipaytest 只支持 UTF-8")
	case in.get("sign_type") != "RSA2":
		return fail(codeInvalidArgs, "isv.invalid-signature-type", "无效的签名类型: alipaytest 只支持 RSA2")
	case in.get("version") != "1.0":
		return fail(codeInvalidArgs, "isv.invalid-parameter", "参数无效: version 必须为 1.0")
	case in.get("encrypt_type") != "" && in.get("encrypt_type") != "AES":
		return fail(codeInvalidArgs, "isv.invalid-encrypt-type", "无效的加密类型: alipaytest 只支持 AES")
	case in.get("encrypt_type") != "" && s.cfg.appAESKeys[appID] == nil:
		return fail(codeInvalidArgs, "isv.decryption-error-not-valid-encrypt-key", "解密出错, 未配置加密密钥或加密密钥格式错误")
	}
	if !s.timestampOK(in.get("timestamp")) {
		return fail(codeInvalidArgs, "isv.invalid-timestamp", "非法的时间戳参数")
	}
	if content := signContent(in.params); !verifyRSA2(pub, content, in.get("sign")) {
		// As the gateway does, quote the string it verified ('&' escaped).
		return fail(codeInvalidArgs, "isv.invalid-signature",
			"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+strings.ReplaceAll(content, "&", "&amp;"))
	}
	if in.get("encrypt_type") == "AES" {
		// Encrypt, then sign: the signature covered the ciphertext.
		key := s.cfg.appAESKeys[appID]
		if biz := in.get("biz_content"); biz != "" {
			plain, err := aesDecrypt(key, biz)
			if err != nil {
				return fail(codeConditions, "isv.decryption-error-unknown", "解密出错, 未知错误")
			}
			in.plainBiz = string(plain)
		}
		in.aesKey = key
	}
	return nil
}

// timestampOK reports whether ts is "2006-01-02 15:04:05" in UTC+8 within
// the window around the server's clock.
func (s *Server) timestampOK(ts string) bool {
	t, err := time.ParseInLocation(timestampLayout, ts, cst())
	if err != nil {
		return false
	}
	d := t.Sub(s.now())
	return d <= s.cfg.window && d >= -s.cfg.window
}
