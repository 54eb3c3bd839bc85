package alipay

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// evilURL is where a hostile gateway or middlebox redirects requests.
const evilURL = "https://evil.test/gateway.do"

// redirectEverything makes the test gateway answer every request with
// status and a Location on another host, and counts what that host gets.
func redirectEverything(mock *httpmock.MockTransport, status int) *atomic.Int32 {
	var stolen atomic.Int32
	mock.RegisterResponder(http.MethodPost, gwPattern, func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(status, `<html>moved</html>`)
		resp.Header.Set("Location", evilURL+"?from=gateway")
		return resp, nil
	})
	mock.RegisterResponder(http.MethodPost, `=~^https://evil\.test/`, func(*http.Request) (*http.Response, error) {
		stolen.Add(1)
		return httpmock.NewStringResponse(200, `{}`), nil
	})
	mock.RegisterResponder(http.MethodGet, `=~^https://evil\.test/`, func(*http.Request) (*http.Response, error) {
		stolen.Add(1)
		return httpmock.NewStringResponse(200, `{}`), nil
	})
	return &stolen
}

// requireRedirectRefused checks the error of a call whose answer was a
// redirect: a *ResponseError naming the status, and nothing sent elsewhere.
func requireRedirectRefused(t *testing.T, err error, status int, stolen *atomic.Int32) {
	t.Helper()
	var re *ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, status, re.StatusCode)
	assert.Equal(t, ReasonRedirect, re.Reason)
	assert.Contains(t, err.Error(), "HTTP "+strconv.Itoa(status))
	assert.NotContains(t, err.Error(), testToken)
	assert.Zero(t, stolen.Load(), "nothing may reach another host")
}

// TestAttackRedirectStealsToken: a gateway (or a middlebox) answering a
// redirect to another host must not receive the token, the biz_content or
// the pictures there, on the form path, the upload path and the
// certificate download, for every redirect status.
func TestAttackRedirectStealsToken(t *testing.T) {
	t.Parallel()
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			t.Run("form", func(t *testing.T) {
				c, mock := newMockClient(t)
				stolen := redirectEverything(mock, status)
				_, err := c.WithAppAuthToken(testToken).AppAPISceneQuery(context.Background(),
					&AppAPISceneQueryRequest{APIName: "getPhoneNumber", FieldName: "mobile"})
				requireRedirectRefused(t, err, status, stolen)
				assert.Equal(t, 1, mock.GetTotalCallCount())
			})
			t.Run("upload", func(t *testing.T) {
				c, mock := newMockClient(t)
				stolen := redirectEverything(mock, status)
				_, err := c.WithAppAuthToken(testToken).AppAPIFieldApply(context.Background(), &AppAPIFieldApplyRequest{
					AuthFieldApply: AuthFieldApply{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "1",
						SceneCode: "6", QPSAnswer: "10", CustomerAnswer: "有"},
					Pictures: []File{FileFromBytes("login.png", []byte("\x89PNG\r\n\x1a\nfake"))},
				})
				requireRedirectRefused(t, err, status, stolen)
				assert.Equal(t, 1, mock.GetTotalCallCount())
			})
			t.Run("certificate download", func(t *testing.T) {
				c, mock := newCertMockClient(t, WithCertRotation(true))
				stolen := redirectEverything(mock, status)
				body := signedBody(t, "keys/alipay_rotated_private_pkcs8.pem", methodQuery, queryNode, snRotated)
				_, err := c.readResponse(context.Background(), methodQuery, http.StatusOK, http.Header{}, []byte(body))
				var ve *VerifyError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, StepUnknownCertSN, ve.Step)
				assert.Contains(t, err.Error(), "HTTP "+strconv.Itoa(status))
				assert.Zero(t, stolen.Load(), "nothing may reach another host")
				assert.Equal(t, 1, mock.GetTotalCallCount())
			})
		})
	}
}

// TestRedirectRefusalKeepsUserClient: the client given to WithHTTPClient
// keeps its own redirect policy; only the SDK's copy refuses redirects.
func TestRedirectRefusalKeepsUserClient(t *testing.T) {
	t.Parallel()
	mine := func(*http.Request, []*http.Request) error { return nil }
	hc := &http.Client{Transport: httpmock.NewMockTransport(), CheckRedirect: mine}
	c, err := NewClient(testAppID, append(baseOptions(t), WithHTTPClient(hc))...)
	require.NoError(t, err)
	assert.NotNil(t, hc.CheckRedirect)
	assert.Equal(t, http.ErrUseLastResponse, c.core.http.CheckRedirect(nil, nil))
}
