package alipay

import (
	"encoding/json"
	"testing"
)

// FuzzFlexValues: whatever JSON value sits in a FlexInt or FlexTime
// member, decoding the object around it does not fail because of it, and
// nothing panics.
func FuzzFlexValues(f *testing.F) {
	for _, seed := range []string{`1`, `"1"`, `""`, `null`, `1e400`, `"2024-05-20 13:14:15"`, `-9223372036854775809`, `{"a":[1]}`, `"\u0000"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if !json.Valid([]byte(value)) {
			return
		}
		var v struct {
			I FlexInt  `json:"i"`
			T FlexTime `json:"t"`
		}
		doc := `{"i":` + value + `,"t":` + value + `}`
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}
