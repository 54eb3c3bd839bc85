package alipaytest

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
)

// The server's own AES content encryption, shared with no client code:
// AES-CBC with a zero IV and PKCS#7 padding, key and ciphertext in
// standard Base64, as Alipay encrypts biz_content, encrypted answers and
// the mini-program's open data. The zero IV is the protocol's, not a
// choice: equal plaintexts give equal ciphertexts.

// errAESKey and errAESData are the decryption failures; they carry no key
// or data.
var (
	errAESKey  = errors.New("AES key must be 16, 24 or 32 bytes")
	errAESData = errors.New("not a valid AES-CBC ciphertext for this key")
)

// parseAESKey decodes a Base64 AES key of 16, 24 or 32 bytes.
func parseAESKey(b64 string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("AES key is not standard Base64")
	}
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, errAESKey
	}
	return key, nil
}

// aesEncrypt pads plain (PKCS#7), encrypts it (CBC, zero IV) and returns
// standard Base64.
func aesEncrypt(key, plain []byte) (string, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", errAESKey
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// aesDecrypt reverses aesEncrypt, checking every padding byte: a wrong key
// fails (almost always) instead of yielding garbage.
func aesDecrypt(key []byte, b64 string) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errAESKey
	}
	buf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, errAESData
	}
	cipher.NewCBCDecrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, errAESData
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, errAESData
		}
	}
	return buf[:len(buf)-pad], nil
}
