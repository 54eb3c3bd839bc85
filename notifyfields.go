package alipay

import (
	"encoding/json"
	"strings"
	"time"
)

// maxNotifyIDLen bounds notify_id. Alipay's are 32 to 35 characters (34
// digits for message-service messages, 32 to 35 hex digits for trade
// notifications); Alipay does not document a format, so the bound leaves
// room while keeping log lines and store keys small.
const maxNotifyIDLen = 64

// notifyProtocolFields are the protocol fields of Alipay's notifications
// (message service 1.1 and trade notifications 1.0). Alipay fills them with
// ids, method names, times and codes: printable ASCII, never '&' or '='.
var notifyProtocolFields = [...]string{
	"notify_id", "notify_type", "notify_time", "utc_timestamp", "app_id", "auth_app_id",
	"msg_method", "msg_type", "msg_app_id", "version", "charset", "sign_type", "encrypt_type",
}

// unambiguousSplit reports whether the verified parameters are the only way
// to read their V1 content. The V1 content joins k=v with '&' and no
// escaping, so one signed content can be re-split: a message re-sent with
// "notify_id=<id>&notify_type=…" as the value of notify_id carries the same
// content, and so Alipay's valid signature, under a new notify_id. So:
//
//   - no parameter name is empty or holds '&', '=' or a control character,
//     so that a name ends at the first '=' of its k=v;
//   - a protocol field holds printable ASCII other than '&' and '=';
//   - biz_content is empty, or exactly one JSON value, or, when
//     encrypt_type is set, standard Base64 characters only;
//   - no other value holds '&'.
//
// Then the reading is unique: where two readings would part, both read the
// same name; a value without '&' ends at the same '&' in both; and a
// biz_content cannot end at two places, because a JSON value cut at an '&'
// (which lies inside a string) or extended past one is not valid JSON, nor
// Base64 (it holds '"' or '&'). Alipay's message service puts business text
// only in biz_content, so its messages pass, and a reason there may hold
// '&', '=' or '%'.
func unambiguousSplit(flat map[string]string) bool {
	for k, v := range flat {
		if k == "" || strings.ContainsAny(k, "&=") || hasControl(k) {
			return false
		}
		if k != "biz_content" && strings.IndexByte(v, '&') >= 0 {
			return false
		}
	}
	for _, k := range notifyProtocolFields {
		if !printableASCII(flat[k]) {
			return false
		}
	}
	biz := flat["biz_content"]
	switch {
	case biz == "":
		return true
	case flat["encrypt_type"] != "":
		return base64Chars(biz)
	case isGBFamily(flat["charset"]):
		return json.Valid(maskDoubleBytes(biz))
	default:
		return json.Valid([]byte(biz))
	}
}

// isGBFamily reports whether charset is GBK, GB2312 or GB18030, the
// multi-byte charsets Alipay may sign with besides UTF-8.
func isGBFamily(charset string) bool {
	switch strings.ToUpper(charset) {
	case "GBK", "GB2312", "GB18030":
		return true
	}
	return false
}

// maskDoubleBytes returns s with every byte pair that starts with a byte in
// 0x81–0xFE replaced by "xx". In GBK (and GB2312, GB18030) such a pair is
// one character whose second byte may be a backslash, '[' or '{'; masked,
// the JSON syntax of the text can be checked byte by byte.
func maskDoubleBytes(s string) []byte {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if b[i] >= 0x81 && b[i] <= 0xfe && i+1 < len(b) {
			b[i], b[i+1] = 'x', 'x'
			i++
		}
	}
	return b
}

// base64Chars reports whether s holds only characters of standard Base64.
func base64Chars(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=') {
			return false
		}
	}
	return true
}

// validNotifyID reports whether id has the shape of Alipay's notify_ids: 1
// to 64 ASCII letters and digits. Nothing else may become a dedupe key.
func validNotifyID(id string) bool {
	if id == "" || len(id) > maxNotifyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return true
}

// printableASCII reports whether s holds only printable ASCII (space to
// '~') other than '&' and '='.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b > 0x7e || b == '&' || b == '=' {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds an ASCII control character.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f {
			return true
		}
	}
	return false
}

// parseUTCTimestamp reads utc_timestamp: exactly 13 ASCII digits of Unix
// milliseconds.
func parseUTCTimestamp(s string) (time.Time, bool) {
	if len(s) != 13 {
		return time.Time{}, false
	}
	var ms int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, false
		}
		ms = ms*10 + int64(s[i]-'0')
	}
	return time.UnixMilli(ms), true
}

// logMethod returns msg_method when it looks like an Alipay method name
// (letters, digits, '.', '_' and '-', at most 100 bytes), else
// "notification": before verification the value is the sender's word, and it
// goes into error texts and logs.
func logMethod(m string) string {
	if safeToken(m, 100) {
		return m
	}
	return "notification"
}

// safeToken reports whether s is 1 to limit bytes of [a-zA-Z0-9._-].
func safeToken(s string, limit int) bool {
	if s == "" || len(s) > limit {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}
