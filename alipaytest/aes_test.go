package alipaytest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAESKAT runs the server's own AES-CBC code over the shared vectors:
// both directions for the good ones, a refusal for the bad ones.
func TestAESKAT(t *testing.T) {
	t.Parallel()
	var f struct {
		Cases []struct {
			Name, Key, Plaintext, Ciphertext, Expect string
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(repoFile(t, "kat/aes.json"), &f))
	require.NotEmpty(t, f.Cases)
	for _, c := range f.Cases {
		key, err := parseAESKey(c.Key)
		if c.Expect != "ok" && err != nil {
			continue // a bad key is refused up front
		}
		require.NoError(t, err, c.Name)
		plain, err := aesDecrypt(key, c.Ciphertext)
		if c.Expect != "ok" {
			assert.Error(t, err, c.Name)
			continue
		}
		require.NoError(t, err, c.Name)
		assert.Equal(t, c.Plaintext, string(plain), c.Name)
		ct, err := aesEncrypt(key, []byte(c.Plaintext))
		require.NoError(t, err, c.Name)
		assert.Equal(t, c.Ciphertext, ct, c.Name)
	}
}
