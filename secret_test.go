package alipay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secretText = "202405BBsecretTextQ9xZ7wV3kR1mAbC"

// TestPublicSecretNeverPrints prints a Secret at depth 0 (itself) and depth 1 (a
// field, exported or not, an element, a map value, a pointer to a struct)
// through fmt, slog's text and JSON handlers and encoding/json, and finds
// the value nowhere.
func TestPublicSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := NewSecret(secretText)
	type outer struct {
		Token  Secret
		hidden Secret
		Nested struct{ Key Secret }
	}
	o := outer{Token: s, hidden: s}
	o.Nested.Key = s
	values := map[string]any{
		"secret":   s,
		"pointer":  &s,
		"struct":   o,
		"pstruct":  &o,
		"slice":    []Secret{s, s},
		"map":      map[string]Secret{"k": s},
		"response": &AuthTokenAppResponse{Tokens: []AppToken{{AppAuthToken: s, AppRefreshToken: s, AuthAppID: "2021"}}},
		"merchant": &Merchant{AppID: "2021", AppAuthToken: s, RefreshToken: s, AESKey: s, PrevAESKey: s},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v", "%T"}
	for name, v := range values {
		var out bytes.Buffer
		for _, verb := range verbs {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		fmt.Fprintln(&out, v)
		fmt.Fprint(&out, v)
		j, err := json.Marshal(v)
		require.NoError(t, err, name)
		out.Write(j)
		for _, h := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			l := slog.New(h(&out))
			l.Info("depth 0", "v", v)
			l.Info("depth 1", slog.Group("g", "v", v))
			l.With("w", v).Info("with")
		}
		assert.NotContains(t, out.String(), secretText, "%s printed the secret", name)
		assert.NotContains(t, out.String(), fmt.Sprintf("%x", secretText), "%s printed the secret in hex", name)
		assert.Contains(t, out.String(), redacted, name)
	}
}

func TestSecretValue(t *testing.T) {
	t.Parallel()
	s := NewSecret(secretText)
	assert.Equal(t, secretText, s.Reveal())
	assert.False(t, s.IsZero())
	assert.True(t, s.Equal(NewSecret(secretText)))
	assert.False(t, s.Equal(NewSecret(secretText+"x")))
	assert.Len(t, s.Fingerprint(), 8)
	var zero Secret
	assert.True(t, zero.IsZero())
	assert.True(t, NewSecret("").IsZero())
	assert.Equal(t, "", zero.Reveal())
	assert.Equal(t, "", zero.Fingerprint())
	assert.True(t, zero.Equal(NewSecret("")))

	var got struct {
		A, B, C Secret
	}
	require.NoError(t, json.Unmarshal([]byte(`{"A":"tok","B":null,"C":""}`), &got))
	assert.Equal(t, "tok", got.A.Reveal())
	assert.True(t, got.B.IsZero())
	assert.True(t, got.C.IsZero())
	err := json.Unmarshal([]byte(`{"A":12345678901234}`), &got)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "12345678901234")
}
