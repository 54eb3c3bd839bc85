package alipay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Structs a user might keep a client in. fmt prints unexported fields by
// reflection without calling their String or GoString methods.
type (
	heldClient struct {
		name string
		c    Client
	}
	heldPointer struct{ c *Client }
	heldDeeper  struct{ h heldClient }
	HeldExport  struct{ C Client }
)

// TestAttackFmtUnfoldsHeldClient: a struct holding a Client value in an
// unexported field, printed with %v, %+v, %#v (or %s, %q, %x, %d, whose
// bad-verb path unfolds a pointed-to struct), or logged with slog's text
// and JSON handlers, at depth 0 and 1, shows no app_auth_token, AES key or
// private key.
func TestAttackFmtUnfoldsHeldClient(t *testing.T) {
	t.Parallel()
	const aesKey = "zM+/R8elr0D6ivjOyoUBuQ=="
	c, _ := newMockClient(t, WithAESKey(aesKey))
	m := c.WithAppAuthToken(testToken).withErrorHook(func(context.Context, error) {})
	rawAES, err := base64.StdEncoding.DecodeString(aesKey)
	require.NoError(t, err)
	keys := append(readTestdata(t, "keys/app_private_pkcs8.pem"), readTestdata(t, "keys/alipay_test_public.pem")...)

	values := map[string]any{
		"value":          heldClient{name: "m", c: *m},
		"pointer":        heldPointer{c: m},
		"depth 1":        heldDeeper{h: heldClient{c: *m}},
		"exported field": HeldExport{C: *m},
		"pointer to":     &heldClient{c: *m},
		"client value":   *m,
		"slice":          []heldClient{{c: *m}},
		"map":            map[string]heldClient{"m": {c: *m}},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			fmt.Fprintf(&buf, "%v|%+v|%#v|%s|%q|%d|", v, v, v, v, v, v)
			hexOut := fmt.Sprintf("%x", v)
			assert.NotContains(t, hexOut, hex.EncodeToString([]byte(testToken))[:24])
			assert.NotContains(t, hexOut, hex.EncodeToString(rawAES)[:16])
			text := slog.New(slog.NewTextHandler(&buf, nil))
			jsonl := slog.New(slog.NewJSONHandler(&buf, nil))
			for _, l := range []*slog.Logger{text, jsonl} {
				l.Info("x", "held", v)
				l.Info("x", slog.Any("held", v), slog.Group("g", slog.Any("inner", v)))
			}
			out := buf.String()
			assert.NotContains(t, out, testToken)
			assert.NotContains(t, out, testToken[:12])
			assert.NotContains(t, out, aesKey)
			assert.NotContains(t, out, string(rawAES))
			assert.NotContains(t, out, fmt.Sprintf("%v", rawAES))
			assertNoKeyMaterial(t, out, keys)
		})
	}
}
