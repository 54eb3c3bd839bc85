package alipay

import (
	"encoding/json"
	"fmt"
)

// ResponseMeta is embedded in every response: what the SDK knows about the
// answer beyond its typed fields.
type ResponseMeta struct {
	// TraceID is the gateway's trace_id response header, when present.
	TraceID string `json:"-"`
	// Raw is the verified JSON of the response node (decrypted in AES mode),
	// for fields this version does not model yet.
	Raw json.RawMessage `json:"-"`
}

// FlexBool is a boolean that decodes from JSON true/false, from the
// strings "true"/"false", or from 1/0 (as numbers or strings, the way PHP
// renders booleans): Alipay does not document which form it sends.
type FlexBool bool

// UnmarshalJSON accepts true, false, "true", "false", 1, 0, "1" and "0";
// null and "" are false.
func (b *FlexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`, "1", `"1"`:
		*b = true
	case "false", `"false"`, "null", `""`, "0", `"0"`:
		*b = false
	default:
		return fmt.Errorf("alipay: cannot decode %.32q as a boolean", data)
	}
	return nil
}
