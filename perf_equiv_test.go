package alipay

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-resty/resty/v2"
	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The performance work replaced standard-library calls by code of our own
// that must give the same bytes: these tests pin each replacement to the
// call it replaced.

// TestQueryEscapeMatchesURL: writeQueryEscaped, writeQueryEscapedBytes and
// queryEscapedLen agree with url.QueryEscape on every byte and on mixed
// strings.
func TestQueryEscapeMatchesURL(t *testing.T) {
	t.Parallel()
	inputs := []string{"", "2024-05-20 13:14:15", "utf-8", "a+b/c=d", "中文 ~-_.", "\x00\x7f\xff%", testToken}
	for c := 0; c < 256; c++ {
		inputs = append(inputs, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	for _, s := range inputs {
		want := url.QueryEscape(s)
		var b, bb strings.Builder
		writeQueryEscaped(&b, s)
		writeQueryEscaped(&bb, []byte(s))
		assert.Equal(t, want, b.String(), "%q", s)
		assert.Equal(t, want, bb.String(), "%q", s)
		assert.Equal(t, len(want), queryEscapedLen(s), "%q", s)
		assert.Equal(t, len(want), queryEscapedLen([]byte(s)), "%q", s)
	}
}

// TestEncodeFormMatchesURL: encodeForm is the params, in order, each key
// and value through url.QueryEscape, joined by '&'.
func TestEncodeFormMatchesURL(t *testing.T) {
	t.Parallel()
	params := []param{{"app_auth_token", testToken}, {"biz_content", `{"a":"b c&d=e+f/中"}`}, {"k ey", "v"}}
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = url.QueryEscape(p.key) + "=" + url.QueryEscape(p.value)
	}
	assert.Equal(t, strings.Join(parts, "&"), encodeForm(params))
	assert.Equal(t, "", encodeForm(nil))
}

// TestSignURLMatchesQueryEscape: the URL sign builds is the gateway, then
// each protocol param through url.QueryEscape, then the Base64 sign.
func TestSignURLMatchesQueryEscape(t *testing.T) {
	t.Parallel()
	c, _ := newMockClient(t)
	s, err := c.WithAppAuthToken(testToken).sign("alipay.open.app.api.query", []byte(`{"x":"y z"}`), []param{{"t", "v w"}})
	require.NoError(t, err)
	u, err := url.Parse(s.url)
	require.NoError(t, err)
	q := u.Query()
	want := testGW + "?app_id=" + testAppID + "&method=alipay.open.app.api.query&format=JSON&charset=utf-8&sign_type=RSA2&timestamp=" +
		url.QueryEscape(formatTimestamp(fixedTime)) + "&version=1.0&sign=" + url.QueryEscape(q.Get("sign"))
	assert.Equal(t, want, s.url)
	assert.Equal(t, []param{{"app_auth_token", testToken}, {"biz_content", `{"x":"y z"}`}, {"t", "v w"}}, s.body)
}

// statusSeeds are nodes of every shape readStatus distinguishes.
var statusSeeds = []string{
	nodeAPIQuery, nodeBaseInfo, `{"code":"10000","msg":"Success","sub_code":""}`,
	`{"code":"40004","msg":"Business Failed","sub_code":"X","sub_msg":"中文"}`, `{"code":"10000","sub_code":null}`,
	`{"code":"1000\u0030"}`, `{"CODE":"10000"}`, `{"code":"40004","Code":"10000"}`, `{"code":10000}`,
	`{"code":"10000","sub_code":"A","sub_code":""}`, `{"code":"10000","msg":1}`, `{"ſub_code":"x","code":"10000"}`,
	`null`, `[]`, `"x"`, ` {"code":"10000"} `, `{"code":"10000"`, "{\"code\":\"\xff\"}", `{"sub_msg":"\"quoted\""}`,
	`{"code":"10000","sub_code":"\u0000"}`, `{}`, `{"code":null,"code":"10000"}`, `{"a":{"code":"40004"},"code":"10000"}`,
}

// FuzzReadStatus: readStatus gives what json.Unmarshal into a nodeStatus
// gives (the fields when it is not a success, an error exactly when
// json.Unmarshal fails), for any bytes (AES plaintexts are any bytes).
//
//	go test -run '^$' -fuzz '^FuzzReadStatus$' -fuzztime 2m .
func FuzzReadStatus(f *testing.F) {
	for _, s := range statusSeeds {
		f.Add([]byte(s))
	}
	for _, tc := range loadKAT[responseKAT](f, "response_verify") {
		if tc.BusinessJSON != nil {
			f.Add([]byte(*tc.BusinessJSON))
		}
	}
	f.Fuzz(func(t *testing.T, node []byte) {
		st, success, err := readStatus(node)
		var want nodeStatus
		werr := json.Unmarshal(node, &want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("readStatus error %v, json.Unmarshal %v", err, werr)
		}
		if werr != nil {
			return
		}
		if wantOK := want.Code == "10000" && want.SubCode == ""; success != wantOK {
			t.Fatalf("success %v, json.Unmarshal gives %+v", success, want)
		}
		if !success && st != want {
			t.Fatalf("status %+v, json.Unmarshal gives %+v", st, want)
		}
	})
}

// TestSignLargeKey: a 4096-bit app key gives a 512-byte signature whose
// Base64 outgrows sign's stack buffer; the URL still carries all of it and
// it verifies over the string to sign.
func TestSignLargeKey(t *testing.T) {
	t.Parallel()
	c, err := NewClient(testAppID, WithPrivateKeyFile("testdata/keys/app_private_rsa4096_pkcs8.pem"),
		WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem"), WithClock(fixedClock), WithGatewayURL(testGW))
	require.NoError(t, err)
	s, err := c.sign(methodAppAPIQuery, nil, nil)
	require.NoError(t, err)
	u, err := url.Parse(s.url)
	require.NoError(t, err)
	sig, ok := decodeSign(u.Query().Get("sign"))
	require.True(t, ok)
	require.Len(t, sig, 512)
	params := []param{}
	for k := range u.Query() {
		if k != "sign" {
			params = append(params, param{k, u.Query().Get(k)})
		}
	}
	assert.True(t, verifyRSA2(&c.core.key.PublicKey, signContent(params), sig))
}

// TestReadBodyLikeResty: the form path reads answers with readBody instead
// of resty; for plain, gzip, unknown-length, limit-sized, oversized and
// failing bodies it gives what resty's own reading gave (the same bytes, or
// an error of the same kind).
func TestReadBodyLikeResty(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write([]byte(nodeAPIQuery))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	limit := bytes.Repeat([]byte{'x'}, maxResponse)
	cases := map[string]struct {
		body     []byte
		length   int64
		encoding string
		fail     bool
	}{
		"plain":            {[]byte(nodeAPIQuery), int64(len(nodeAPIQuery)), "", false},
		"unknown length":   {[]byte(nodeAPIQuery), -1, "", false},
		"empty":            {nil, 0, "", false},
		"gzip":             {gz.Bytes(), int64(gz.Len()), "gzip", false},
		"gzip not gzip":    {[]byte("plain"), 5, "gzip", false},
		"exactly limit":    {limit, maxResponse, "", false},
		"over limit":       {append(limit, 'y'), -1, "", false},
		"wrong length":     {[]byte("abc"), 1000, "", false},
		"read error":       {[]byte(nodeAPIQuery), -1, "", true},
		"gzip wrong count": {gz.Bytes(), 0, "gzip", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mock := httpmock.NewMockTransport()
			mock.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
				var body io.Reader = bytes.NewReader(tc.body)
				if tc.fail {
					body = io.MultiReader(body, errReader{errors.New("connection reset")})
				}
				resp := &http.Response{StatusCode: 200, Header: http.Header{}, ContentLength: tc.length, Body: io.NopCloser(body)}
				if tc.encoding != "" {
					resp.Header.Set("Content-Encoding", tc.encoding)
				}
				return resp, nil
			})
			rc := resty.NewWithClient(&http.Client{Transport: mock}).SetResponseBodyLimit(maxResponse).SetLogger(restyDiscard{})
			old, oldErr := rc.R().Post(testGW)
			resp, err := rc.R().SetDoNotParseResponse(true).Post(testGW)
			require.NoError(t, err)
			got, gotErr := readBody(resp.RawResponse)
			require.Equal(t, oldErr == nil, gotErr == nil, "resty: %v; readBody: %v", oldErr, gotErr)
			if oldErr != nil {
				assert.Equal(t, errors.Is(oldErr, resty.ErrResponseBodyTooLarge), errors.Is(gotErr, errBodyTooLarge))
				return
			}
			assert.Equal(t, old.Body(), got)
		})
	}
}

// restyDiscard silences resty's own logger, which would print URLs and
// bodies to stderr.
type restyDiscard struct{}

func (restyDiscard) Errorf(string, ...any) {}
func (restyDiscard) Warnf(string, ...any)  {}
func (restyDiscard) Debugf(string, ...any) {}
