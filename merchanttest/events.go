package merchanttest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The cases of the authorization events and of the registry as the source
// of merchants' AES keys: a notification handler on one replica's store,
// its effects read through the other's.
func eventCases(gw *gateway) []pairCase {
	return []pairCase{
		{"AuthNotifyStoresToken", func(t *testing.T, a, b alipay.MerchantStore) { testAuthNotify(t, gw, a, b) }},
		{"CancelledAfterConfirmation", func(t *testing.T, a, b alipay.MerchantStore) { testCancelMessage(t, gw, a, b) }},
		{"NotifyAcceptsNewMerchants", func(t *testing.T, a, b alipay.MerchantStore) { testNewMerchants(t, gw, a, b) }},
		{"AESKeysFromRegistry", func(t *testing.T, a, b alipay.MerchantStore) { testAESKeys(t, gw, a, b) }},
	}
}

// handler serves a notification handler of a new client on store.
func (g *gateway) handler(t *testing.T, store alipay.MerchantStore) *httptest.Server {
	t.Helper()
	h, err := g.client(t).NewNotifyHandler(alipay.NotifyRoutes{}, alipay.WithNotifyMerchantStore(store))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// post signs params as Alipay (V1 over all but sign and sign_type) and
// posts them to srv; it returns the status and the acknowledgement.
func (g *gateway) post(t *testing.T, srv *httptest.Server, params map[string]string) (int, string) {
	t.Helper()
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	form := url.Values{}
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
		form.Set(k, params[k])
	}
	form.Set("sign_type", "RSA2")
	form.Set("sign", g.sign(strings.Join(parts, "&")))
	resp, err := http.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	defer resp.Body.Close()
	var ack bytes.Buffer
	_, _ = ack.ReadFrom(resp.Body)
	return resp.StatusCode, ack.String()
}

// sign returns the Base64 RSA2 signature of content by Alipay's key.
func (g *gateway) sign(content string) string {
	digest := sha256.Sum256([]byte(content))
	sig, _ := rsa.SignPKCS1v15(nil, g.key, crypto.SHA256, digest[:])
	return base64.StdEncoding.EncodeToString(sig)
}

// newNotifyID returns a fresh 34-digit notify_id.
func newNotifyID(t *testing.T) string {
	t.Helper()
	return "2024" + newAppID(t) + newAppID(t)[:14]
}

// authNotify returns the authorization notify of tok, sent now.
func authNotify(t *testing.T, tok alipay.AppToken) map[string]string {
	t.Helper()
	now := time.Now()
	return map[string]string{
		"notify_id": newNotifyID(t), "notify_type": "open_app_auth_notify", "status": "execute_auth",
		"notify_time": now.In(time.FixedZone("UTC+8", 8*3600)).Format(time.DateTime), "charset": "UTF-8",
		"version": "1.0", "app_id": isvAppID, "auth_app_id": tok.AuthAppID,
		"biz_content": `{"notify_context":{"trigger":"merchanttest"},"detail":{"app_auth_token":"` + tok.AppAuthToken.Reveal() +
			`","app_refresh_token":"` + tok.AppRefreshToken.Reveal() + `","auth_app_id":"` + tok.AuthAppID +
			`","app_id":"` + isvAppID + `","user_id":"` + tok.UserID + `","auth_time":` + strconv.FormatInt(now.UnixMilli(), 10) +
			`,"expires_in":31536000,"re_expires_in":"32140800","app_auth_code":"merchanttest-code"},"error":{}}`,
	}
}

// message returns a message-service message msgMethod to appID, sent now.
func message(t *testing.T, msgMethod, appID, biz string) map[string]string {
	t.Helper()
	return map[string]string{
		"notify_id": newNotifyID(t), "utc_timestamp": strconv.FormatInt(time.Now().UnixMilli(), 10),
		"msg_method": msgMethod, "app_id": appID, "version": "1.1", "charset": "UTF-8", "biz_content": biz,
	}
}

func testAuthNotify(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	srv := gw.handler(t, a)
	tok := gw.authorize(t, newAppID(t))
	params := authNotify(t, tok)
	for i := 0; i < 2; i++ { // the replay is acknowledged and changes nothing
		status, ack := gw.post(t, srv, params)
		require.Equal(t, http.StatusOK, status, ack)
		require.Equal(t, "success", ack)
	}
	rec := get(t, b, tok.AuthAppID)
	assert.Equal(t, alipay.MerchantAuthorized, rec.State)
	assert.True(t, rec.AppAuthToken.Equal(tok.AppAuthToken), "the notify's token is stored")
	assert.True(t, rec.RefreshToken.Equal(tok.AppRefreshToken))
	assert.EqualValues(t, 1, rec.Version, "stored once")
	assert.NoError(t, callFor(t, gw.client(t), b, tok.AuthAppID), "the stored token works")
}

func testCancelMessage(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	c := gw.client(t)
	m := authorized(t, gw, c, a)
	srv := gw.handler(t, a)
	cancel := message(t, "alipay.open.auth.appauth.cancelled", isvAppID, `{"auth_app_id":"`+m.AppID+`"}`)
	status, ack := gw.post(t, srv, cancel)
	require.Equal(t, http.StatusOK, status, ack)
	assert.Equal(t, alipay.MerchantAuthorized, get(t, b, m.AppID).State, "the token still works: not confirmed, not marked")

	gw.revoke(m.AppID)
	cancel["notify_id"] = newNotifyID(t)
	status, ack = gw.post(t, srv, cancel)
	require.Equal(t, http.StatusOK, status, ack)
	rec := get(t, b, m.AppID)
	assert.Equal(t, alipay.MerchantCancelled, rec.State, "confirmed by the token query")
	assert.Equal(t, "alipay.open.auth.appauth.cancelled", rec.Reason)
	assert.True(t, rec.AppAuthToken.Equal(m.AppAuthToken), "the token stays")
	require.Len(t, rec.History, len(m.History)+1, "history kept")
	err := callFor(t, c, b, m.AppID)
	var se *alipay.MerchantStateError
	require.True(t, errors.As(err, &se), "the next ForMerchant: %v", err)
	assert.Equal(t, alipay.MerchantCancelled, se.State)

	unknown := message(t, "alipay.open.auth.appauth.cancelled", isvAppID, `{"auth_app_id":"`+newAppID(t)+`"}`)
	status, ack = gw.post(t, srv, unknown)
	assert.Equal(t, http.StatusOK, status, "an unknown merchant's cancel is acknowledged")
	assert.Equal(t, "success", ack)
}

func testNewMerchants(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	srv := gw.handler(t, a)
	appID := newAppID(t)
	field := func() int {
		status, _ := gw.post(t, srv, message(t, "alipay.open.app.api.field.changed", appID,
			`{"user_app_id":"`+appID+`","api_name":"getPhoneNumber","field_name":"mobile","status":"AGREE"}`))
		return status
	}
	assert.Equal(t, http.StatusBadRequest, field(), "an app id nobody knows")
	authorized := gw.authorize(t, appID)
	_, err := gw.client(t).RecordAuthorization(context.Background(), b, alipay.Authorization{Token: authorized, Source: "merchanttest"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, field(), "added to the registry while the handler runs")
}

func testAESKeys(t *testing.T, gw *gateway, a, b alipay.MerchantStore) {
	c := gw.client(t)
	m := authorized(t, gw, c, a)
	oldKey, newKey := randomAESKey(t), randomAESKey(t)
	for _, k := range []string{oldKey, newKey} { // a rotation: current → previous
		_, err := alipay.UpdateMerchant(context.Background(), a, m.AppID, func(r *alipay.Merchant) error {
			r.PrevAESKey, r.AESKey = r.AESKey, alipay.NewSecret(k)
			return nil
		})
		require.NoError(t, err)
	}
	dc, err := alipay.NewClient(isvAppID, alipay.WithPrivateKey(gw.appPEM), alipay.WithAlipayPublicKey(gw.pubPEM),
		alipay.WithAESKeySource(alipay.MerchantAESKeys(b)))
	require.NoError(t, err)
	for _, k := range []string{oldKey, newKey} {
		plain, err := dc.DecryptOpenData(context.Background(), m.AppID, gw.envelope(t, k, `{"code":"10000","msg":"Success","mobile":"13800000000"}`))
		require.NoError(t, err, "current and previous key")
		assert.Contains(t, string(plain), "13800000000")
	}
}

// randomAESKey returns a fresh Base64 AES-128 key.
func randomAESKey(t *testing.T) string {
	t.Helper()
	var k [16]byte
	_, err := rand.Read(k[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(k[:])
}

// envelope encrypts plaintext with the Base64 key (AES-CBC, zero IV,
// PKCS#7) and signs the quoted ciphertext, as Alipay's open-data envelope.
func (g *gateway) envelope(t *testing.T, key, plaintext string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(key)
	require.NoError(t, err)
	block, err := aes.NewCipher(raw)
	require.NoError(t, err)
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := append([]byte(plaintext), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(buf, buf)
	ct := base64.StdEncoding.EncodeToString(buf)
	return []byte(`{"response":"` + ct + `","sign":"` + g.sign(`"`+ct+`"`) + `","sign_type":"RSA2","encrypt_type":"AES","charset":"UTF-8"}`)
}
