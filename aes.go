package alipay

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/isvkit/alipay/internal/aescbc"
)

// parseAESKey decodes the Base64 AES key of [WithAESKey]. Errors name the
// option and the problem, never the key.
func parseAESKey(option, key string) (secret, error) {
	text := strings.TrimSpace(key)
	if text == "" {
		return "", keyError(option, "AES key is empty")
	}
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return "", keyError(option, "AES key is not standard Base64")
	}
	if err := aescbc.CheckKey(raw); err != nil {
		return "", keyError(option, "AES key must be 16, 24 or 32 bytes once Base64-decoded")
	}
	return secret(raw), nil
}

// hasAES reports whether an AES content-encryption key is configured.
func (k *core) hasAES() bool { return k.aesKey != "" }

// modeParams returns the protocol params that certificate mode and AES add
// to a request, and the biz_content to sign and send: with AES it is the
// Base64 ciphertext and encrypt_type=AES is added (to the URL, as Java
// does). An empty biz_content (upload calls, calls without business params)
// stays unencrypted, and so does the certificate download (see fetchCert),
// as in the Java SDK.
func (k *core) modeParams(method string, biz []byte) ([]param, []byte, error) {
	var extra []param
	if k.certs != nil {
		extra = append(extra, param{"app_cert_sn", k.certs.appSN}, param{"alipay_root_cert_sn", k.certs.rootSN})
	}
	if k.aesKey == "" || len(biz) == 0 || method == methodAlipayCertDownload {
		return extra, biz, nil
	}
	ct, err := aescbc.EncryptBase64([]byte(k.aesKey), biz)
	if err != nil {
		return nil, nil, &ValidationError{Method: method, Field: "biz_content", Problem: "AES encryption failed"}
	}
	return append(extra, param{"encrypt_type", "AES"}), []byte(ct), nil
}

// decryptNode decrypts a verified encrypted node: the quoted Base64
// ciphertext exactly as signed. The result is the business JSON.
func (c *Client) decryptNode(quoted []byte) ([]byte, error) {
	if !c.core.hasAES() {
		return nil, errors.New("alipay: AES is not configured")
	}
	var text string
	if err := json.Unmarshal(quoted, &text); err != nil {
		return nil, errors.New("alipay: encrypted node is not a JSON string")
	}
	plain, err := aescbc.DecryptBase64([]byte(c.core.aesKey), text)
	if err != nil {
		return nil, err // aescbc errors carry no key or data
	}
	return plain, nil
}

// WithAESKey turns on content encryption (接口内容加密, encrypt_type=AES)
// with the AES key from the open platform console, Base64 as shown there
// (16, 24 or 32 bytes once decoded). Every biz_content is then encrypted
// (AES-CBC, zero IV, PKCS#7) before signing, encrypt_type=AES is sent, and
// encrypted responses are decrypted after their signature is verified.
// Upload calls (multipart: mini-program base info modify, field apply) have
// no biz_content and are sent unencrypted, as in the official SDKs. The key
// never appears in errors or logs.
func WithAESKey(key string) Option {
	return func(c *config) (err error) {
		c.aesKey, err = parseAESKey("WithAESKey", key)
		return err
	}
}
