package alipay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuthAppAESWire: both calls go out as the ISV itself (no
// app_auth_token), with encrypt_type=AES and biz_content encrypted with the
// ISV key; the encrypted answer is verified, decrypted and typed; the key
// never prints and Raw is empty.
func TestAuthAppAESWire(t *testing.T) {
	t.Parallel()
	g := newLoopbackGateway(t, func(r *gatewayRequest) (string, bool) {
		return `{"code":"10000","msg":"Success","aes_key":"` + phoneAESKey + `"}`, true
	})
	c := g.client(t, WithAESKey(isvAESKey))
	ctx := context.Background()
	get, err := c.AuthAppAESGet(ctx, &AuthAppAESGetRequest{MerchantAppID: katMerchantApp})
	require.NoError(t, err)
	set, err := c.AuthAppAESSet(ctx, &AuthAppAESSetRequest{MerchantAppID: katMerchantApp})
	require.NoError(t, err)
	assert.True(t, get.HasKey())
	assert.Equal(t, phoneAESKey, get.AESKey.Base64())
	assert.Equal(t, phoneAESKey, set.AESKey.Base64())
	assert.Nil(t, get.Raw)
	assert.Nil(t, set.Raw)

	reqs := g.requests(t)
	require.Len(t, reqs, 2)
	for i, method := range []string{methodAuthAppAESGet, methodAuthAppAESSet} {
		r := reqs[i]
		assert.Equal(t, method, r.Method)
		assert.False(t, r.Form.Has("app_auth_token"), "self-invoked")
		assert.Equal(t, "AES", r.Query.Get("encrypt_type"))
		assert.True(t, r.Encrypted)
		assert.Equal(t, `{"merchant_app_id":"`+katMerchantApp+`"}`, r.Biz)
		assert.NotContains(t, r.Form.Get("biz_content"), "merchant_app_id")
	}

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("key", "get", get, "key", get.AESKey, "set", set)
	js, err := json.Marshal(get)
	require.NoError(t, err)
	printed := fmt.Sprintf("%v %+v %#v %s %x %q %d", get, set, get, get.AESKey, get.AESKey, get.AESKey, get.AESKey)
	for _, s := range []string{printed, logs.String(), string(js)} {
		assert.NotContains(t, s, phoneAESKey)
		assert.NotContains(t, s, phoneAESKey[:10])
	}
	assert.Equal(t, "[redacted] [none]", fmt.Sprintf("%v %v", get.AESKey, AESKey{}))
}

// TestAuthAppAESGetNoKey: an empty or null aes_key is "no key" for get,
// and an error for set (the key changed to one we do not know).
func TestAuthAppAESGetNoKey(t *testing.T) {
	t.Parallel()
	for _, node := range []string{
		`{"code":"10000","msg":"Success","aes_key":""}`, `{"code":"10000","msg":"Success","aes_key":null}`,
		`{"code":"10000","msg":"Success"}`,
	} {
		g := newLoopbackGateway(t, func(*gatewayRequest) (string, bool) { return node, true })
		res, err := g.client(t, WithAESKey(isvAESKey)).AuthAppAESGet(context.Background(), &AuthAppAESGetRequest{MerchantAppID: katMerchantApp})
		require.NoError(t, err, node)
		assert.False(t, res.HasKey(), node)
		assert.Empty(t, res.AESKey.Base64())
		_, err = g.client(t, WithAESKey(isvAESKey)).AuthAppAESSet(context.Background(), &AuthAppAESSetRequest{MerchantAppID: katMerchantApp})
		var re *ResponseError
		require.ErrorAs(t, err, &re, node)
		assert.Equal(t, ReasonMissingAESKey, re.Reason, "set without a key: read it with get")
	}
}

// TestAuthAppAESFailures: a plain (unencrypted) failure object is an
// *APIError, signed or not; a malformed aes_key is refused without being
// quoted.
func TestAuthAppAESFailures(t *testing.T) {
	t.Parallel()
	failure := `{"code":"40004","msg":"Business Failed","sub_code":"ACCESS_DENIED","sub_msg":"无权限"}`
	g := newLoopbackGateway(t, func(*gatewayRequest) (string, bool) { return failure, false })
	_, err := g.client(t, WithAESKey(isvAESKey)).AuthAppAESGet(context.Background(), &AuthAppAESGetRequest{MerchantAppID: katMerchantApp})
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "ACCESS_DENIED", ae.SubCode)
	assert.True(t, ae.Verified)

	c, mock := newMockClient(t, WithAESKey(isvAESKey))
	mock.RegisterResponder(http.MethodPost, gwPattern, httpmock.NewStringResponder(200,
		`{"alipay_open_auth_app_aes_set_response":`+failure+`}`))
	_, err = c.AuthAppAESSet(context.Background(), &AuthAppAESSetRequest{MerchantAppID: katMerchantApp})
	require.ErrorAs(t, err, &ae)
	assert.False(t, ae.Verified)

	for _, bad := range []string{"c2hvcnQ=", "not base64!!", "12"} {
		node := `{"code":"10000","msg":"Success","aes_key":"` + bad + `"}`
		if bad == "12" {
			node = `{"code":"10000","msg":"Success","aes_key":12}`
		}
		g := newLoopbackGateway(t, func(*gatewayRequest) (string, bool) { return node, true })
		_, err := g.client(t, WithAESKey(isvAESKey)).AuthAppAESGet(context.Background(), &AuthAppAESGetRequest{MerchantAppID: katMerchantApp})
		assert.ErrorIs(t, err, ErrBadResponse, bad)
		assert.NotContains(t, err.Error(), bad)
	}
}

// TestAuthAppAESSetKAT6: the real aes.set response of the official Node
// SDK's fixture (testdata/kat/aes.json, case kat6_real_aes_set_response)
// decrypts with its ISV key to the merchant key.
func TestAuthAppAESSetKAT6(t *testing.T) {
	t.Parallel()
	type aesKAT struct{ Name, Key, Ciphertext string }
	var kat6 aesKAT
	for _, c := range loadKAT[aesKAT](t, "aes") {
		if c.Name == "kat6_real_aes_set_response" {
			kat6 = c
		}
	}
	require.NotEmpty(t, kat6.Ciphertext)
	c, mock := newMockClient(t, WithAESKey(kat6.Key))
	mock.RegisterResponder(http.MethodPost, gwPattern, httpmock.NewStringResponder(200,
		newGatewaySigner(t).body(methodAuthAppAESSet, `"`+kat6.Ciphertext+`"`)))
	res, err := c.AuthAppAESSet(context.Background(), &AuthAppAESSetRequest{MerchantAppID: katMerchantApp})
	require.NoError(t, err)
	assert.Equal(t, "cW8mcZgoMGUVp5g7uv7bHw==", res.AESKey.Base64())
}

// TestAuthAppAESRefusedBeforeSending: a merchant client, a client without
// the ISV AES key, and a missing or malformed merchant_app_id are refused
// before anything is sent.
func TestAuthAppAESRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	g := newLoopbackGateway(t, func(*gatewayRequest) (string, bool) { return `{}`, true })
	isv := g.client(t, WithAESKey(isvAESKey))
	plain := g.client(t)
	ctx := context.Background()
	for name, c := range map[string]struct {
		client *Client
		id     string
		field  string
	}{
		"merchant client": {isv.WithAppAuthToken(testToken), katMerchantApp, "app_auth_token"},
		"no ISV AES key":  {plain, katMerchantApp, "encrypt_type"},
		"empty app id":    {isv, "", "merchant_app_id"},
		"spaces":          {isv, " " + katMerchantApp, "merchant_app_id"},
		"too long":        {isv, strings.Repeat("1", 129), "merchant_app_id"},
	} {
		_, err := c.client.AuthAppAESGet(ctx, &AuthAppAESGetRequest{MerchantAppID: c.id})
		_, err2 := c.client.AuthAppAESSet(ctx, &AuthAppAESSetRequest{MerchantAppID: c.id})
		for _, e := range []error{err, err2} {
			var ve *ValidationError
			require.ErrorAs(t, e, &ve, name)
			assert.Equal(t, c.field, ve.Field, name)
		}
	}
	_, err := isv.AuthAppAESSet(ctx, nil)
	assert.ErrorIs(t, err, ErrInvalidRequest)
	assert.Empty(t, g.requests(t))
}

// TestAuthAppAESSetNotRetried: set is sent once whatever the failure; its
// outcome is then unknown and get must be used to learn the key.
func TestAuthAppAESSetNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusBadGateway, http.StatusOK} {
		c, mock := newMockClient(t, WithAESKey(isvAESKey))
		calls := 0
		mock.RegisterResponder(http.MethodPost, gwPattern, func(*http.Request) (*http.Response, error) {
			calls++
			return httpmock.NewStringResponse(status,
				`{"alipay_open_auth_app_aes_set_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error"}}`), nil
		})
		_, err := c.AuthAppAESSet(context.Background(), &AuthAppAESSetRequest{MerchantAppID: katMerchantApp})
		require.Error(t, err)
		assert.Equal(t, 1, calls, "HTTP %d", status)
	}
}

// TestAuthAppAESPlainSuccessRefused: both calls are encrypted, so their
// success must come encrypted: a signed but plain success holding a key is
// refused (a plain failure is still read, above), and no error quotes it.
func TestAuthAppAESPlainSuccessRefused(t *testing.T) {
	t.Parallel()
	g := newLoopbackGateway(t, func(*gatewayRequest) (string, bool) {
		return `{"code":"10000","msg":"Success","aes_key":"` + phoneAESKey + `"}`, false
	})
	c := g.client(t, WithAESKey(isvAESKey))
	_, err := c.AuthAppAESGet(context.Background(), &AuthAppAESGetRequest{MerchantAppID: katMerchantApp})
	_, err2 := c.AuthAppAESSet(context.Background(), &AuthAppAESSetRequest{MerchantAppID: katMerchantApp})
	_, err3 := c.Call(context.Background(), methodAuthAppAESGet, map[string]string{"merchant_app_id": katMerchantApp})
	for _, e := range []error{err, err2, err3} {
		var re *ResponseError
		require.ErrorAs(t, e, &re)
		assert.Equal(t, ReasonNotEncrypted, re.Reason)
		assert.NotContains(t, fmt.Sprintf("%v %+v", e, re), phoneAESKey[:10])
	}
	assert.ErrorIs(t, err2, ErrOutcomeUnknown, "a set answered in plain may have set a key: read it with get")
}
