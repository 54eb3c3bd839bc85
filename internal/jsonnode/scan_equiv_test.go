package jsonnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// equivSeeds are the vectors plus shapes that stress the scanner: escapes
// in keys, invalid UTF-8, nesting at and past encoding/json's depth limit,
// numbers out of float64's range, and whitespace json.Decoder does not skip.
func equivSeeds(f *testing.F) {
	for _, tc := range loadCases(f) {
		f.Add([]byte(tc.Body), tc.Method)
	}
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	var many strings.Builder // more members than the pairwise check handles
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&many, `"k%d":%d,`, i%19, i)
	}
	f.Add([]byte(`{`+many.String()+`"a_response":{},"sign":"x"}`), "a")
	f.Add([]byte(`{"a_response":{},`+many.String()+`"a_response":{}}`), "a")
	for _, s := range []string{
		`{"a_response":{},"\u0073ign":"x"}`, `{"a_response":{},"sign":"\/\u0041"}`, "{\"a_\xff\":1,\"a_\xfe\":2}",
		`{"a_response":` + deep(10000) + `}`, `{"a_response":` + deep(10001) + `}`, deep(10000), deep(10001),
		`1e999`, `-1e400 `, `1e-400`, `"x"`, "\v{\"a_response\":{}}", "{\"a_response\":{}}\v\u00a0",
		`{"a_response":{}}]`, `{"a_response":{},}`, `{"a_response":01}`, `{"a_response":"\u12"}`,
		`{"a_response":{"k":[1,2.5e+3,-0,true,false,null,"\ud800"]},"alipay_cert_sn":"\u0031"}`,
	} {
		f.Add([]byte(s), "a")
	}
}

// FuzzExtractEquivalence: the hand-written scanner gives, for every body,
// exactly what the json.Decoder walk it replaced gave: the same reason, or
// the same node name, value bytes, sign, sign validity, cert SN and
// encryption flag.
//
//	go test -run '^$' -fuzz '^FuzzExtractEquivalence$' -fuzztime 10m ./internal/jsonnode
func FuzzExtractEquivalence(f *testing.F) {
	equivSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte, method string) {
		node := NodeName(method)
		got, gerr := Extract(body, node)
		want, werr := referenceExtract(body, node)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("Extract: %v, %v; reference: %v, %v", got, gerr, want, werr)
		}
		if gerr != nil {
			if gerr.Error() != werr.Error() {
				t.Fatalf("reason %v, reference %v", gerr, werr)
			}
			return
		}
		if got.Name != want.Name || !bytes.Equal(got.Value, want.Value) || got.Sign != want.Sign ||
			got.SignOK != want.SignOK || got.CertSN != want.CertSN || got.Encrypted != want.Encrypted {
			t.Fatalf("envelope %+v, reference %+v", got, want)
		}
	})
}

// FuzzMembers: Members accepts exactly the single JSON objects json.Valid
// accepts, and yields the members a json.Decoder walk sees, each value valid
// JSON; scanValue agrees with json.Valid on any value.
//
//	go test -run '^$' -fuzz '^FuzzMembers$' -fuzztime 10m ./internal/jsonnode
func FuzzMembers(f *testing.F) {
	equivSeeds(f)
	f.Fuzz(func(t *testing.T, obj []byte, _ string) {
		start := skipSpace(obj, 0)
		end := scanValue(obj, start, 0)
		if valid := end >= 0 && skipSpace(obj, end) == len(obj); valid != json.Valid(obj) {
			t.Fatalf("scanValue says valid=%v, json.Valid %v", valid, !valid)
		}
		var keys, values [][]byte
		ok := Members(obj, func(k, v []byte) { keys, values = append(keys, k), append(values, v) })
		want := json.Valid(obj) && start < len(obj) && obj[start] == '{'
		if ok != want {
			t.Fatalf("Members = %v, want %v", ok, want)
		}
		if !ok {
			return
		}
		var m []json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(obj))
		_, _ = dec.Token()
		for dec.More() {
			_, _ = dec.Token()
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			m = append(m, v)
		}
		if len(m) != len(values) {
			t.Fatalf("%d members, decoder saw %d", len(values), len(m))
		}
		for i := range m {
			if !bytes.Equal(m[i], values[i]) || !json.Valid(values[i]) {
				t.Fatalf("member %d (%q): %q, decoder saw %q", i, keys[i], values[i], m[i])
			}
		}
	})
}

// TestExtractManyMembers: bodies of many top-level members give the
// reference's reasons (the first repeated key decides between duplicate_node
// and duplicate_key), and a 2 MiB body of 300 000 tiny members (hours of
// pairwise comparisons) is refused in linear time.
func TestExtractManyMembers(t *testing.T) {
	t.Parallel()
	members := func(n int, extra ...string) []byte {
		var b strings.Builder
		b.WriteString(`{"x_response":{}`)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `,"k%d":%d`, i, i)
		}
		for _, e := range extra {
			b.WriteString("," + e)
		}
		return []byte(b.String() + "}")
	}
	for name, body := range map[string][]byte{
		"distinct":            members(2000),
		"late duplicate":      members(2000, `"k1999":0`),
		"node repeated later": members(2000, `"k7":0`, `"x_response":{}`),
		"key then node":       members(2000, `"x_response":{}`, `"k7":0`),
		"error_response":      members(2000, `"error_response":{}`, `"error_response":{}`),
	} {
		got, gerr := Extract(body, "x_response")
		want, werr := referenceExtract(body, "x_response")
		require.Equal(t, werr, gerr, name)
		if werr == nil {
			assert.Equal(t, want.Value, got.Value, name)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"x_response":{}`)
	for i := 0; b.Len() < 2<<20; i++ {
		fmt.Fprintf(&b, `,"%x":0`, i)
	}
	b.WriteString(`,"0":0}`)
	start := time.Now()
	_, err := Extract(b.Bytes(), "x_response")
	assert.True(t, IsError(err, ReasonDuplicateKey), "%v", err)
	assert.Less(t, time.Since(start), 10*time.Second)
}

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
