package main

import (
	"bytes"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, "isv.invalid-auth-relations", body)

	none, err := o.gw.PhoneNumberEnvelope(o.merchant, "")
	require.NoError(t, err)
	code, body = post(o.merchant, none)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "no number bound", body)

	code, _ = post(o.merchant, bytes.Repeat([]byte("x"), maxEnvelope+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)

	// Another merchant's path: not in the registry, nothing decrypts.
	code, _ = post(alipaytest.DefaultMerchantAppID+"9", good)
	assert.NotEqual(t, http.StatusOK, code)

	assert.Equal(t, 1, strings.Count(logs.String(), "138****0000"), logs.String())
	for what, s := range secrets(t, o) {
		assert.NotContains(t, logs.String(), s, what)
	}
}
