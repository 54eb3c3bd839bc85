package jsonnode

import (
	"bytes"
	"encoding/json"
)

// referenceExtract is Extract as it was before the hand-written scanner:
// a json.Decoder walk. It is kept to fuzz the two against each other.
//
// It finds node (the method's node name), else error_response, in body.
// Checks run in the order of the vectors: body shape, duplicate top-level
// keys, the node, the node's type.
func referenceExtract(body []byte, node string) (*Envelope, error) {
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
			env.Sign, env.SignOK = referenceDecodeString(m.value)
		case "alipay_cert_sn":
			env.CertSN, _ = referenceDecodeString(m.value)
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

// referenceDecodeString decodes a JSON string value; null counts as absent.
func referenceDecodeString(raw json.RawMessage) (string, bool) {
	if string(raw) == "null" {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}
