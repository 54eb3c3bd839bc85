package alipay

import (
	"strings"
	"unicode/utf8"
)

// What an error may quote of a response or a notification: bounded, with
// the merchant's token redacted and signatures elided.

// redact removes the merchant's token from text taken from a response (the
// gateway quotes its string to sign, token included, in some sub_msgs).
func (c *Client) redact(s string) string {
	token := string(c.appAuthToken())
	if token == "" || !strings.Contains(s, token) {
		return s
	}
	return strings.ReplaceAll(s, token, "[redacted]")
}

// snippet returns at most maxErrorSnippet bytes of b for an error, cut at a
// rune boundary, with the merchant token redacted and every "sign" value
// elided.
func (c *Client) snippet(b []byte) string {
	s := elideSign(c.redact(string(b))) // before cutting: a secret across the cut would leak its start
	if len(s) > maxErrorSnippet {
		cut := maxErrorSnippet
		for cut > maxErrorSnippet-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// elideSign replaces the value of every JSON "sign" member and of every
// form sign= parameter in s with "…": an error quoting a body must not hand
// out the gateway's signature. A value without its end (a cut body) is
// elided to the end of s.
func elideSign(s string) string {
	if !strings.Contains(s, "sign") {
		return s
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(s[i:], "sign")
		if j < 0 {
			break
		}
		j += i
		start, end := signValue(s, j)
		if start < 0 {
			b.WriteString(s[i : j+len("sign")])
			i = j + len("sign")
			continue
		}
		b.WriteString(s[i:start])
		b.WriteString("…")
		i = end
	}
	b.WriteString(s[i:])
	return b.String()
}

// signValue returns the bounds of the value that follows the word "sign" at
// s[j:] when it is a JSON member name ("sign": "value") or a form parameter
// (sign=value, at the start or after '&'); start is -1 otherwise.
func signValue(s string, j int) (start, end int) {
	k := j + len("sign")
	if j > 0 && s[j-1] == '"' && k < len(s) && s[k] == '"' {
		k = skipJSONSpace(s, k+1)
		if k >= len(s) || s[k] != ':' {
			return -1, 0
		}
		k = skipJSONSpace(s, k+1)
		if k >= len(s) || s[k] != '"' {
			return -1, 0
		}
		for e := k + 1; e < len(s); e++ {
			switch s[e] {
			case '\\':
				e++
			case '"':
				return k + 1, e
			}
		}
		return k + 1, len(s)
	}
	if (j == 0 || s[j-1] == '&') && k < len(s) && s[k] == '=' {
		e := strings.IndexByte(s[k+1:], '&')
		if e < 0 {
			return k + 1, len(s)
		}
		return k + 1, k + 1 + e
	}
	return -1, 0
}

func skipJSONSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}
