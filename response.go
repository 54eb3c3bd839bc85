package alipay

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/isvkit/alipay/internal/jsonnode"
)

// verifiedBody is a verified success: the business JSON of the response node
// (the signed bytes, or the decrypted plaintext in AES mode).
type verifiedBody struct {
	body      json.RawMessage
	traceID   string
	encrypted bool // the node was a ciphertext
}

// nodeStatus holds the common fields of every response node.
type nodeStatus struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

// readResponse applies the strict policy of docs/wire.md#verification
// to one gateway answer: find the exact node, verify the signature over its raw bytes (with
// Java's `\/` fallback), and only then decode what verified. A success is
// returned only with a valid signature; an unsigned failure becomes an
// *APIError marked unverified; anything else is a *VerifyError or a
// *ResponseError and nothing from the body is trusted.
func (c *Client) readResponse(ctx context.Context, method string, status int, h http.Header, body []byte) (*verifiedBody, error) {
	trace := traceHeader(h)
	if status >= 300 && status < 400 {
		return nil, &ResponseError{Method: method, StatusCode: status, Reason: ReasonRedirect, Body: c.snippet(body), TraceID: trace}
	}
	if status != http.StatusOK {
		return nil, &ResponseError{Method: method, StatusCode: status, Reason: ReasonHTTPStatus, Body: c.snippet(body), TraceID: trace}
	}
	env, err := jsonnode.Extract(body, jsonnode.NodeName(method))
	if err != nil {
		var je *jsonnode.Error
		errors.As(err, &je)
		// jsonnode's reasons are spelled as the Step and Reason constants
		// (TestExtractReasonsAreConstants).
		if je.Reason == jsonnode.ReasonDuplicateNode || je.Reason == jsonnode.ReasonDuplicateKey {
			return nil, &VerifyError{Method: method, Step: VerifyStep(je.Reason)}
		}
		return nil, &ResponseError{Method: method, StatusCode: status, Reason: ResponseReason(je.Reason), Body: c.snippet(body), TraceID: trace}
	}
	fail := func(step VerifyStep, content []byte) error {
		return &VerifyError{Method: method, Step: step, Content: c.snippet(content), CertSN: env.CertSN}
	}
	if env.Encrypted && !c.core.hasAES() {
		return nil, fail(StepEncryptedWithoutKey, nil)
	}
	if !env.SignOK {
		return nil, fail(StepMalformedSign, nil)
	}
	if env.Sign == "" {
		if !env.Encrypted {
			if code, _, ok := jsonnode.Code(env.Value); ok && code != "" && code != "10000" {
				return nil, c.apiError(method, env.Value, trace, false)
			}
		}
		return nil, fail(StepMissingSign, env.Value)
	}
	key, err := c.alipayKeyFor(ctx, method, env.CertSN)
	if err != nil {
		return nil, err
	}
	sig, ok := decodeSign(env.Sign)
	if !ok {
		return nil, fail(StepMalformedSign, env.Value)
	}
	content, ok := verifyNode(key, env.Value, sig)
	if !ok {
		return nil, fail(StepBadSignature, env.Value)
	}
	business := content
	if env.Encrypted {
		if business, err = c.decryptNode(content); err != nil {
			return nil, fail(StepDecrypt, nil)
		}
	}
	st, success, err := readStatus(business)
	if err != nil {
		return nil, &ResponseError{Method: method, StatusCode: status, Reason: ReasonNodeNotObject, TraceID: trace}
	}
	if !success {
		return nil, c.statusError(method, st, trace, true)
	}
	if env.Name == jsonnode.ErrorResponse {
		// Only the method's own node can carry a success: a signed
		// error_response saying 10000 answers no request of ours.
		return nil, &ResponseError{Method: method, StatusCode: status, Reason: ReasonSuccessInErrorResponse, TraceID: trace}
	}
	return &verifiedBody{body: business, traceID: trace, encrypted: env.Encrypted}, nil
}

// traceHeader returns the trace_id header, Alipay's 32 hex digits. It is
// not signed, and it goes into errors, logs, spans and (in a merchant's
// reason) the registry: a value longer than 64 bytes or holding anything
// but letters, digits, '.', '_' and '-' is dropped.
func traceHeader(h http.Header) string {
	if t := h.Get("trace_id"); safeToken(t, 64) {
		return t
	}
	return ""
}

// readStatus returns what json.Unmarshal(node, &nodeStatus) gives, and
// whether it is a success (code 10000 without sub_code), without decoding
// the rest of the node: the typed decode reads it once, later. Its scan
// handles the common shape (one object, ASCII keys named exactly, string or
// null values); anything else (a key that matches only case-insensitively
// or holds escapes, a value of another type, invalid JSON) is left to
// json.Unmarshal, so the result is always the same. On success st is empty.
func readStatus(node []byte) (st nodeStatus, success bool, err error) {
	var raw [4][]byte // code, msg, sub_code, sub_msg: quoted values; the last one counts
	simple := true
	valid := jsonnode.Members(node, func(key, value []byte) {
		switch i := statusIndex(key); {
		case !simple || i == -1:
		case i == -2 || (value[0] != '"' && value[0] != 'n'):
			simple = false // a case-folded key or a type error: json.Unmarshal decides
		case value[0] == '"':
			raw[i] = value // null leaves the field as it was
		}
	})
	if !valid || !simple {
		return unmarshalStatus(node)
	}
	if rawStringIs(raw[0], "10000") && rawStringIs(raw[2], "") {
		return nodeStatus{}, true, nil
	}
	st = nodeStatus{Code: rawString(raw[0]), Msg: rawString(raw[1]), SubCode: rawString(raw[2]), SubMsg: rawString(raw[3])}
	return st, false, nil
}

// unmarshalStatus is readStatus by json.Unmarshal, for the shapes its scan
// leaves alone. It is a function of its own so that the fast path does not
// move a nodeStatus to the heap.
func unmarshalStatus(node []byte) (nodeStatus, bool, error) {
	var st nodeStatus
	err := json.Unmarshal(node, &st)
	return st, err == nil && st.Code == "10000" && st.SubCode == "", err
}

// statusIndex returns the index of a raw member key among code, msg,
// sub_code and sub_msg, -1 when it names none of them, and -2 when only
// encoding/json's rules can tell (an escape, a byte that is not ASCII, or a
// case-insensitive match, which encoding/json accepts).
func statusIndex(key []byte) int {
	for _, c := range key {
		if c == '\\' || c >= utf8.RuneSelf {
			return -2
		}
	}
	switch string(key) {
	case "code":
		return 0
	case "msg":
		return 1
	case "sub_code":
		return 2
	case "sub_msg":
		return 3
	}
	for _, f := range [...]string{"code", "msg", "sub_code", "sub_msg"} {
		if strings.EqualFold(string(key), f) {
			return -2
		}
	}
	return -1
}

// rawString decodes a quoted JSON string value; nil is "".
func rawString(v []byte) string {
	if v == nil {
		return ""
	}
	if bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return string(v[1 : len(v)-1])
	}
	var s string
	_ = json.Unmarshal(v, &s) // v is a valid JSON string: it cannot fail
	return s
}

// rawStringIs reports whether rawString(v) == want, without allocating in
// the common case.
func rawStringIs(v []byte, want string) bool {
	if v != nil && bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return string(v[1:len(v)-1]) == want
	}
	return rawString(v) == want
}

// errBodyTooLarge is readBody's failure for an answer over maxResponse.
var errBodyTooLarge = errors.New("alipay: response body exceeds the limit")

// readBody reads and closes a response body as resty would (a gzip body
// that net/http did not decompress is decompressed; more than maxResponse
// bytes is errBodyTooLarge), without resty's 512-byte read loop and the
// two Content-Type regular expressions it runs on every response.
func readBody(resp *http.Response) ([]byte, error) {
	defer func() { _ = resp.Body.Close() }() // read to the end or failed: nothing to report
	var r io.Reader = resp.Body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") && resp.ContentLength != 0 {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	// io.ReadAll's loop, sized by Content-Length when there is one (one
	// allocation for an ordinary answer) and stopped past maxResponse.
	n := 512
	if cl := resp.ContentLength; cl > 0 && cl <= maxResponse {
		n = int(cl) + 1 // room to read EOF without growing
	}
	b := make([]byte, 0, n)
	for {
		m, err := r.Read(b[len(b):min(cap(b), maxResponse+1)])
		b = b[:len(b)+m]
		switch {
		case len(b) > maxResponse:
			return nil, errBodyTooLarge
		case err == io.EOF:
			return b, nil
		case err != nil:
			return nil, err
		case len(b) == cap(b):
			b = append(b, 0)[:len(b)]
		}
	}
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

// statusError builds the *APIError of a failure status. The gateway
// HTML-escapes '&' in sub_msg ("&amp;"), which makes the string to sign it
// quotes on a signature failure unreadable: the escape is undone.
func (c *Client) statusError(method string, st nodeStatus, trace string, verified bool) error {
	return &APIError{
		Method: method, Code: st.Code, Msg: c.redact(st.Msg), SubCode: st.SubCode,
		SubMsg: c.redact(strings.ReplaceAll(st.SubMsg, "&amp;", "&")), TraceID: trace, Verified: verified,
	}
}

// metaSetter is implemented by every response type through its embedded
// ResponseMeta.
type metaSetter interface {
	setMeta(traceID string, raw json.RawMessage)
}

func (m *ResponseMeta) setMeta(traceID string, raw json.RawMessage) { m.TraceID, m.Raw = traceID, raw }

// callTyped runs a form call and decodes the verified node into a T. The
// method's name decides how failures are handled: a read (a name ending in
// .query or .get) is retried on transient failures; anything else is a
// write, never retried, whose failures after the request may have arrived
// are marked ErrOutcomeUnknown.
func callTyped[T any, PT interface {
	*T
	metaSetter
}](ctx context.Context, c *Client, method string, bizContent []byte, text []param) (*T, error) {
	return callScrubbed[T, PT](ctx, c, method, bizContent, text, nil)
}

// callScrubbed is callTyped for a call whose failures may quote its
// secrets: scrub cleans every attempt's error.
func callScrubbed[T any, PT interface {
	*T
	metaSetter
}](ctx context.Context, c *Client, method string, bizContent []byte, text []param, scrub func(error) error) (*T, error) {
	read := isReadMethod(method)
	res, err := c.do(ctx, &request{method: method, biz: bizContent, text: text, retry: read, write: !read,
		sealed: encryptedOnly(method), scrub: scrub})
	if err != nil {
		return nil, err
	}
	return decodeVerified[T, PT](method, res)
}

// decodeVerified decodes a verified body into a T.
func decodeVerified[T any, PT interface {
	*T
	metaSetter
}](method string, res *verifiedBody) (*T, error) {
	out := PT(new(T))
	if err := json.Unmarshal(res.body, out); err != nil {
		return nil, &ResponseError{Method: method, StatusCode: http.StatusOK, Reason: ReasonDecode, detail: err.Error()}
	}
	out.setMeta(res.traceID, res.body)
	return out, nil
}
