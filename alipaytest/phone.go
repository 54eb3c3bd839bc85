package alipaytest

import (
	"errors"
	"fmt"
)

// ErrNoAESKey: the mini-program has no AES key to encrypt its open data
// with (set one with aes.set, [Merchant.AESKey] or
// [Server.SetMerchantAESKey]).
var ErrNoAESKey = errors.New("alipaytest: mini-program has no AES key")

// phonePlain is the plaintext of a my.getPhoneNumber result: code and msg,
// then mobile on success or the camelCase subCode/subMsg on failure.
type phonePlain struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	Mobile  string `json:"mobile,omitempty"`
	SubCode string `json:"subCode,omitempty"`
	SubMsg  string `json:"subMsg,omitempty"`
}

// openDataEnvelope is what my.getPhoneNumber hands the mini-program
// (res.response), in this member order.
type openDataEnvelope struct {
	Response    string `json:"response"`
	Sign        string `json:"sign"`
	SignType    string `json:"sign_type"`
	EncryptType string `json:"encrypt_type"`
	Charset     string `json:"charset"`
}

// PhoneNumberEnvelope returns what a user of the mini-program
// merchantAppID sharing the phone number mobile makes my.getPhoneNumber
// hand the front end, which posts it to the ISV's backend:
//
//	{"response":"<Base64 AES ciphertext>","sign":"<RSA2>","sign_type":"RSA2","encrypt_type":"AES","charset":"UTF-8"}
//
// The plaintext {"code":"10000","msg":"Success","mobile":"…"} (no mobile
// when mobile is "": the user has no bound number) is encrypted with the
// mini-program's current AES key (AES-CBC, zero IV, PKCS#7), and signed
// with the server's Alipay key (SHA256withRSA) over the ciphertext wrapped
// in double quotes, as Alipay signs it. It returns [ErrUnknownMerchant] or
// [ErrNoAESKey]. Whether the field was approved is not checked.
func (s *Server) PhoneNumberEnvelope(merchantAppID, mobile string) ([]byte, error) {
	return s.openData(merchantAppID, phonePlain{Code: codeSuccess, Msg: codeMsg(codeSuccess), Mobile: mobile})
}

// PhoneNumberErrorEnvelope is [Server.PhoneNumberEnvelope] for a failed
// my.getPhoneNumber: the plaintext carries code, its msg, and the camelCase
// subCode and subMsg, e.g. ("40003", "isv.invalid-auth-relations",
// "无效的授权关系") or ("40006", "isv.insufficient-isv-permissions", …).
func (s *Server) PhoneNumberErrorEnvelope(merchantAppID, code, subCode, subMsg string) ([]byte, error) {
	if code == "" || code == codeSuccess {
		return nil, fmt.Errorf("alipaytest: PhoneNumberErrorEnvelope: code %q is not a failure", code)
	}
	return s.openData(merchantAppID, phonePlain{Code: code, Msg: codeMsg(code), SubCode: subCode, SubMsg: subMsg})
}

// openData encrypts and signs plain as the mini-program's open data.
func (s *Server) openData(merchantAppID string, plain phonePlain) ([]byte, error) {
	s.mu.Lock()
	m := s.merchants[merchantAppID]
	var key []byte
	if m != nil {
		key = m.aesKey
	}
	s.mu.Unlock()
	switch {
	case m == nil:
		return nil, fmt.Errorf("%w %q", ErrUnknownMerchant, merchantAppID)
	case key == nil:
		return nil, fmt.Errorf("%w: %s", ErrNoAESKey, merchantAppID)
	}
	ct, err := aesEncrypt(key, marshal(plain))
	if err != nil {
		return nil, fmt.Errorf("alipaytest: %v", err)
	}
	return marshal(openDataEnvelope{
		Response: ct, Sign: signRSA2(s.alipayKey, []byte(`"`+ct+`"`)),
		SignType: "RSA2", EncryptType: "AES", Charset: "UTF-8",
	}), nil
}
