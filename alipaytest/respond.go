package alipaytest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Gateway codes and their msg texts.
const (
	codeSuccess       = "10000"
	codeUnavailable   = "20000"
	codeTokenInvalid  = "20001"
	codeMissingArgs   = "40001"
	codeInvalidArgs   = "40002"
	codeConditions    = "40003"
	codeBusinessError = "40004"
	codeCallLimited   = "40005"
	codePermission    = "40006"
)

func codeMsg(code string) string {
	switch code {
	case codeSuccess:
		return "Success"
	case codeUnavailable:
		return "Service Currently Unavailable"
	case codeTokenInvalid:
		return "Insufficient Token Permissions"
	case codeMissingArgs:
		return "Missing Required Arguments"
	case codeInvalidArgs:
		return "Invalid Arguments"
	case codeConditions:
		return "Insufficient Conditions"
	case codeCallLimited:
		return "Call Limited"
	case codePermission:
		return "Insufficient Permissions"
	default:
		return "Business Failed"
	}
}

// errorNode is the legacy node of failures that have no method to name.
const errorNode = "error_response"

// answer is what the gateway replies to one request, before faults.
type answer struct {
	node    string // "<method with . → _>_response" or errorNode
	code    string
	subCode string
	subMsg  string
	biz     any    // business fields, marshalled after code/msg; nil for none
	signed  bool   // signed with the Alipay key (false when the app is unknown)
	aesKey  []byte // encrypt the node with this key (the request was encrypted); nil for plain
}

// failure builds a failed answer.
func failure(code, subCode, subMsg string) *answer {
	return &answer{code: code, subCode: subCode, subMsg: subMsg}
}

// success builds a successful answer carrying biz.
func success(biz any) *answer { return &answer{code: codeSuccess, biz: biz} }

// nodeName returns the response node of an Alipay method.
func nodeName(method string) string { return strings.ReplaceAll(method, ".", "_") + "_response" }

// status is the common head of every node.
type status struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code,omitempty"`
	SubMsg  string `json:"sub_msg,omitempty"`
}

// marshal encodes v as compact JSON without HTML escaping, the way the
// gateway's serialiser writes Chinese and '&'.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // only plain data is marshalled here
		return []byte("{}")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

// nodeBytes renders the node's value: code, msg, sub_code, sub_msg, then
// the business fields.
func (a *answer) nodeBytes() []byte {
	head := marshal(status{Code: a.code, Msg: codeMsg(a.code), SubCode: a.subCode, SubMsg: a.subMsg})
	if a.biz == nil {
		return head
	}
	biz := marshal(a.biz)
	if len(biz) <= 2 { // "{}"
		return head
	}
	out := make([]byte, 0, len(head)+len(biz))
	out = append(out, head[:len(head)-1]...)
	out = append(out, ',')
	return append(out, biz[1:]...)
}

// signRSA2 signs content with SHA256withRSA (PKCS#1 v1.5), standard Base64.
func signRSA2(key *rsa.PrivateKey, content []byte) string {
	sum := sha256.Sum256(content)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil { // only for a broken key, which parsePrivateKey refuses
		return ""
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// writeAnswer writes a as the gateway does: HTTP 200, the node, then the
// signature over the node's exact bytes, altered by fault kind k. It
// returns the write error (the client went away).
func (s *Server) writeAnswer(w http.ResponseWriter, a *answer, k FaultKind) error {
	node := a.nodeBytes()
	if a.aesKey != nil {
		// The node becomes a JSON string of the ciphertext, signed with its
		// quotes.
		ct, err := aesEncrypt(a.aesKey, node)
		if err != nil { // keys are checked when configured
			return err
		}
		node = marshal(ct)
	}
	var b bytes.Buffer
	b.WriteString(`{"`)
	b.WriteString(a.node)
	b.WriteString(`":`)
	b.Write(node)
	sign := ""
	if a.signed && k != FaultMissingSignature {
		sign = signRSA2(s.alipayKey, node)
	}
	if k == FaultTamperSignature {
		sign = tamper(sign, node)
	}
	if sign != "" {
		b.WriteString(`,"sign":`)
		b.Write(marshal(sign))
	}
	if k == FaultDuplicateNode {
		// A second node after the signed one: a last-key-wins parser reads it.
		b.WriteString(`,"`)
		b.WriteString(a.node)
		b.WriteString(`":{"code":"10000","msg":"Success"}`)
	}
	b.WriteByte('}')
	// The gateway answers JSON labelled text/html.
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b.Bytes())
	return err
}

// tamper returns a well-formed signature that does not verify: the valid
// signature with one bit flipped, or, for an unsigned answer, a signature
// made over other bytes.
func tamper(sign string, node []byte) string {
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil || len(sig) == 0 {
		sum := sha256.Sum256(node)
		return base64.StdEncoding.EncodeToString(append(sum[:], sum[:]...))
	}
	sig[len(sig)/2] ^= 0x01
	return base64.StdEncoding.EncodeToString(sig)
}

// writeHTMLError answers as a front proxy does when the gateway is down. It
// returns the write error (the client went away).
func writeHTMLError(w http.ResponseWriter, code int) error {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	text := http.StatusText(code)
	if text == "" {
		text = "Error"
	}
	_, err := w.Write([]byte("<html>\r\n<head><title>" + strconv.Itoa(code) + " " + text + "</title></head>\r\n<body>\r\n<center><h1>" +
		strconv.Itoa(code) + " " + text + "</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n"))
	return err
}
