package alipay

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// orderedParams decodes a JSON object of strings keeping its key order.
type orderedParams []param

func (o *orderedParams) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("params: want an object")
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, param{k.(string), v})
	}
	return nil
}

func (o orderedParams) get(k string) string {
	for _, p := range o {
		if p.key == k {
			return p.value
		}
	}
	return ""
}
