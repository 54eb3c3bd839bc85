package main

import (
	"bytes"
	"context"
	"errors"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPhoneEndpoint: the backend's endpoint answers what a front end needs
// and logs nothing but the masked number: a forged or mangled envelope is
// refused, a failed getPhoneNumber gives its sub_code, a user without a
// number is no error, an envelope over the limit is refused, and another
// merchant's envelope does not decrypt.
func TestPhoneEndpoint(t *testing.T) {
	t.Parallel()
	f, _ := runStory(t)
	o := f.off
	var logs bytes.Buffer
	h := phoneHandler(o.isv, log.New(&logs, "", 0)) // the program's own handler, logging to logs
	mux := http.NewServeMux()
	mux.Handle(phonePattern, h)
	post := func(appID string, body []byte) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "/mini/"+appID+"/phone", bytes.NewReader(body))
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	good, err := o.gw.PhoneNumberEnvelope(o.merchant, simulatedMobile)
	require.NoError(t, err)
	code, body := post(o.merchant, good)
	assert.Equal(t, http.StatusOK, code, body)

	forged := bytes.Replace(good, []byte(`"sign":"`), []byte(`"sign":"A`), 1)
	code, _ = post(o.merchant, forged)
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = post(o.merchant, []byte(`{"response":"x","response":"y"}`))
	assert.Equal(t, http.StatusBadRequest, code)

	failed, err := o.gw.PhoneNumberErrorEnvelope(o.merchant, "40003", "isv.invalid-auth-relations", "无效的授权关系")
	require.NoError(t, err)
	code, body = post(o.merchant, failed)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, "please tap the phone-number button again", body)
	failed, err = o.gw.PhoneNumberErrorEnvelope(o.merchant, "40006", "isv.insufficient-isv-permissions", "ISV权限不足")
	require.NoError(t, err)
	code, body = post(o.merchant, failed)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, "the phone number cannot be shared now", body)

	none, err := o.gw.PhoneNumberEnvelope(o.merchant, "")
	require.NoError(t, err)
	code, body = post(o.merchant, none)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "no number bound", body)

	code, _ = post(o.merchant, bytes.Repeat([]byte("x"), maxEnvelope+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)

	// Another merchant's path: not in the registry, nothing decrypts.
	code, body = post(alipaytest.DefaultMerchantAppID+"9", good)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "unknown mini-program", body)

	// The registry down: try again later, not "refused".
	down, err := o.gw.NewClient(alipay.WithAESKeySource(downSource{}))
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/mini/"+o.merchant+"/phone", bytes.NewReader(good))
	req.SetPathValue("appID", o.merchant)
	phoneHandler(down, log.New(&logs, "", 0)).ServeHTTP(rec, req)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)

	// A cancelled merchant: no longer served.
	_, err = o.isv.SetMerchantState(testCtx(t), o.store, o.merchant, alipay.MerchantCancelled, "test")
	require.NoError(t, err)
	code, body = post(o.merchant, good)
	assert.Equal(t, http.StatusForbidden, code)
	assert.Equal(t, "this mini-program is no longer served", body)

	assert.Equal(t, 1, strings.Count(logs.String(), "138****0000"), logs.String())
	for what, s := range secrets(t, o) {
		assert.NotContains(t, logs.String(), s, what)
	}
}

// downSource is an AESKeySource whose store is unreachable.
type downSource struct{}

func (downSource) AESKeys(context.Context, string) ([]string, error) {
	return nil, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}
