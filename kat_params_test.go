package alipay

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
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

// signContent returns the string to sign of params (appendSignContent into
// a new slice); params is sorted in place.
func signContent(params []param) []byte {
	n := 0
	for _, p := range params {
		n += len(p.key) + len(p.value) + 2
	}
	return appendSignContent(make([]byte, 0, n), params)
}

// signRSA2 signs content with SHA256withRSA (PKCS#1 v1.5) and returns the
// standard Base64 signature.
func signRSA2(key *rsa.PrivateKey, content []byte) (string, error) {
	sig, err := signRSA2Raw(key, content)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}
