package alipaytest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// The merchant AES-key methods. Both are self-invoked (Alipay: "此接口不需
// 要传入 app_auth_token"; the fake refuses one with 40004 ACCESS_DENIED) and
// always encrypted with the calling ISV app's own key ([WithAppAESKey]):
// an unencrypted call is answered 40001
// isv.decryption-error-missing-encrypt-type.
const (
	methodAESSet = "alipay.open.auth.app.aes.set"
	methodAESGet = "alipay.open.auth.app.aes.get"
)

// aesKeyNode is the answer of aes.set and aes.get (before encryption).
type aesKeyNode struct {
	AESKey string `json:"aes_key,omitempty"`
}

// merchantAES answers aes.set (set true: a new random key replaces the
// merchant's) or aes.get (the current key; no aes_key when none is set).
// The caller holds s.mu.
func (s *Server) merchantAES(in *incoming, caller string, set bool) *answer {
	if in.aesKey == nil {
		return failure(codeMissingArgs, "isv.decryption-error-missing-encrypt-type", "本接口必须加密调用: encrypt_type=AES")
	}
	var q struct {
		MerchantAppID string `json:"merchant_app_id"`
	}
	if a := bizJSON(in, &q, "INVALID_PARAMETER"); a != nil {
		return a
	}
	if q.MerchantAppID == "" {
		return failure(codeBusinessError, "INVALID_PARAMETER", "merchant_app_id 不能为空")
	}
	m := s.merchants[q.MerchantAppID]
	if m == nil || !s.authorisedTo(m, caller) {
		return failure(codeBusinessError, "ACCESS_DENIED", "商户应用 "+q.MerchantAppID+" 未授权给调用方应用")
	}
	if set {
		key := make([]byte, 16)
		if _, err := rand.Read(key); err != nil {
			return failure(codeUnavailable, "isp.unknow-error", "生成密钥失败")
		}
		m.aesKey = key
	}
	if m.aesKey == nil {
		return success(aesKeyNode{})
	}
	return success(aesKeyNode{base64.StdEncoding.EncodeToString(m.aesKey)})
}

func (s *Server) aesSet(in *incoming, caller string) *answer { return s.merchantAES(in, caller, true) }
func (s *Server) aesGet(in *incoming, caller string) *answer { return s.merchantAES(in, caller, false) }

// authorisedTo reports whether m has a live token issued to the app isv.
// The caller holds s.mu.
func (s *Server) authorisedTo(m *merchant, isv string) bool {
	now := s.now()
	for _, g := range s.grants {
		if g.m == m && g.isvAppID == isv && g.live(now) {
			return true
		}
	}
	return false
}

// MerchantAESKey returns the current AES key (Base64) of the mini-program
// merchantAppID, as aes.get would: what [Server.PhoneNumberEnvelope]
// encrypts with. ok is false when it has none or is unknown.
func (s *Server) MerchantAESKey(merchantAppID string) (key string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.merchants[merchantAppID]
	if m == nil || m.aesKey == nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(m.aesKey), true
}

// SetMerchantAESKey sets the AES key (Base64 of 16, 24 or 32 bytes) of the
// mini-program merchantAppID, as the merchant's console would, without a
// call: envelopes are encrypted with it from now on.
func (s *Server) SetMerchantAESKey(merchantAppID, key string) error {
	k, err := parseAESKey(key)
	if err != nil {
		return fmt.Errorf("alipaytest: SetMerchantAESKey: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.merchants[merchantAppID]
	if m == nil {
		return fmt.Errorf("%w %q", ErrUnknownMerchant, merchantAppID)
	}
	m.aesKey = k
	return nil
}
