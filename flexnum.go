package alipay

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// FlexInt is an integer field that Alipay sends sometimes as a JSON number
// and sometimes as a string: its SDK models declare such fields (expires_in,
// re_expires_in) as strings while the gateway sends numbers, and it has
// switched before. FlexInt decodes a number, a numeric string, "" and null
// (both absent), and keeps the text as received. A value that is not an
// integer is kept as text and never fails the decoding of the response:
// [FlexInt.Int64] then reports false.
type FlexInt struct {
	raw string // the number's text, or the string's content; "" when absent
	n   int64
	ok  bool
}

// FlexIntOf returns the FlexInt holding n.
func FlexIntOf(n int64) FlexInt {
	return FlexInt{raw: strconv.FormatInt(n, 10), n: n, ok: true}
}

// Int64 returns the value and whether there is one that is an integer.
func (f FlexInt) Int64() (int64, bool) { return f.n, f.ok }

// String returns the text as received: the digits of a number, the content
// of a string, "" when absent.
func (f FlexInt) String() string { return f.raw }

// IsZero reports whether the field was absent (missing, null or "").
func (f FlexInt) IsZero() bool { return f.raw == "" }

// UnmarshalJSON accepts a JSON number, a string (numeric or not), null, and
// keeps any other JSON value's text without failing.
func (f *FlexInt) UnmarshalJSON(data []byte) error {
	*f = FlexInt{}
	text, ok := flexText(data)
	if !ok {
		return nil // null, or a value of another kind: absent / kept below
	}
	f.raw = text
	f.n, f.ok = parseFlexInt(text)
	return nil
}

// MarshalJSON writes the integer as a JSON number, other text as a JSON
// string, and an absent value as null.
func (f FlexInt) MarshalJSON() ([]byte, error) {
	switch {
	case f.ok:
		return strconv.AppendInt(nil, f.n, 10), nil
	case f.raw == "":
		return []byte("null"), nil
	default:
		return json.Marshal(f.raw)
	}
}

// flexText returns the text of a JSON scalar: a string's content, or a
// number's (or boolean's, or any other value's) compact text; ok is false
// for null and for "".
func flexText(data []byte) (string, bool) {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0 || string(data) == "null":
		return "", false
	case data[0] == '"':
		var s string
		if json.Unmarshal(data, &s) != nil {
			return "", false
		}
		s = strings.TrimSpace(s)
		return s, s != ""
	default:
		return string(data), true
	}
}

// parseFlexInt parses a decimal integer, also written as an integral
// float ("31536000.0", "3.1536e7").
func parseFlexInt(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	fl, err := strconv.ParseFloat(s, 64)
	if err != nil || fl != math.Trunc(fl) || fl < math.MinInt64 || fl >= math.MaxInt64 {
		return 0, false
	}
	return int64(fl), true
}

// alipayZone is the zone of Alipay's "yyyy-MM-dd HH:mm:ss" times (UTC+8),
// fixed so that no tzdata is needed.
var alipayZone = time.FixedZone("UTC+8", 8*3600)

// FlexTime is a time field whose wire form Alipay does not document: its
// SDKs map such fields from "yyyy-MM-dd HH:mm:ss" in UTC+8, and other
// fields carry epoch milliseconds. FlexTime accepts both (as a string or a
// number) and keeps the text; a value it cannot parse never fails the
// decoding of the response: [FlexTime.Time] then reports false.
type FlexTime struct {
	raw string
	t   time.Time
	ok  bool
}

// Time returns the instant and whether the text parsed.
func (f FlexTime) Time() (time.Time, bool) { return f.t, f.ok }

// String returns the text as received ("" when absent).
func (f FlexTime) String() string { return f.raw }

// IsZero reports whether the field was absent (missing, null or "").
func (f FlexTime) IsZero() bool { return f.raw == "" }

// UnmarshalJSON accepts "2006-01-02 15:04:05" (UTC+8), epoch milliseconds
// as a number or a string, null and "", and keeps any other text.
func (f *FlexTime) UnmarshalJSON(data []byte) error {
	*f = FlexTime{}
	text, ok := flexText(data)
	if !ok {
		return nil
	}
	f.raw = text
	if t, err := time.ParseInLocation(time.DateTime, text, alipayZone); err == nil {
		f.t, f.ok = t, true
	} else if ms, isInt := parseFlexInt(text); isInt && ms >= 0 {
		f.t, f.ok = time.UnixMilli(ms).In(alipayZone), true
	}
	return nil
}

// MarshalJSON writes the text as received as a JSON string, or null.
func (f FlexTime) MarshalJSON() ([]byte, error) {
	if f.raw == "" {
		return []byte("null"), nil
	}
	return json.Marshal(f.raw)
}
