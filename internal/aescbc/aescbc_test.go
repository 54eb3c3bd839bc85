package aescbc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type aesKAT struct {
	Name       string  `json:"name"`
	Key        string  `json:"key"`
	Plaintext  *string `json:"plaintext"`
	Ciphertext string  `json:"ciphertext"`
	Expect     string  `json:"expect"`
	Reason     string  `json:"reason"`
}

// TestAESKAT runs every case of aes.json in both directions.
func TestAESKAT(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "kat", "aes.json"))
	require.NoError(t, err)
	var f struct {
		Cases []aesKAT `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(data, &f))
	require.Len(t, f.Cases, 14)
	reasons := map[string]error{ // the vectors' reasons → this package's errors
		"bad_padding":           ErrPadding,
		"bad_ciphertext_length": ErrCiphertextLength,
		"bad_base64":            ErrBase64,
		"bad_key_length":        ErrKeyLength,
	}
	for _, tc := range f.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			key, err := base64.StdEncoding.DecodeString(tc.Key)
			require.NoError(t, err)
			pt, err := DecryptBase64(key, tc.Ciphertext)
			if tc.Expect == "ok" {
				require.NoError(t, err)
				assert.Equal(t, *tc.Plaintext, string(pt))
				ct, err := EncryptBase64(key, []byte(*tc.Plaintext))
				require.NoError(t, err)
				assert.Equal(t, tc.Ciphertext, ct)
				return
			}
			require.Error(t, err)
			assert.Nil(t, pt)
			want := reasons[tc.Reason]
			require.NotNil(t, want, "unknown reason %q", tc.Reason)
			assert.True(t, errors.Is(err, want), "got %v, want %v", err, want)
			assert.NotContains(t, err.Error(), tc.Key)
		})
	}
}

// TestPaddingEveryByte refuses padding whose inner bytes differ, for every
// padding length.
func TestPaddingEveryByte(t *testing.T) {
	key := []byte("0123456789abcdef")
	for pad := 2; pad <= 16; pad++ {
		pt := []byte(strings.Repeat("x", 16-pad))
		ct, err := Encrypt(key, pt)
		require.NoError(t, err)
		_, err = Decrypt(key, ct)
		require.NoError(t, err)
		// Decrypt, break one inner pad byte, re-encrypt the raw block.
		raw := make([]byte, 16)
		copy(raw, pt)
		for i := len(pt); i < 16; i++ {
			raw[i] = byte(pad)
		}
		raw[16-pad] ^= 0x01
		bad := encryptRaw(t, key, raw)
		_, err = Decrypt(key, bad)
		assert.ErrorIs(t, err, ErrPadding, "pad %d", pad)
	}
	_, err := Encrypt([]byte("short"), nil)
	assert.ErrorIs(t, err, ErrKeyLength)
	_, err = Decrypt([]byte("short"), make([]byte, 16))
	assert.ErrorIs(t, err, ErrKeyLength)
	_, err = DecryptBase64(key, "AAAA AAAA")
	assert.ErrorIs(t, err, ErrBase64)
	for _, n := range []int{16, 24, 32} {
		assert.NoError(t, CheckKey(make([]byte, n)))
	}
}

// encryptRaw encrypts block-aligned data without padding: Encrypt of the
// data minus its (valid) last block of padding would not do.
func encryptRaw(t *testing.T, key, raw []byte) []byte {
	t.Helper()
	ct, err := Encrypt(key, raw) // raw + one block of padding
	require.NoError(t, err)
	return ct[:len(raw)] // CBC with zero IV: the first blocks do not depend on later ones
}

// FuzzDecrypt checks that no ciphertext panics, and that a round trip holds.
func FuzzDecrypt(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), []byte("hello"))
	f.Add([]byte("short"), []byte{})
	f.Fuzz(func(t *testing.T, key, data []byte) {
		_, _ = Decrypt(key, data)
		ct, err := Encrypt(key, data)
		if err != nil {
			return
		}
		pt, err := Decrypt(key, ct)
		if err != nil || string(pt) != string(data) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
