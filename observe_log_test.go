package alipay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	bizMarker  = "bizMarkerApiName" // only ever in biz_content
	bodyMarker = "bodyMarkerText"   // only ever in a response body
)

// logCase is one call and the record it must produce.
type logCase struct {
	name   string
	status int
	body   string
	want   map[string]any // attributes that must be present with these values
}

func logCases(g *gatewaySigner) []logCase {
	method := methodAppAPISceneQuery
	fail := failNode("40004", "Business Failed", "AUTH_FIELD_SCENE_IS_BLANK", "无场景 "+testToken)
	return []logCase{
		{"success", 200, g.body(method, nodeScene),
			map[string]any{"status": 200.0, "code": "10000", "trace_id": "trace-log", "bytes": float64(len(nodeScene))}},
		{"api_error", 200, g.body(method, fail),
			map[string]any{"status": 200.0, "code": "40004", "sub_code": "AUTH_FIELD_SCENE_IS_BLANK", "trace_id": "trace-log", "verified": true}},
		{"unsigned_error", 200, `{"` + nodeKey(method) + `":` + fail + `}`,
			map[string]any{"status": 200.0, "code": "40004", "sub_code": "AUTH_FIELD_SCENE_IS_BLANK", "verified": false}},
		{"bad_signature", 200, `{"` + nodeKey(method) + `":{"code":"10000","msg":"` + bodyMarker + `"},"sign":"` + g.sign("{}") + `"}`,
			map[string]any{"status": 200.0}},
		{"http_502", 502, "<html>" + bodyMarker + "</html>", map[string]any{"status": 502.0}},
		{"transport", 0, "", map[string]any{"status": 0.0}},
	}
}

// callLogged runs one scene query through a client logging JSON at Debug
// and returns the records written and the sign sent.
func callLogged(t *testing.T, tc logCase) (records []map[string]any, out, sign string) {
	t.Helper()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mock := newMockClient(t, WithLogger(logger), WithRetry(1, 0, 0)) // one attempt: one record
	mg := &mockGateway{}
	if tc.status == 0 {
		mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
			_, err := mg.responder(t, 200, "", nil)(r)
			if err == nil {
				err = errors.New("connection reset by peer")
			}
			return nil, err
		})
	} else {
		mock.RegisterResponder(http.MethodPost, testGW, mg.responder(t, tc.status, tc.body, http.Header{"Trace_id": {"trace-log"}}))
	}
	_, err := c.WithAppAuthToken(testToken).AppAPISceneQuery(context.Background(),
		&AppAPISceneQueryRequest{APIName: bizMarker, FieldName: "mobile"})
	assert.Equal(t, tc.name == "success", err == nil, "%v", err)
	reqs := mg.requests(t)
	require.Len(t, reqs, 1)
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), sc.Text())
		records = append(records, rec)
	}
	return records, buf.String(), reqs[0].Query.Get("sign")
}

// TestLoggingOneRecordPerCall: exactly one Debug record per attempt (here
// one per call) with the documented attributes, and no token, sign,
// biz_content or key text.
func TestLoggingOneRecordPerCall(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	keys := append(readTestdata(t, "keys/app_private_pkcs8.pem"), readTestdata(t, "keys/alipay_test_public.pem")...)
	for _, tc := range logCases(g) {
		t.Run(tc.name, func(t *testing.T) {
			records, out, sign := callLogged(t, tc)
			require.Len(t, records, 1, out)
			rec := records[0]
			assert.Equal(t, "DEBUG", rec["level"])
			assert.Equal(t, methodAppAPISceneQuery, rec["method"])
			assert.Equal(t, testAppID, rec["app_id"])
			assert.Equal(t, secret(testToken).fingerprint(), rec["merchant"])
			assert.Contains(t, rec, "duration")
			assert.Equal(t, 1.0, rec["attempt"])
			for k, v := range tc.want {
				assert.Equal(t, v, rec[k], k)
			}
			require.NotEmpty(t, sign)
			for _, bad := range []string{testToken, testToken[:12], sign, sign[:16], bizMarker, "biz_content", "api_name", "sign="} {
				assert.NotContains(t, out, bad)
			}
			assertNoKeyMaterial(t, out, keys)
		})
	}
}

// TestLoggingNoResponseBody: B10 says no body reaches a log at any level;
// the error attribute of a rejected response must not carry its content.
func TestLoggingNoResponseBody(t *testing.T) {
	t.Parallel()
	for _, tc := range logCases(newGatewaySigner(t)) {
		_, out, _ := callLogged(t, tc)
		assert.NotContains(t, out, bodyMarker, tc.name)
	}
}

// TestLoggingSilentByDefault: without WithLogger nothing is written
// anywhere: not to slog's default, the log package, or stderr (resty's
// own logger). Not parallel: it swaps process-wide writers.
func TestLoggingSilentByDefault(t *testing.T) {
	var logBuf, slogBuf bytes.Buffer
	oldSlog, oldStderr := slog.Default(), os.Stderr
	oldLog := log.Writer()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	slog.SetDefault(slog.New(slog.NewTextHandler(&slogBuf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.SetOutput(&logBuf)
	os.Stderr = w
	restored := false
	restore := func() {
		if !restored {
			restored = true
			slog.SetDefault(oldSlog)
			log.SetOutput(oldLog)
			os.Stderr = oldStderr
			w.Close()
		}
	}
	t.Cleanup(restore)

	g := newGatewaySigner(t)
	for _, tc := range logCases(g) {
		c, mock := newMockClient(t)
		for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
			assert.False(t, c.core.logger.Enabled(context.Background(), l))
		}
		if tc.status == 0 {
			mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewErrorResponder(errors.New("reset")))
		} else {
			mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(tc.status, tc.body))
		}
		_, _ = c.WithAppAuthToken(testToken).AppAPISceneQuery(context.Background(),
			&AppAPISceneQueryRequest{APIName: bizMarker, FieldName: "mobile"})
	}
	restore()
	stderr, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Empty(t, logBuf.String())
	assert.Empty(t, slogBuf.String())
	assert.Empty(t, strings.TrimSpace(string(stderr)))
}

// TestDiscardLoggers: the silent defaults accept every call and stay silent.
func TestDiscardLoggers(t *testing.T) {
	t.Parallel()
	var h slog.Handler = discardHandler{}
	assert.NoError(t, h.WithAttrs(nil).WithGroup("g").Handle(context.Background(), slog.Record{}))
	r := restyDiscard{}
	r.Errorf("x %s", testToken)
	r.Warnf("x")
	r.Debugf("x")
}
