package jsonnode

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzExtract: Extract never panics, and an envelope it returns holds a
// node value that is valid JSON, found verbatim in the input, under the
// requested name or error_response.
func FuzzExtract(f *testing.F) {
	for _, tc := range loadCases(f) {
		f.Add([]byte(tc.Body), tc.Method)
	}
	f.Add([]byte(`{"a_response":{"k":"\u0000"},"sign":"\/"}`), "a")
	f.Fuzz(func(t *testing.T, body []byte, method string) {
		node := NodeName(method)
		env, err := Extract(body, node)
		if err != nil {
			if env != nil {
				t.Fatalf("envelope with error %v", err)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if env.Name != node && env.Name != ErrorResponse {
			t.Fatalf("node %q, asked for %q", env.Name, node)
		}
		if !json.Valid(env.Value) {
			t.Fatalf("value %q is not valid JSON", env.Value)
		}
		if !bytes.Contains(body, env.Value) {
			t.Fatalf("value %q is not a substring of the body", env.Value)
		}
		if env.Encrypted != (env.Value[0] == '"') || (!env.Encrypted && env.Value[0] != '{') {
			t.Fatalf("value %q: encrypted=%v", env.Value, env.Encrypted)
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not valid JSON: %q", body)
		}
	})
}
