package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Formats of a stored merchant record.
const (
	sealedPrefix = "s1." // "s1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>"
	plainPrefix  = "p1." // "p1.<JSON>", only with WithPlaintext
	sealLabel    = "isvkit/alipay redisstore merchant v1\x00"
	maxKeyIDLen  = 32
)

// SealingKeySize is the length of a sealing key: AES-256.
const SealingKeySize = 32

// sealer seals records with AES-256-GCM under the current key and opens
// them under any listed key.
type sealer struct {
	currentID string
	aeads     map[string]cipher.AEAD
}

// newSealer builds a sealer from the current key and older ones.
func newSealer(current sealingKey, old []sealingKey) (*sealer, error) {
	s := &sealer{currentID: current.id, aeads: map[string]cipher.AEAD{}}
	for _, k := range append([]sealingKey{current}, old...) {
		if err := checkKeyID(k.id); err != nil {
			return nil, err
		}
		if _, dup := s.aeads[k.id]; dup {
			return nil, fmt.Errorf("redisstore: sealing key id %q given twice", k.id)
		}
		if len(k.key) != SealingKeySize {
			return nil, fmt.Errorf("redisstore: sealing key %q has %d bytes, need %d (AES-256)", k.id, len(k.key), SealingKeySize)
		}
		block, err := aes.NewCipher(k.key)
		if err != nil {
			return nil, fmt.Errorf("redisstore: sealing key %q: %w", k.id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("redisstore: sealing key %q: %w", k.id, err)
		}
		s.aeads[k.id] = aead
	}
	return s, nil
}

// checkKeyID accepts 1 to 32 letters, digits, '_' and '-'.
func checkKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("redisstore: sealing key id must be 1 to %d bytes", maxKeyIDLen)
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-') {
			return fmt.Errorf("redisstore: sealing key id %q: only letters, digits, '_' and '-' are allowed", id)
		}
	}
	return nil
}

// additionalData binds a sealed record to the merchant it belongs to, so
// that a value copied to another merchant's key does not open.
func additionalData(appID string) []byte { return []byte(sealLabel + appID) }

// seal encrypts plaintext for appID under the current key.
func (s *sealer) seal(appID string, plaintext []byte) (string, error) {
	aead := s.aeads[s.currentID]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("redisstore: drawing a nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, plaintext, additionalData(appID))
	return sealedPrefix + s.currentID + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// errWrongFormat reports a record sealed while the store is in plaintext
// mode, or the reverse.
var errWrongFormat = errors.New("redisstore: the stored record's format does not match the store's sealing configuration")

// open decrypts a sealed value of appID with the key it names. Errors say
// which step failed, never what the value holds.
func (s *sealer) open(appID, value string) ([]byte, error) {
	rest, ok := strings.CutPrefix(value, sealedPrefix)
	if !ok {
		return nil, errWrongFormat
	}
	id, data, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, errors.New("redisstore: malformed sealed record")
	}
	aead, known := s.aeads[id]
	if !known {
		return nil, fmt.Errorf("redisstore: the record is sealed with key id %q, which this store was not given (WithOldSealingKey)", id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("redisstore: malformed sealed record")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], additionalData(appID))
	if err != nil {
		return nil, errors.New("redisstore: the sealed record does not open for this merchant (altered, moved from another key, or another key with the same id)")
	}
	return plain, nil
}
