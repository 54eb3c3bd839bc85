// Package jsonnode finds the signed node of an Alipay gateway response.
//
// It walks the top level of the body with a streaming JSON decoder, so the
// node's value is returned as the exact bytes that were received (Alipay signs
// those bytes), and it refuses bodies that are ambiguous: a duplicate top-level
// key, trailing data, a root that is not an object. Nothing is unmarshalled
// here; the caller verifies the bytes first.
package jsonnode

import (
	"bytes"
	"encoding/json"
	"errors"
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
func NodeName(method string) string {
	b := make([]byte, 0, len(method)+9)
	for i := 0; i < len(method); i++ {
		c := method[i]
		if c == '.' {
			c = '_'
		}
		b = append(b, c)
	}
	return string(append(b, "_response"...))
}

// Extract finds node (the method's node name), else error_response, in body.
// Checks run in the order of the vectors: body shape, duplicate top-level
// keys, the node, the node's type.
func Extract(body []byte, node string) (*Envelope, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &Error{ReasonEmptyBody}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, &Error{ReasonInvalidJSON}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if ok && d != '[' {
			return nil, &Error{ReasonInvalidJSON}
		}
		// A scalar or an array: valid JSON of the wrong kind, or not JSON.
		if !json.Valid(body) {
			return nil, &Error{ReasonInvalidJSON}
		}
		return nil, &Error{ReasonRootNotObject}
	}

	type member struct {
		key   string
		value json.RawMessage
	}
	members := make([]member, 0, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &Error{ReasonInvalidJSON}
		}
		key, ok := tok.(string)
		if !ok {
			return nil, &Error{ReasonInvalidJSON}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &Error{ReasonInvalidJSON}
		}
		members = append(members, member{key, raw})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, &Error{ReasonInvalidJSON}
	}
	if rest := body[dec.InputOffset():]; len(bytes.TrimSpace(rest)) > 0 {
		return nil, &Error{ReasonTrailingData}
	}

	for i := range members {
		for j := i + 1; j < len(members); j++ {
			if members[i].key == members[j].key {
				if k := members[i].key; k == node || k == ErrorResponse {
					return nil, &Error{ReasonDuplicateNode}
				}
				return nil, &Error{ReasonDuplicateKey}
			}
		}
	}

	env := &Envelope{SignOK: true}
	var fallback []byte
	for _, m := range members {
		switch m.key {
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

// decodeString decodes a JSON string value; null counts as absent.
func decodeString(raw json.RawMessage) (string, bool) {
	if string(raw) == "null" {
		return "", true
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
