// Package aescbc implements Alipay's content encryption ("encrypt_type=AES",
// docs/wire.md#aes-content-encryption): AES-CBC with an all-zero IV and PKCS#7 padding, the
// ciphertext in standard Base64 — Java's AES/CBC/PKCS5Padding as the
// official SDKs use it.
//
// The zero IV is a weakness of the protocol (equal plaintext prefixes give
// equal ciphertext prefixes) that a client cannot fix. Errors never contain
// the key, the plaintext or the ciphertext.
package aescbc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
)

// Errors of [Decrypt] and [CheckKey]; they are matched with errors.Is.
var (
	// ErrKeyLength is a key that is not 16, 24 or 32 bytes long.
	ErrKeyLength = errors.New("aescbc: key must be 16, 24 or 32 bytes")
	// ErrBase64 is a ciphertext that is not standard Base64.
	ErrBase64 = errors.New("aescbc: ciphertext is not standard Base64")
	// ErrCiphertextLength is a ciphertext that is empty or not a multiple of
	// the block size.
	ErrCiphertextLength = errors.New("aescbc: ciphertext length is not a positive multiple of 16")
	// ErrPadding is a decryption whose PKCS#7 padding is wrong: a wrong key
	// or a corrupted ciphertext.
	ErrPadding = errors.New("aescbc: bad padding (wrong key or corrupted ciphertext)")
)

// CheckKey reports ErrKeyLength unless key is a valid AES key.
func CheckKey(key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return fmt.Errorf("%w, got %d", ErrKeyLength, len(key))
}

// Encrypt returns the AES-CBC encryption of plaintext with a zero IV after
// PKCS#7 padding (always 1 to 16 bytes of padding).
func Encrypt(key, plaintext []byte) ([]byte, error) {
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(buf, buf)
	return buf, nil
}

// Decrypt reverses [Encrypt]. Every padding byte is checked, not only the
// last one.
func Decrypt(key, ciphertext []byte) ([]byte, error) {
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, ErrCiphertextLength
	}
	buf := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(buf, ciphertext)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, ErrPadding
	}
	want := make([]byte, pad)
	for i := range want {
		want[i] = byte(pad)
	}
	if subtle.ConstantTimeCompare(buf[len(buf)-pad:], want) != 1 {
		return nil, ErrPadding
	}
	return buf[:len(buf)-pad], nil
}

// EncryptBase64 is [Encrypt] returning standard Base64 with padding.
func EncryptBase64(key, plaintext []byte) (string, error) {
	ct, err := Encrypt(key, plaintext)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// DecryptBase64 is [Decrypt] of standard Base64 text.
func DecryptBase64(key []byte, text string) ([]byte, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil {
		return nil, ErrBase64
	}
	return Decrypt(key, ct)
}

func newCipher(key []byte) (cipher.Block, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, ErrKeyLength
	}
	return block, nil
}
