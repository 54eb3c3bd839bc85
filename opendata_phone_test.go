package alipay

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPhoneNumberMarshalsMasked: json.Marshal, slog's JSONHandler and
// TextHandler (at depth 0, and at depth 1 inside a struct, by value and by
// pointer) and every TextMarshaler user show the masked number only;
// Mobile still holds the number and decoding still reads it.
func TestPhoneNumberMarshalsMasked(t *testing.T) {
	t.Parallel()
	const mobile, masked = "13800001234", "138****1234"
	p := &PhoneNumber{Mobile: mobile}
	type contact struct {
		Name  string
		Phone PhoneNumber
		Ptr   *PhoneNumber
		Map   map[PhoneNumber]int
	}
	c := contact{Name: "张三", Phone: *p, Ptr: p, Map: map[PhoneNumber]int{*p: 1}}

	j, err := json.Marshal(c)
	require.NoError(t, err)
	assert.Equal(t, `{"Name":"张三","Phone":"`+masked+`","Ptr":"`+masked+`","Map":{"`+masked+`":1}}`, string(j))
	j, err = json.Marshal(p)
	require.NoError(t, err)
	assert.Equal(t, `"`+masked+`"`, string(j))
	text, err := p.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, masked, string(text))

	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("depth 0", "p", p, "v", *p, "any", any(p))
		l.Info("depth 1", "contact", c, "ptr", &c, "group", slog.GroupValue(slog.Any("p", p)))
	}
	assert.NotContains(t, logs.String(), mobile)
	assert.Equal(t, 2*10, bytes.Count(logs.Bytes(), []byte(masked)), logs.String())

	var back PhoneNumber
	require.NoError(t, json.Unmarshal([]byte(`{"mobile":"`+mobile+`"}`), &back))
	assert.Equal(t, mobile, back.Mobile, "the number is read from Alipay's plaintext, and kept in Mobile")
}
