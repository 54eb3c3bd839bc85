package alipay

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNotifyVerifierWithoutPrivateKey: a verifier built from the app id and
// Alipay's key alone (public key or certificate) verifies messages and the
// authorization notify, refuses forgeries, and serves a handler.
func TestNotifyVerifierWithoutPrivateKey(t *testing.T) {
	t.Parallel()
	key := testNotifySigner(t)
	for mode, opts := range map[string][]Option{
		"public key":  {WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem"))},
		"certificate": {WithAlipayCert(readTestdata(t, "certs/alipay_cert_public_key_rsa2.crt"))},
		"full certificate set": {WithAppCert(readTestdata(t, "certs/app_cert_public_key.crt")),
			WithAlipayCert(readTestdata(t, "certs/alipay_cert_public_key_rsa2.crt")),
			WithAlipayRootCert(readTestdata(t, "certs/test_root_bundle.crt"))},
	} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			v, err := NewNotifyVerifier(testAppID, append(opts, WithClock(fixedClock))...)
			require.NoError(t, err)
			assert.Nil(t, v.c.core.key, "no private key anywhere")
			assert.Equal(t, testAppID, v.AppID())
			assert.Equal(t, "alipay.NotifyVerifier{app_id="+testAppID+"}", fmt.Sprint(v))

			ctx := context.Background()
			n, err := v.VerifyNotification(ctx, signNotification(t, key, fieldChangedParams("2024052000262171013056307524600801")))
			require.NoError(t, err)
			assert.Equal(t, MsgMethodAppAPIFieldChanged, n.MsgMethod)
			n, err = v.VerifyNotification(ctx, signNotification(t, key, authNotifyParams("2024052000222205656083451410597750", authNotifyToken)))
			require.NoError(t, err)
			assert.Equal(t, "open_app_auth_notify", n.NotifyType)
			forged := signNotification(t, key, fieldChangedParams("2024052000262171013056307524600802"))
			forged.Set("app_id", "2021000000000099")
			_, err = v.VerifyNotification(ctx, forged)
			assert.ErrorIs(t, err, ErrSignature)

			var calls atomic.Int32
			h, err := v.NewNotifyHandler(NotifyRoutes{AppAPIFieldChanged: func(context.Context, *Notification, *AppAPIFieldChanged) error {
				calls.Add(1)
				return nil
			}})
			require.NoError(t, err)
			srv := notifyServe(t, h)
			body := signNotification(t, key, fieldChangedParams("2024052000262171013056307524600803")).Encode()
			status, ack := notifyPost(t, srv, body)
			assert.Equal(t, http.StatusOK, status)
			assert.Equal(t, "success", ack)
			status, _ = notifyPost(t, srv, forged.Encode())
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, int32(1), calls.Load())
		})
	}
}

// TestNotifyVerifierWithRegistry: with the registry, a verifier's handler
// stores the authorization notify's token; the cancellation query goes
// through the confirm client.
func TestNotifyVerifierWithRegistry(t *testing.T) {
	t.Parallel()
	v, err := NewNotifyVerifier(testAppID, WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")), WithClock(fixedClock))
	require.NoError(t, err)
	store := NewMemoryMerchantStore()
	h, err := v.NewNotifyHandler(NotifyRoutes{}, WithNotifyMerchantStore(store), WithNotifyConfirmClient(newNotifyClient(t)))
	require.NoError(t, err)
	status, ack := notifyPost(t, notifyServe(t, h),
		signNotification(t, testNotifySigner(t), authNotifyParams("2024052000222205656083451410597751", authNotifyToken)).Encode())
	require.Equal(t, http.StatusOK, status, ack)
	m, err := store.Get(context.Background(), katMerchantApp)
	require.NoError(t, err)
	assert.Equal(t, authNotifyToken, m.AppAuthToken.Reveal())
}

// TestNewNotifyVerifierOptions: what a verifier refuses.
func TestNewNotifyVerifierOptions(t *testing.T) {
	t.Parallel()
	pub := WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem"))
	cert := WithAlipayCert(readTestdata(t, "certs/alipay_cert_public_key_rsa2.crt"))
	for name, tc := range map[string]struct {
		appID string
		opts  []Option
	}{
		"empty app id":  {"", []Option{pub}},
		"nil option":    {testAppID, []Option{pub, nil}},
		"no key":        {testAppID, nil},
		"private key":   {testAppID, []Option{pub, WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem"))}},
		"rotation":      {testAppID, []Option{cert, WithCertRotation(true)}},
		"key and cert":  {testAppID, []Option{pub, cert}},
		"bad key":       {testAppID, []Option{WithAlipayPublicKey(readTestdata(t, "keys/bad_rsa1024_public.pem"))}},
		"only app cert": {testAppID, []Option{WithAppCert(readTestdata(t, "certs/app_cert_public_key.crt"))}},
	} {
		v, err := NewNotifyVerifier(tc.appID, tc.opts...)
		assert.Error(t, err, name)
		assert.Nil(t, v, name)
	}
	v, err := NewNotifyVerifier(testAppID, pub, WithAESKey(isvAESKey), WithGatewayURL(testGW))
	require.NoError(t, err, "options about calls are accepted")
	_, err = v.VerifyNotification(context.Background(), nil, nil)
	assert.Error(t, err, "a nil notify option")
}
