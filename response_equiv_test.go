package alipay

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/go-resty/resty/v2"
	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The performance work replaced standard-library and resty calls by code of
// our own that must give the same result: these tests pin the response
// side's replacements (readStatus, readBody) to what they replaced; the
// request side's are in sign_equiv_test.go.

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
