package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runStory runs the offline flow with args and returns it (its embedded
// world still running, closed at cleanup) and what it printed.
func runStory(t *testing.T, args ...string) (*flow, string) {
	t.Helper()
	st, err := parseFlags(append([]string{"-audit-delay", "10ms"}, args...), io.Discard)
	require.NoError(t, err)
	var out bytes.Buffer
	f, err := offlineFlow(st, &out)
	require.NoError(t, err)
	t.Cleanup(func() { f.off.close(io.Discard) })
	require.NoError(t, f.run(testCtx(t)), out.String())
	return f, out.String()
}

// secrets returns what the run must never print: the merchant's tokens,
// the app_auth_code, both AES keys and the shared phone number.
func secrets(t *testing.T, o *offline) map[string]string {
	t.Helper()
	s := map[string]string{"ISV AES key": o.aesKey, "phone number": simulatedMobile}
	grants := o.gw.Grants(o.merchant)
	require.NotEmpty(t, grants)
	for _, g := range grants {
		s["token "+g.Token] = g.Token
		s["refresh token "+g.RefreshToken] = g.RefreshToken
	}
	if k, ok := o.gw.MerchantAESKey(o.merchant); ok {
		s["merchant AES key"] = k
	}
	for _, r := range o.gw.Requests() {
		if r.Method == "alipay.open.auth.token.app" {
			var biz struct{ Code string }
			require.NoError(t, json.Unmarshal([]byte(r.PlainBizContent), &biz))
			require.NotEmpty(t, biz.Code)
			s["app_auth_code"] = biz.Code
		}
	}
	require.Contains(t, s, "app_auth_code")
	return s
}

// TestStoryAuthorizationToPhoneNumber: offline, the merchant authorises
// the ISV (the notify and the redirect both deliver the token: one
// record, one exchange), every merchant call carries the registry's
// token, the category comes from category.query, one application, the
// AES key lands in the registry, and the backend decrypts the shared
// number and prints it masked. Nothing secret is printed.
func TestStoryAuthorizationToPhoneNumber(t *testing.T) {
	t.Parallel()
	f, out := runStory(t)
	o := f.off
	for _, want := range []string{
		"0. the merchant authorizes ISV app 2021000000000001 for mini-program 2021004000000002 (alipaytest Authorize)",
		"authorization notify received at " + o.baseURL + "/alipay/notify: token of 2021004000000002 stored in the registry",
		"redirect: state checked, code exchanged with auth.token.app: 2021004000000002 authorized",
		"registry: 1 merchant (the notify and the redirect brought the same token: one record)",
		"ForMerchant(2021004000000002): the client of the next steps",
		"category.query: 交通出行_物流快递 is XS1011_XS2089",
		"WaitFieldAudit: AGREE (approved)",
		"7. SyncMerchantAESKey: aes.get (aes.set when the mini-program has none); the registry holds the AES key of 2021004000000002: [redacted]",
		"8. a user of 2021004000000002 shares a phone number (my.getPhoneNumber): the front end posts the signed, encrypted envelope (",
		"   backend: verified, decrypted with the merchant's AES key from the registry: 138****0000\n",
		"done: getPhoneNumber/mobile is AGREE (approved)",
	} {
		assert.Contains(t, out, want)
	}
	for what, s := range secrets(t, o) {
		assert.NotContains(t, out, s, what)
	}
	last := -1
	for _, step := range []string{"\n0. ", "\n1. ", "\n5. ", "\n6. ", "\n7. ", "\n8. ", "\ndone: "} {
		i := strings.Index(out, step)
		require.Greater(t, i, last, step)
		last = i
	}

	// One record, authorised once, with the merchant's AES key.
	require.Equal(t, 1, o.store.Len())
	rec, err := o.store.Get(testCtx(t), o.merchant)
	require.NoError(t, err)
	assert.Equal(t, alipay.MerchantAuthorized, rec.State)
	require.Len(t, rec.History, 1, "the same token from the notify and the redirect is one event")
	key, ok := o.gw.MerchantAESKey(o.merchant)
	require.True(t, ok)
	assert.Equal(t, key, rec.AESKey.Reveal())
	assert.Equal(t, 1, o.gw.RequestCount("alipay.open.auth.token.app"), "the code is exchanged once")

	// Every call for the merchant carried the token from the registry,
	// which is the live one Authorize issued (the default merchant's old
	// token died with the new authorization).
	var live string
	for _, g := range o.gw.Grants(o.merchant) {
		if g.Live {
			live = g.Token
		}
	}
	require.Equal(t, live, rec.AppAuthToken.Reveal())
	merchantCalls := 0
	for _, r := range o.gw.Requests() {
		if r.AppAuthToken != "" {
			merchantCalls++
			assert.Equal(t, live, r.AppAuthToken, r.Method)
		}
	}
	assert.GreaterOrEqual(t, merchantCalls, 7)
	assert.Len(t, o.gw.Applications(o.merchant), 1)
	assert.Equal(t, 1, o.gw.RequestCount("alipay.open.mini.category.query"))
}

// TestStoryRejectedStopsBeforeTheField: a rejected application ends the
// run at step 6 (exit 0): no AES key, no phone number.
func TestStoryRejectedStopsBeforeTheField(t *testing.T) {
	t.Parallel()
	f, out := runStory(t, "-audit", "reject")
	assert.Contains(t, out, "done: getPhoneNumber/mobile is REJECT")
	assert.NotContains(t, out, "\n7. ")
	assert.NotContains(t, out, "\n8. ")
	assert.Zero(t, f.off.gw.RequestCount("alipay.open.auth.app.aes.get"))
}
