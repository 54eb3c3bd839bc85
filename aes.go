package alipay

import "errors"

// hasAES reports whether an AES content-encryption key is configured.
func (k *core) hasAES() bool { return false }

// decryptNode decrypts a verified encrypted node (a quoted Base64 string).
func (c *Client) decryptNode(quoted []byte) ([]byte, error) {
	return nil, errors.New("alipay: AES is not configured")
}
