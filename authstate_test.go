package alipay

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testStateSigner(t *testing.T, key byte) *StateSigner {
	t.Helper()
	s, err := NewStateSigner(bytes.Repeat([]byte{key}, 32), 10*time.Minute)
	require.NoError(t, err)
	s.now = fixedClock
	return s
}

// TestStateSigner: a state round-trips its data, is hex of a length
// divisible by 4 (valid Base64 too), and every alteration, another key or
// the passing of its ttl is refused with ErrInvalidState.
func TestStateSigner(t *testing.T) {
	t.Parallel()
	s := testStateSigner(t, 1)
	for _, data := range []string{"", "u", "user-42", strings.Repeat("x", MaxStateData)} {
		st, err := s.Issue(data)
		require.NoError(t, err)
		assert.Zero(t, len(st)%4, "length of %q's state", data)
		assert.Regexp(t, `^[0-9a-f]+$`, st)
		got, err := s.Verify(st)
		require.NoError(t, err)
		assert.Equal(t, data, got.Data)
		assert.Len(t, got.ID, 32)
		assert.Equal(t, fixedTime.Add(10*time.Minute).Unix(), got.Expires.Unix())
	}
	a, _ := s.Issue("same")
	b, _ := s.Issue("same")
	assert.NotEqual(t, a, b, "each state has its own nonce")

	_, err := s.Issue(strings.Repeat("x", MaxStateData+1))
	assert.Error(t, err)

	st, err := s.Issue("user-42")
	require.NoError(t, err)
	raw, _ := hex.DecodeString(st)
	refused := map[string]string{
		"missing":     "",
		"not hex":     "zz" + st[2:],
		"short":       st[:40],
		"other key":   func() string { x, _ := testStateSigner(t, 2).Issue("user-42"); return x }(),
		"too long":    strings.Repeat("00", 600),
		"trailing":    st + "00",
		"flipped bit": func() string { r := append([]byte(nil), raw...); r[len(r)-40] ^= 1; return hex.EncodeToString(r) }(),
	}
	for name, bad := range refused {
		_, err := s.Verify(bad)
		require.ErrorIs(t, err, ErrInvalidState, name)
		if bad != "" {
			assert.NotContains(t, err.Error(), bad, name)
		}
	}
	late := *s
	late.now = func() time.Time { return fixedTime.Add(10 * time.Minute) }
	_, err = late.Verify(st)
	assert.ErrorIs(t, err, ErrInvalidState)
	assert.ErrorContains(t, err, "expired")

	_, err = NewStateSigner(make([]byte, 31), time.Hour)
	assert.Error(t, err)
	_, err = NewStateSigner(make([]byte, 32), time.Second)
	assert.Error(t, err)
}
