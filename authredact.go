package alipay

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
)

// tokenValueRE matches a token (or app_auth_code) member in JSON text,
// also when a snippet cuts the value short.
var tokenValueRE = regexp.MustCompile(`"(app_auth_token|app_refresh_token|refresh_token|app_auth_code)"(\s*):(\s*)"(?:[^"\\]|\\.)*("|\\?$)`)

// scrubTokenMembers replaces the string value of every token and
// app_auth_code member in the JSON text s (a whole text or a cut one)
// with "[redacted]".
func scrubTokenMembers(s string) string {
	return tokenValueRE.ReplaceAllString(s, `"$1"$2:$3"`+redacted+`"`)
}

// scrubSecrets removes from the texts of err that quote the gateway the
// secrets sent in biz_content (a sub_msg may quote the string to sign) and
// every token member (a response that failed verification is quoted in
// VerifyError.Content, and may hold real tokens).
func scrubSecrets(err error, secrets ...string) error {
	scrub := func(s string) string {
		for _, sec := range secrets {
			if sec != "" {
				s = strings.ReplaceAll(s, sec, redacted)
			}
		}
		return scrubTokenMembers(s)
	}
	var (
		apiErr *APIError
		verErr *VerifyError
		resErr *ResponseError
	)
	if errors.As(err, &apiErr) {
		apiErr.Msg, apiErr.SubMsg = scrub(apiErr.Msg), scrub(apiErr.SubMsg)
	}
	if errors.As(err, &verErr) {
		verErr.Content = scrub(verErr.Content)
	}
	if errors.As(err, &resErr) {
		resErr.Body = scrub(resErr.Body)
	}
	return err
}

// tokenKeys are the members whose string values redactTokens hides: the
// tokens, and the app_auth_code of the authorization notify.
var tokenKeys = map[string]bool{"app_auth_token": true, "app_refresh_token": true, "refresh_token": true, "app_auth_code": true}

// redactTokens returns raw (a verified response node) with the string
// value of every app_auth_token, app_refresh_token and refresh_token
// member, at any depth, replaced by "[redacted]": ResponseMeta.Raw must
// not carry a token a log could print. Numbers keep their text. It
// returns nil if raw does not decode (it always does: it decoded before).
func redactTokens(raw []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	out, err := marshalJSON(redactValue(v))
	if err != nil {
		return nil
	}
	return out
}

func redactValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if _, isString := e.(string); isString && tokenKeys[k] {
				v[k] = redacted
			} else {
				v[k] = redactValue(e)
			}
		}
	case []any:
		for i, e := range v {
			v[i] = redactValue(e)
		}
	}
	return v
}
