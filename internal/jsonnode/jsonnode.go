// Package jsonnode finds the signed node of an Alipay gateway response.
//
// It walks the top level of the body with a scanner of its own, so the node's
// value is returned as the exact bytes that were received (Alipay signs those
// bytes), without copying them, and it refuses bodies that are ambiguous: a
// duplicate top-level key, trailing data, a root that is not an object.
// Nothing is unmarshalled here; the caller verifies the bytes first.
package jsonnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrorResponse is the legacy failure node name.
const ErrorResponse = "error_response"

// Reasons returned in [Error]. They are the reject reasons of the known-answer
// vectors (testdata/kat/response_verify.json).
const (
	ReasonEmptyBody     = "empty_body"
	ReasonInvalidJSON   = "invalid_json"
	ReasonRootNotObject = "root_not_object"
	ReasonTrailingData  = "trailing_data"
	ReasonDuplicateNode = "duplicate_node"
	ReasonDuplicateKey  = "duplicate_key"
	ReasonMissingNode   = "missing_node"
	ReasonNodeNotObject = "node_not_object"
)

// Error is a body that cannot be used; Reason is one of the Reason constants.
type Error struct{ Reason string }

// Error returns "jsonnode: <reason>".
func (e *Error) Error() string { return "jsonnode: " + e.Reason }

// Envelope is the top level of a well-formed response.
type Envelope struct {
	Name      string // the key used: the method's node or ErrorResponse
	Value     []byte // exact bytes of the node's value: an object, or a string (AES)
	Encrypted bool   // Value is a JSON string
	Sign      string // the JSON-decoded top-level "sign"; "" when absent
	SignOK    bool   // "sign" was absent or a string
	CertSN    string // the JSON-decoded top-level "alipay_cert_sn"; "" when absent
}

// NodeName returns the response node name of an Alipay method:
// "alipay.open.app.api.query" → "alipay_open_app_api_query_response".
// It allocates the result only.
func NodeName(method string) string {
	var buf [96]byte
	b := buf[:0]
	for i := 0; i < len(method); i++ {
		c := method[i]
		if c == '.' {
			c = '_'
		}
		b = append(b, c)
	}
	return string(append(b, "_response"...))
}

// member is one top-level member of the body: the decoded key and the
// exact bytes of the value.
type member struct {
	key   []byte
	value []byte
}

// Extract finds node (the method's node name), else error_response, in body.
// Checks run in the order of the vectors: body shape, duplicate top-level
// keys, the node, the node's type. Envelope.Value is a sub-slice of body.
//
// The top level is read by a scanner of its own, which accepts exactly what
// a json.Decoder walk (Token for the keys, Decode into json.RawMessage for
// the values) accepts: member values are validated like encoding/json does,
// nesting included, and keys are compared after JSON decoding.
func Extract(body []byte, node string) (*Envelope, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &Error{ReasonEmptyBody}
	}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, &Error{rootReason(body, i)}
	}
	var buf [8]member
	members, end, ok := readObject(body, i, buf[:0])
	if !ok {
		return nil, &Error{ReasonInvalidJSON}
	}
	if len(bytes.TrimSpace(body[end:])) > 0 {
		return nil, &Error{ReasonTrailingData}
	}

	if k := repeated(members); k != nil {
		if string(k) == node || string(k) == ErrorResponse {
			return nil, &Error{ReasonDuplicateNode}
		}
		return nil, &Error{ReasonDuplicateKey}
	}

	env := &Envelope{SignOK: true}
	var fallback []byte
	for _, m := range members {
		switch string(m.key) {
		case node:
			env.Name, env.Value = node, m.value
		case ErrorResponse:
			fallback = m.value
		case "sign":
			env.Sign, env.SignOK = decodeString(m.value)
		case "alipay_cert_sn":
			env.CertSN, _ = decodeString(m.value)
		}
	}
	if env.Value == nil {
		if fallback == nil {
			return nil, &Error{ReasonMissingNode}
		}
		env.Name, env.Value = ErrorResponse, fallback
	}
	switch env.Value[0] {
	case '{':
	case '"':
		env.Encrypted = true
	default:
		return nil, &Error{ReasonNodeNotObject}
	}
	return env, nil
}

// repeated returns the key of the first member, in order, that a later
// member repeats, or nil. A body of many members is checked with a map, in
// linear time: pairwise comparison would let a 10 MiB answer of tiny
// members keep a CPU busy for hours.
func repeated(members []member) []byte {
	if len(members) <= 16 {
		for i := range members {
			for j := i + 1; j < len(members); j++ {
				if bytes.Equal(members[i].key, members[j].key) {
					return members[i].key
				}
			}
		}
		return nil
	}
	first := make(map[string]int, len(members))
	found := -1
	for j, m := range members {
		if f, ok := first[string(m.key)]; !ok {
			first[string(m.key)] = j
		} else if found < 0 || f < found {
			found = f
		}
	}
	if found < 0 {
		return nil
	}
	return members[found].key
}

// rootReason classifies a body whose first token (at i) does not open an
// object, as a json.Decoder's Token would: a valid array or scalar is
// root_not_object, anything else invalid_json. Token decodes a scalar into
// an any, which fails on a number out of float64's range.
func rootReason(body []byte, i int) string {
	if !json.Valid(body) {
		return ReasonInvalidJSON
	}
	if c := body[i]; c == '-' || c >= '0' && c <= '9' {
		if _, err := strconv.ParseFloat(string(bytes.TrimRight(body[i:], " \t\r\n")), 64); err != nil {
			return ReasonInvalidJSON
		}
	}
	return ReasonRootNotObject
}

// readObject reads the object that opens at body[i] and appends its members
// to members. It returns the members, the offset just past the closing
// brace, and false when the object is not valid JSON.
func readObject(body []byte, i int, members []member) ([]member, int, bool) {
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return members, i + 1, true
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return nil, 0, false
		}
		end := scanString(body, i)
		if end < 0 {
			return nil, 0, false
		}
		key := body[i+1 : end-1]
		if needsDecoding(key) {
			s, ok := decodeString(body[i:end])
			if !ok {
				return nil, 0, false
			}
			key = []byte(s)
		}
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return nil, 0, false
		}
		i = skipSpace(body, i+1)
		end = scanValue(body, i, 0)
		if end < 0 {
			return nil, 0, false
		}
		members = append(members, member{key: key, value: body[i:end:end]})
		i = skipSpace(body, end)
		if i >= len(body) {
			return nil, 0, false
		}
		switch body[i] {
		case '}':
			return members, i + 1, true
		case ',':
			i = skipSpace(body, i+1)
		default:
			return nil, 0, false
		}
	}
}

// Members calls fn with the key (exactly as received, without its quotes)
// and the exact value bytes of each member of the JSON object obj, in order.
// It reports whether obj is one valid JSON object, JSON whitespace around it
// allowed; when it is not, fn may have been called for the members before
// the fault, and the caller must discard what fn saw.
func Members(obj []byte, fn func(key, value []byte)) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return skipSpace(obj, i+1) == len(obj)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		end := scanString(obj, i)
		if end < 0 {
			return false
		}
		key := obj[i+1 : end-1]
		if i = skipSpace(obj, end); i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		if end = scanValue(obj, i, 1); end < 0 {
			return false
		}
		fn(key, obj[i:end:end])
		if i = skipSpace(obj, end); i >= len(obj) {
			return false
		}
		switch obj[i] {
		case '}':
			return skipSpace(obj, i+1) == len(obj)
		case ',':
			i = skipSpace(obj, i+1)
		default:
			return false
		}
	}
}

// needsDecoding reports whether the raw contents of a JSON string differ
// from its decoded value: an escape, or bytes that are not valid UTF-8
// (they decode to U+FFFD).
func needsDecoding(raw []byte) bool {
	ascii := true
	for _, c := range raw {
		if c == '\\' {
			return true
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return !ascii && !utf8.Valid(raw)
}

// decodeString decodes a JSON string value; null counts as absent.
func decodeString(raw []byte) (string, bool) {
	if string(raw) == "null" {
		return "", true
	}
	if len(raw) >= 2 && raw[0] == '"' && scanString(raw, 0) == len(raw) && !needsDecoding(raw[1:len(raw)-1]) {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// Code reads the "code" and "sub_code" members of a node object, for the
// unsigned-error rule; ok is false when value is not an object.
func Code(value []byte) (code, subCode string, ok bool) {
	var n struct {
		Code    json.RawMessage `json:"code"`
		SubCode json.RawMessage `json:"sub_code"`
	}
	if err := json.Unmarshal(value, &n); err != nil {
		return "", "", false
	}
	code, _ = decodeString(n.Code)
	subCode, _ = decodeString(n.SubCode)
	return code, subCode, true
}

// IsError reports whether err is an *Error with the given reason.
func IsError(err error, reason string) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == reason
}
