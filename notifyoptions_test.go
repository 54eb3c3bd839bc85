package alipay

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerifyNotificationOptions(t *testing.T) {
	t.Parallel()
	c := newNotifyClient(t)
	bad := map[string]NotifyOption{
		"nil":            nil,
		"empty app id":   WithNotifyAppIDs(""),
		"app id space":   WithNotifyAppIDs("20 21"),
		"zero max age":   WithNotifyMaxAge(0),
		"huge max age":   WithNotifyMaxAge(31 * 24 * time.Hour),
		"small body":     WithNotifyMaxBytes(10),
		"huge body":      WithNotifyMaxBytes(1 << 30),
		"nil store":      WithDedupeStore(nil),
		"zero lease":     WithNotifyLease(0),
		"too long lease": WithNotifyLease(2 * time.Hour),
	}
	for name, opt := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := c.VerifyNotification(url.Values{}, opt)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "alipay: "), err.Error())
		})
	}
}

// TestVerifyNotificationRefusesHandlerOptions: the options that only a
// handler uses are refused by both VerifyNotification methods, with an
// error naming them, instead of being silently ignored; a handler still
// takes them, and the verification options still apply.
func TestVerifyNotificationRefusesHandlerOptions(t *testing.T) {
	t.Parallel()
	c := newNotifyClient(t)
	v, err := NewNotifyVerifier(testAppID, WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")), WithClock(fixedClock))
	require.NoError(t, err)
	params := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524613001"))
	for name, opt := range map[string]NotifyOption{
		"WithNotifyMaxBytes":      WithNotifyMaxBytes(1 << 20),
		"WithDedupeStore":         WithDedupeStore(NewMemoryDedupeStore(10)),
		"WithNotifyLease":         WithNotifyLease(time.Minute),
		"WithNotifyConfirmClient": WithNotifyConfirmClient(c),
	} {
		_, err := c.VerifyNotification(params, opt)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
		assert.NotErrorIs(t, err, ErrSignature, "a usage error, not a verification failure")
		_, err = v.VerifyNotification(context.Background(), params, opt)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
		_, err = c.NewNotifyHandler(NotifyRoutes{Other: func(context.Context, *Notification) error { return nil }}, opt)
		assert.NoError(t, err, name)
	}
	_, err = c.VerifyNotification(params, WithNotifyMaxAge(time.Hour), WithNotifyAppIDs("2021004000000002"))
	assert.NoError(t, err)
	_, err = c.VerifyNotification(params, WithNotifyMaxAge(time.Hour), WithNotifyLease(time.Minute), WithDedupeStore(NewMemoryDedupeStore(1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WithNotifyLease, WithDedupeStore")
}

// TestNotifyAppIDKeyNotQuoted: a private key passed where an app id belongs
// (a swapped environment variable) is refused without quoting it.
func TestNotifyAppIDKeyNotQuoted(t *testing.T) {
	t.Parallel()
	key := string(readTestdata(t, "keys/app_private_pkcs8.pem"))
	var cfg notifyConfig
	err := WithNotifyAppIDs(key)(&cfg)
	require.Error(t, err)
	body := strings.Join(strings.Split(strings.TrimSpace(key), "\n")[1:3], "")
	assert.NotContains(t, err.Error(), body[:24])
	assert.NotContains(t, err.Error(), "PRIVATE KEY")
}
