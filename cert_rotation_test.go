package alipay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/isvkit/alipay/internal/jsonnode"
)

const methodQuery = "alipay.open.app.api.query"

// queryNode is a signed success node of alipay.open.app.api.query.
const queryNode = `{"code":"10000","msg":"Success","apis":[]}`

// downloadNode is the node of a download answer carrying certFile.
func downloadNode(certFile []byte) string {
	return `{"code":"10000","msg":"Success","alipay_cert_content":"` + base64.StdEncoding.EncodeToString(certFile) + `"}`
}

// downloadServer answers alipay.open.app.alipaycert.download on mock with
// body(sn) and counts the downloads; other methods get a 500.
func downloadServer(mock *httpmock.MockTransport, body func(sn string) string) *atomic.Int32 {
	var n atomic.Int32
	mock.RegisterResponder("POST", gwPattern, func(req *http.Request) (*http.Response, error) {
		if req.URL.Query().Get("method") != methodAlipayCertDownload {
			return httpmock.NewStringResponse(500, "unexpected"), nil
		}
		n.Add(1)
		if err := req.ParseForm(); err != nil {
			return nil, err
		}
		var biz struct {
			SN string `json:"alipay_cert_sn"`
		}
		if err := json.Unmarshal([]byte(req.PostForm.Get("biz_content")), &biz); err != nil {
			return httpmock.NewStringResponse(400, "bad biz_content"), nil
		}
		return httpmock.NewStringResponse(200, body(biz.SN)), nil
	})
	return &n
}

// TestResponseVerifyKATRotation runs the unknown-SN cases of
// response_verify.json with rotation on: the download answers the case's
// download_cert, signed with that certificate's own key.
func TestResponseVerifyKATRotation(t *testing.T) {
	keyOf := map[string]string{
		"certs/alipay_cert_public_key_rsa2_rotated.crt": "keys/alipay_rotated_private_pkcs8.pem",
		"certs/alipay_cert_public_key_rsa2_rogue.crt":   "keys/alipay_rogue_private_pkcs8.pem",
		"certs/alipay_cert_public_key_rsa2_expired.crt": "keys/alipay_expired_private_pkcs8.pem",
	}
	ran := 0
	for _, tc := range loadKAT[responseKAT](t, "response_verify") {
		if tc.DownloadCert == "" {
			continue
		}
		ran++
		t.Run(tc.Name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			opts := append(responseKATOptions(tc), WithCertRotation(true), WithHTTPClient(&http.Client{Transport: mock}))
			c, err := NewClient(testAppID, opts...)
			require.NoError(t, err)
			sn := deref(tc.AlipayCertSN)
			downloads := downloadServer(mock, func(string) string {
				return signedBody(t, keyOf[tc.DownloadCert], methodAlipayCertDownload, downloadNode(readTestdata(t, tc.DownloadCert)), sn)
			})
			res, err := c.readResponse(context.Background(), tc.Method, http.StatusOK, http.Header{}, []byte(tc.Body))
			want := tc
			if tc.ExpectRotation == "verified" { // the case's code and business_json describe the reject
				env, err := jsonnode.Extract([]byte(tc.Body), jsonnode.NodeName(tc.Method))
				require.NoError(t, err)
				code, _, _ := jsonnode.Code(env.Value)
				business := string(env.Value)
				want.Code, want.BusinessJSON = &code, &business
			}
			checkResponseKAT(t, want, tc.ExpectRotation, tc.ReasonRotation, res, err)
			assert.EqualValues(t, 1, downloads.Load())
			if tc.ExpectRotation == "verified" {
				keys := c.core.notifyKeys()
				require.Len(t, keys, 2, "the rotated key verifies notifications too")
				assert.True(t, keys[1].Equal(publicKey(t, "keys/alipay_rotated_public.pem")))
			} else {
				assert.Len(t, c.core.notifyKeys(), 1)
				assert.Contains(t, err.Error(), sn)
			}
			// A second response: served from the cache, or refused from memory.
			_, err2 := c.readResponse(context.Background(), tc.Method, http.StatusOK, http.Header{}, []byte(tc.Body))
			assert.Equal(t, err == nil, err2 == nil)
			assert.EqualValues(t, 1, downloads.Load())
		})
	}
	assert.Equal(t, 3, ran)
}

// verifyStep reads a body and returns the VerifyError step ("" on success).
func verifyStep(t *testing.T, c *Client, body string) (VerifyStep, error) {
	t.Helper()
	_, err := c.readResponse(context.Background(), methodQuery, http.StatusOK, nil, []byte(body))
	if err == nil {
		return "", nil
	}
	var ve *VerifyError
	require.True(t, errors.As(err, &ve), "%v", err)
	return ve.Step, err
}

// TestRotationGeneratedChain: with a chain generated at runtime, a rotated
// certificate that chains is accepted; one under a foreign root, an expired
// one, one with a short key and one with another SN are refused.
func TestRotationGeneratedChain(t *testing.T) {
	ch := newChain(t, "keys/ca_test_root_r1_private_pkcs8.pem", "keys/ca_test_class2_private_pkcs8.pem")
	foreign := newChain(t, "keys/ca_test_root_r2_private_pkcs8.pem", "keys/ca_rogue_private_pkcs8.pem")
	rotatedKey := "keys/alipay_rotated_private_pkcs8.pem"
	rotatedPub := &privateKey(t, rotatedKey).PublicKey
	good, goodSN := ch.leaf(rotatedPub, ch.notBefore, ch.notAfter)
	untrusted, untrustedSN := foreign.leaf(rotatedPub, ch.notBefore, ch.notAfter)
	expired, expiredSN := ch.leaf(rotatedPub, ch.notBefore, certTestTime.Add(-time.Hour))
	short, shortSN := ch.leaf(parsePublicPEM(t, "keys/bad_rsa1024_public.pem"), ch.notBefore, ch.notAfter)
	other, _ := ch.leaf(rotatedPub, ch.notBefore, ch.notAfter)
	cases := []struct {
		name, sn string
		step     VerifyStep
		serve    []byte
	}{
		{name: "chains", serve: good, sn: goodSN, step: ""},
		{name: "foreign root", serve: untrusted, sn: untrustedSN, step: StepCertNotTrusted},
		{name: "expired", serve: expired, sn: expiredSN, step: StepCertExpired},
		{name: "1024-bit key", serve: short, sn: shortSN, step: StepCertNotTrusted},
		{name: "other certificate", serve: other, sn: goodSN, step: StepCertNotTrusted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, mock := rotationClient(t, ch, certClock)
			downloads := downloadServer(mock, func(sn string) string {
				return signedBody(t, rotatedKey, methodAlipayCertDownload, downloadNode(tc.serve), sn)
			})
			step, err := verifyStep(t, c, signedBody(t, rotatedKey, methodQuery, queryNode, tc.sn))
			assert.Equal(t, tc.step, step, "%v", err)
			assert.EqualValues(t, 1, downloads.Load())
			if err != nil {
				assert.Contains(t, err.Error(), tc.sn)
			}
		})
	}
}

// TestRotationConcurrentFirstUse: many goroutines see the new SN at once;
// exactly one download happens and all of them verify with its result.
func TestRotationConcurrentFirstUse(t *testing.T) {
	c, mock := newCertMockClient(t, WithCertRotation(true))
	release := make(chan struct{})
	var downloads atomic.Int32
	rotated := readTestdata(t, "certs/alipay_cert_public_key_rsa2_rotated.crt")
	mock.RegisterResponder("POST", gwPattern, func(*http.Request) (*http.Response, error) {
		downloads.Add(1)
		<-release
		return httpmock.NewStringResponse(200, signedBody(t, "keys/alipay_rotated_private_pkcs8.pem",
			methodAlipayCertDownload, downloadNode(rotated), snRotated)), nil
	})
	body := []byte(signedBody(t, "keys/alipay_rotated_private_pkcs8.pem", methodQuery, queryNode, snRotated))
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = c.readResponse(context.Background(), methodQuery, http.StatusOK, nil, body)
		}(i)
	}
	waitJoined(t, c, snRotated, n)
	close(release)
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "caller %d", i)
	}
	assert.EqualValues(t, 1, downloads.Load())
	assert.Len(t, c.core.notifyKeys(), 2)
}

// waitJoined waits (without sleeping) until n callers share the download
// of sn.
func waitJoined(t *testing.T, c *Client, sn string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := c.core.certs
		m.mu.Lock()
		joined := 0
		if f := m.inflight[sn]; f != nil {
			joined = f.joined
		}
		m.mu.Unlock()
		if joined == n {
			return
		}
		require.True(t, time.Now().Before(deadline), "only %d of %d callers joined", joined, n)
		runtime.Gosched()
	}
}

// TestRotationWaiterCancel: a caller whose ctx ends stops waiting; the
// download still completes for the others.
func TestRotationWaiterCancel(t *testing.T) {
	c, mock := newCertMockClient(t, WithCertRotation(true))
	release := make(chan struct{})
	rotated := readTestdata(t, "certs/alipay_cert_public_key_rsa2_rotated.crt")
	mock.RegisterResponder("POST", gwPattern, func(*http.Request) (*http.Response, error) {
		<-release
		return httpmock.NewStringResponse(200, signedBody(t, "keys/alipay_rotated_private_pkcs8.pem",
			methodAlipayCertDownload, downloadNode(rotated), snRotated)), nil
	})
	body := []byte(signedBody(t, "keys/alipay_rotated_private_pkcs8.pem", methodQuery, queryNode, snRotated))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.readResponse(ctx, methodQuery, http.StatusOK, nil, body)
		done <- err
	}()
	waitJoined(t, c, snRotated, 1)
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	second := make(chan error, 1)
	go func() {
		_, err := c.readResponse(context.Background(), methodQuery, http.StatusOK, nil, body)
		second <- err
	}()
	waitJoined(t, c, snRotated, 2)
	close(release)
	require.NoError(t, <-second)
}

// TestRotationFailureMemory: a failed SN is not downloaded again before
// certRetryAfter, and at most maxCertDownloads SNs are remembered; SNs
// that are not 32 hex digits are never downloaded.
func TestRotationFailureMemory(t *testing.T) {
	var now atomic.Int64
	now.Store(certTestTime.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	c, mock := newCertMockClient(t, WithCertRotation(true), WithClock(clock))
	downloads := downloadServer(mock, func(string) string {
		return `{"alipay_open_app_alipaycert_download_response":{"code":"40004","msg":"Business Failed","sub_code":"CERT_NOT_EXIST","sub_msg":"x"}}`
	})
	body := func(sn string) string {
		return signedBody(t, "keys/alipay_rotated_private_pkcs8.pem", methodQuery, queryNode, sn)
	}
	step, err := verifyStep(t, c, body(snRotated))
	assert.Equal(t, StepUnknownCertSN, step)
	assert.Contains(t, err.Error(), "CERT_NOT_EXIST")
	step, err = verifyStep(t, c, body(snRotated))
	assert.Equal(t, StepUnknownCertSN, step)
	assert.Contains(t, err.Error(), "remembered")
	assert.EqualValues(t, 1, downloads.Load())

	now.Add(int64(certRetryAfter + time.Second))
	_, _ = verifyStep(t, c, body(snRotated))
	assert.EqualValues(t, 2, downloads.Load(), "retried after the window")

	for i := 0; i < 2*maxCertDownloads; i++ {
		_, _ = verifyStep(t, c, body(fmt.Sprintf("%032x", i)))
	}
	assert.EqualValues(t, 2+maxCertDownloads-1, downloads.Load(), "capped")
	step, err = verifyStep(t, c, body("not-an-sn"))
	assert.Equal(t, StepUnknownCertSN, step)
	assert.Contains(t, err.Error(), "not downloaded")
	assert.EqualValues(t, 2+maxCertDownloads-1, downloads.Load())
}

// TestRotationDownloadRequest: the download is made as the ISV's own app
// (no app_auth_token even from a merchant client), with plaintext
// biz_content even when AES is on, and the certificate-mode SNs.
func TestRotationDownloadRequest(t *testing.T) {
	c, mock := newCertMockClient(t, WithCertRotation(true), WithAESKey("zM+/R8elr0D6ivjOyoUBuQ=="))
	rotated := readTestdata(t, "certs/alipay_cert_public_key_rsa2_rotated.crt")
	var form, query map[string][]string
	mock.RegisterResponder("POST", gwPattern, func(req *http.Request) (*http.Response, error) {
		query = req.URL.Query()
		if err := req.ParseForm(); err != nil {
			return nil, err
		}
		form = req.PostForm
		return httpmock.NewStringResponse(200, signedBody(t, "keys/alipay_rotated_private_pkcs8.pem",
			methodAlipayCertDownload, downloadNode(rotated), "")), nil
	})
	m := c.WithAppAuthToken(testToken)
	_, err := m.readResponse(context.Background(), methodQuery, http.StatusOK, nil,
		[]byte(signedBody(t, "keys/alipay_rotated_private_pkcs8.pem", methodQuery, queryNode, snRotated)))
	require.NoError(t, err, "a download response without alipay_cert_sn verifies with the downloaded key")
	assert.Equal(t, []string{methodAlipayCertDownload}, query["method"])
	assert.Equal(t, []string{snApp}, query["app_cert_sn"])
	assert.Empty(t, query["encrypt_type"])
	assert.Equal(t, []string{`{"alipay_cert_sn":"` + snRotated + `"}`}, form["biz_content"])
	assert.Empty(t, form["app_auth_token"])
}

// TestRotationDownloadResponseChecks: the download answer must itself be
// sound: signed by the downloaded key (or a known one), a 200, a success.
func TestRotationDownloadResponseChecks(t *testing.T) {
	rotated := readTestdata(t, "certs/alipay_cert_public_key_rsa2_rotated.crt")
	node := downloadNode(rotated)
	rotatedKey, testKey := "keys/alipay_rotated_private_pkcs8.pem", "keys/alipay_test_private_pkcs8.pem"
	cases := []struct {
		name, body string
		step       VerifyStep
		detail     string
		status     int
	}{
		{"signed by configured cert", signedBody(t, testKey, methodAlipayCertDownload, node, snAlipay), "", "", 200},
		{"unsigned", `{"alipay_open_app_alipaycert_download_response":` + node + `}`, "cert_not_trusted", "unsigned", 200},
		{"wrong signer", signedBody(t, testKey, methodAlipayCertDownload, node, snRotated), "cert_not_trusted", "bad signature", 200},
		{"unknown signer SN", signedBody(t, rotatedKey, methodAlipayCertDownload, node, "ffffffffffffffffffffffffffffffff"), "cert_not_trusted", "another unknown certificate", 200},
		{"HTTP 502", "bad gateway", "unknown_cert_sn", "HTTP 502", 502},
		{"not JSON", "<html>", "unknown_cert_sn", "invalid_json", 200},
		{"not Base64", signedBody(t, rotatedKey, methodAlipayCertDownload, `{"code":"10000","msg":"Success","alipay_cert_content":"!!"}`, ""), "unknown_cert_sn", "not Base64", 200},
		{"encrypted", signedBody(t, rotatedKey, methodAlipayCertDownload, `"AAAA"`, ""), "unknown_cert_sn", "encrypted", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, mock := newCertMockClient(t, WithCertRotation(true))
			mock.RegisterResponder("POST", gwPattern, httpmock.NewStringResponder(tc.status, tc.body))
			step, err := verifyStep(t, c, signedBody(t, rotatedKey, methodQuery, queryNode, snRotated))
			assert.Equal(t, tc.step, step, "%v", err)
			if tc.detail != "" {
				assert.Contains(t, err.Error(), tc.detail)
			}
		})
	}
	t.Run("transport error", func(t *testing.T) {
		c, _ := newCertMockClient(t, WithCertRotation(true)) // no responder: every request fails
		step, err := verifyStep(t, c, signedBody(t, rotatedKey, methodQuery, queryNode, snRotated))
		assert.Equal(t, StepUnknownCertSN, step)
		assert.Contains(t, err.Error(), "certificate download failed")
		assert.NotContains(t, err.Error(), "sign=", "the URL query is scrubbed")
	})
}
