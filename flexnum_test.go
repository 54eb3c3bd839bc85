package alipay

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlexIntDecode: numbers and numeric strings give the integer; "",
// null and a missing member are absent; anything else is kept as text and
// never fails the decoding around it.
func TestFlexIntDecode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]struct {
		raw string
		n   int64
		ok  bool
	}{
		`31536000`:              {"31536000", 31536000, true},
		`"31536000"`:            {"31536000", 31536000, true},
		`-5`:                    {"-5", -5, true},
		`"0"`:                   {"0", 0, true},
		`3.21408E7`:             {"3.21408E7", 32140800, true},
		`"1.5"`:                 {"1.5", 0, false},
		`""`:                    {"", 0, false},
		`"  "`:                  {"", 0, false},
		`null`:                  {"", 0, false},
		`"abc"`:                 {"abc", 0, false},
		`true`:                  {"true", 0, false},
		`{"a":1}`:               {`{"a":1}`, 0, false},
		`1e300`:                 {"1e300", 0, false},
		`"9223372036854775807"`: {"9223372036854775807", 9223372036854775807, true},
	} {
		var got struct {
			F    FlexInt `json:"f"`
			Next string  `json:"next"`
		}
		require.NoError(t, json.Unmarshal([]byte(`{"f":`+in+`,"next":"kept"}`), &got), in)
		assert.Equal(t, want.raw, got.F.String(), in)
		n, ok := got.F.Int64()
		assert.Equal(t, want.ok, ok, in)
		assert.Equal(t, want.n, n, in)
		assert.Equal(t, want.raw == "", got.F.IsZero(), in)
		assert.Equal(t, "kept", got.Next, in)
	}
	var missing struct{ F FlexInt }
	require.NoError(t, json.Unmarshal([]byte(`{}`), &missing))
	assert.True(t, missing.F.IsZero())
}

func TestFlexIntMarshal(t *testing.T) {
	t.Parallel()
	var v struct{ A, B, C FlexInt }
	require.NoError(t, json.Unmarshal([]byte(`{"A":"42","B":"x"}`), &v))
	out, err := json.Marshal(v)
	require.NoError(t, err)
	assert.JSONEq(t, `{"A":42,"B":"x","C":null}`, string(out))
	n, ok := FlexIntOf(7).Int64()
	assert.True(t, ok)
	assert.Equal(t, int64(7), n)
}

func TestFlexTimeDecode(t *testing.T) {
	t.Parallel()
	for in, unix := range map[string]int64{
		`"2024-05-20 13:14:15"`: 1716182055,
		`1716182055000`:         1716182055,
		`"1716182055123"`:       1716182055,
		`"yesterday"`:           -1,
		`"2024-05-20T13:14:15"`: -1,
		`-1`:                    -1,
		`null`:                  -1,
	} {
		var f FlexTime
		require.NoError(t, json.Unmarshal([]byte(in), &f), in)
		at, ok := f.Time()
		assert.Equal(t, unix >= 0, ok, in)
		if ok {
			assert.Equal(t, unix, at.Unix(), in)
			assert.Equal(t, "UTC+8", at.Location().String(), in)
		}
	}
	var f FlexTime
	require.NoError(t, json.Unmarshal([]byte(`"soon"`), &f))
	out, err := json.Marshal(f)
	require.NoError(t, err)
	assert.Equal(t, `"soon"`, string(out))
	assert.Equal(t, "soon", f.String())
}
