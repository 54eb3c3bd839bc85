package alipay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/isvkit/alipay/internal/jsonnode"
)

// outcome is a verified success: the business JSON of the response node
// (the signed bytes, or the decrypted plaintext in AES mode).
type outcome struct {
	body    json.RawMessage
	traceID string
}

// nodeStatus holds the common fields of every response node.
type nodeStatus struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

// readResponse applies the strict policy of protocol.md §5.5 to one gateway
// answer: find the exact node, verify the signature over its raw bytes (with
// Java's `\/` fallback), and only then decode what verified. A success is
// returned only with a valid signature; an unsigned failure becomes an
// *APIError marked unverified; anything else is a *VerifyError or a
// *ResponseError and nothing from the body is trusted.
func (c *Client) readResponse(ctx context.Context, method string, status int, h http.Header, body []byte) (*outcome, error) {
	trace := h.Get("trace_id")
	if status != http.StatusOK {
		return nil, &ResponseError{Method: method, StatusCode: status, Reason: "http_status", Body: c.snippet(body), TraceID: trace}
	}
	env, err := jsonnode.Extract(body, jsonnode.NodeName(method))
	if err != nil {
		var je *jsonnode.Error
		errors.As(err, &je)
		if je.Reason == jsonnode.ReasonDuplicateNode || je.Reason == jsonnode.ReasonDuplicateKey {
			return nil, &VerifyError{Method: method, Step: je.Reason}
		}
		return nil, &ResponseError{Method: method, StatusCode: status, Reason: je.Reason, Body: c.snippet(body), TraceID: trace}
	}
	fail := func(step string, content []byte) error {
		return &VerifyError{Method: method, Step: step, Content: c.snippet(content), CertSN: env.CertSN}
	}
	if env.Encrypted && !c.core.hasAES() {
		return nil, fail("encrypted_without_key", nil)
	}
	if !env.SignOK {
		return nil, fail("malformed_sign", nil)
	}
	if env.Sign == "" {
		if !env.Encrypted {
			if code, _, ok := jsonnode.Code(env.Value); ok && code != "" && code != "10000" {
				return nil, c.apiError(method, env.Value, trace, false)
			}
		}
		return nil, fail("missing_sign", env.Value)
	}
	key, err := c.alipayKeyFor(ctx, method, env.CertSN)
	if err != nil {
		return nil, err
	}
	sig, ok := decodeSign(env.Sign)
	if !ok {
		return nil, fail("malformed_sign", env.Value)
	}
	content, ok := verifyNode(key, env.Value, sig)
	if !ok {
		return nil, fail("bad_signature", env.Value)
	}
	business := content
	if env.Encrypted {
		if business, err = c.decryptNode(content); err != nil {
			return nil, fail("decrypt", nil)
		}
	}
	var st nodeStatus
	if err := json.Unmarshal(business, &st); err != nil {
		return nil, &ResponseError{Method: method, StatusCode: status, Reason: "node_not_object", TraceID: trace}
	}
	if st.Code != "10000" || st.SubCode != "" {
		return nil, c.statusError(method, st, trace, true)
	}
	return &outcome{body: business, traceID: trace}, nil
}

// verifyNode checks sig over the node's raw bytes, then, as the Java SDK
// does, over the bytes with every `\/` replaced by `/`. It returns the bytes
// that verified: those, and only those, are decoded.
func verifyNode(key *rsa.PublicKey, raw, sig []byte) ([]byte, bool) {
	if verifyRSA2(key, raw, sig) {
		return raw, true
	}
	slash := []byte(`\/`)
	if !bytes.Contains(raw, slash) {
		return nil, false
	}
	replaced := bytes.ReplaceAll(raw, slash, []byte{'/'})
	if verifyRSA2(key, replaced, sig) {
		return replaced, true
	}
	return nil, false
}

// alipayKeyFor returns the Alipay public key that must have signed a
// response of method naming certSN, or a *VerifyError (possibly wrapped
// with detail). In public-key mode the configured key is the only one and
// certSN is ignored; certificate mode is cert.go's certKey.
func (c *Client) alipayKeyFor(ctx context.Context, method, certSN string) (*rsa.PublicKey, error) {
	if c.core.certs == nil {
		return c.core.alipayKey, nil
	}
	return c.certKey(ctx, method, certSN)
}

// notifyKeys returns the Alipay public keys a notification may be signed
// with: the configured key in public-key mode; in certificate mode the
// configured certificate's key followed by accepted rotated ones.
func (k *core) notifyKeys() []*rsa.PublicKey {
	if k.certs == nil {
		return []*rsa.PublicKey{k.alipayKey}
	}
	return k.certs.keys()
}

// apiError builds the *APIError of a failure node.
func (c *Client) apiError(method string, node []byte, trace string, verified bool) error {
	var st nodeStatus
	_ = json.Unmarshal(node, &st) // best effort: the code was read already
	return c.statusError(method, st, trace, verified)
}

func (c *Client) statusError(method string, st nodeStatus, trace string, verified bool) error {
	return &APIError{
		Method: method, Code: st.Code, Msg: c.redact(st.Msg), SubCode: st.SubCode,
		SubMsg: c.redact(st.SubMsg), TraceID: trace, Verified: verified,
	}
}

// snippet returns at most maxErrorSnippet bytes of b for an error, cut at a
// rune boundary, with the merchant token redacted.
func (c *Client) snippet(b []byte) string {
	s := c.redact(string(b)) // before cutting: a token across the cut would leak its start
	if len(s) > maxErrorSnippet {
		cut := maxErrorSnippet
		for cut > maxErrorSnippet-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// metaSetter is implemented by every response type through its embedded
// ResponseMeta.
type metaSetter interface {
	setMeta(traceID string, raw json.RawMessage)
}

func (m *ResponseMeta) setMeta(traceID string, raw json.RawMessage) { m.TraceID, m.Raw = traceID, raw }

// callTyped runs a form call and decodes the verified node into a T.
func callTyped[T any, PT interface {
	*T
	metaSetter
}](ctx context.Context, c *Client, method string, bizContent []byte, text []param) (*T, error) {
	res, err := c.call(ctx, method, bizContent, text)
	if err != nil {
		return nil, err
	}
	return decodeOutcome[T, PT](method, res)
}

// decodeOutcome decodes a verified outcome into a T.
func decodeOutcome[T any, PT interface {
	*T
	metaSetter
}](method string, res *outcome) (*T, error) {
	out := PT(new(T))
	if err := json.Unmarshal(res.body, out); err != nil {
		return nil, &ResponseError{Method: method, StatusCode: http.StatusOK, Reason: "decode: " + err.Error()}
	}
	out.setMeta(res.traceID, res.body)
	return out, nil
}
