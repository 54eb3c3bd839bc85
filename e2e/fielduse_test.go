package e2e_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The approved field in use, end to end: the merchant's AES key synced
// into the registry, a mini-program user's phone-number envelope from
// alipaytest verified and decrypted by a backend endpoint, and a key
// rotation during which envelopes made under the previous key still
// decrypt. Nothing logs or prints a number or a key.

const (
	fuseMerchant = "2021004000000888"
	fuseMobile   = "13912345678"
	fuseISVKey   = "zM+/R8elr0D6ivjOyoUBuQ==" // the ISV app's own AES key (接口内容加密)
)

func TestPhoneNumberWithRegistryKeysAndRotation(t *testing.T) {
	t.Parallel()
	ctx := storyCtx(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	gw, err := alipaytest.NewServer(alipaytest.WithTB(t), alipaytest.WithAppAESKey(alipaytest.DefaultAppID, fuseISVKey))
	require.NoError(t, err)
	store := alipay.NewMemoryMerchantStore()
	isv, err := gw.NewClient(alipay.WithAESKeySource(alipay.MerchantAESKeys(store)), alipay.WithLogger(logger))
	require.NoError(t, err)

	// The merchant authorises the ISV; its record goes into the registry.
	code, err := gw.Authorize(fuseMerchant, alipaytest.AuthNoNotify())
	require.NoError(t, err)
	res, err := isv.AuthTokenApp(ctx, &alipay.AuthTokenAppRequest{GrantType: alipay.GrantAuthorizationCode, Code: code})
	require.NoError(t, err)
	tok, _ := res.Token(fuseMerchant)
	_, err = isv.RecordAuthorization(ctx, store, alipay.Authorization{Token: tok, Source: "redirect", Code: code})
	require.NoError(t, err)

	// The backend's endpoint, as the README shows it, served for real.
	backend := storyBackend(t, fuseBackend(isv, logger))
	post := func(envelope []byte) (int, string) {
		t.Helper()
		res, err := http.Post(backend+"/phone", "application/json", bytes.NewReader(envelope))
		require.NoError(t, err)
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(body))
	}

	// Before any key is in the registry, nothing decrypts.
	_, err = gw.PhoneNumberEnvelope(fuseMerchant, fuseMobile)
	require.ErrorIs(t, err, alipaytest.ErrNoAESKey)
	rec, err := isv.SyncMerchantAESKey(ctx, store, fuseMerchant, true) // aes.get, then aes.set: none yet
	require.NoError(t, err)
	key1, ok := gw.MerchantAESKey(fuseMerchant)
	require.True(t, ok)
	require.Equal(t, key1, rec.AESKey.Reveal())
	old, err := gw.PhoneNumberEnvelope(fuseMerchant, fuseMobile)
	require.NoError(t, err)
	status, body := post(old)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "139****5678", body)

	// Rotation: a set replaces the key at Alipay. Until the registry
	// learns it, new envelopes do not decrypt; after the sync, both the
	// new one and the old one (previous key) do.
	_, err = isv.AuthAppAESSet(ctx, &alipay.AuthAppAESSetRequest{MerchantAppID: fuseMerchant})
	require.NoError(t, err)
	key2, _ := gw.MerchantAESKey(fuseMerchant)
	require.NotEqual(t, key1, key2)
	fresh, err := gw.PhoneNumberEnvelope(fuseMerchant, fuseMobile)
	require.NoError(t, err)
	var errs []error
	_, err = isv.PhoneNumber(ctx, fuseMerchant, fresh)
	require.Error(t, err, "the registry does not know the new key yet")
	errs = append(errs, err)
	rec, err = isv.SyncMerchantAESKey(ctx, store, fuseMerchant, false)
	require.NoError(t, err)
	assert.Equal(t, key2, rec.AESKey.Reveal())
	assert.Equal(t, key1, rec.PrevAESKey.Reveal())
	for name, env := range map[string][]byte{"old envelope, previous key": old, "new envelope, current key": fresh} {
		p, err := isv.PhoneNumber(ctx, fuseMerchant, env)
		require.NoError(t, err, name)
		assert.Equal(t, fuseMobile, p.Mobile, name)
		status, body := post(env)
		assert.Equal(t, http.StatusOK, status, name)
		assert.Equal(t, "139****5678", body, name)
	}

	// A second rotation (the merchant's console): only current and
	// previous are kept, so the oldest envelope no longer decrypts.
	require.NoError(t, gw.SetMerchantAESKey(fuseMerchant, "JoRCASgqO5kV1lfdb5FpzQ=="))
	_, err = isv.SyncMerchantAESKey(ctx, store, fuseMerchant, false)
	require.NoError(t, err)
	_, err = isv.PhoneNumber(ctx, fuseMerchant, old)
	require.Error(t, err)
	errs = append(errs, err)

	// Refusals: a forged envelope, a failed getPhoneNumber, an unknown
	// merchant, a cancelled one.
	forged := bytes.Replace(fresh, []byte(`"sign":"`), []byte(`"sign":"AAAA`), 1)
	_, err = isv.PhoneNumber(ctx, fuseMerchant, forged)
	require.ErrorIs(t, err, alipay.ErrSignature)
	errs = append(errs, err)
	status, _ = post(forged)
	assert.Equal(t, http.StatusBadRequest, status)
	failed, err := gw.PhoneNumberErrorEnvelope(fuseMerchant, "40003", "isv.invalid-auth-relations", "无效的授权关系")
	require.NoError(t, err)
	_, err = isv.PhoneNumber(ctx, fuseMerchant, failed)
	var apiErr *alipay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "isv.invalid-auth-relations", apiErr.SubCode)
	status, body = post(failed)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "isv.invalid-auth-relations", body)
	_, err = isv.PhoneNumber(ctx, "2021004000000999", fresh)
	require.Error(t, err)
	errs = append(errs, err)
	_, err = isv.SetMerchantState(ctx, store, fuseMerchant, alipay.MerchantCancelled, "alipay.open.auth.appauth.cancelled")
	require.NoError(t, err)
	_, err = isv.PhoneNumber(ctx, fuseMerchant, fresh)
	assert.True(t, alipay.IsReauthorizationNeeded(err), "a cancelled merchant's key is not used: %v", err)
	errs = append(errs, err)

	// Nothing shows a number or a key: not the logs, not an error, not a
	// record printed in any way.
	final, err := store.Get(ctx, fuseMerchant)
	require.NoError(t, err)
	shown := logs.String() + fmt.Sprintf("%v %+v %#v", final, final, final)
	for _, err := range errs {
		shown += " " + err.Error()
	}
	secrets := map[string]string{"number": fuseMobile, "key 1": key1, "key 2": key2, "ISV key": fuseISVKey,
		"key 3": "JoRCASgqO5kV1lfdb5FpzQ==", "token": tok.AppAuthToken.Reveal()}
	for what, s := range secrets {
		assert.NotContains(t, shown, s, what)
	}
	assert.Contains(t, logs.String(), "139****5678", "the backend logged the number, masked")
}

// fuseBackend is the decrypt endpoint of the README's "Using the approved
// field": the envelope read with a size limit, PhoneNumber, masked logging.
func fuseBackend(isv *alipay.Client, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /phone", func(w http.ResponseWriter, r *http.Request) {
		envelope, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		p, err := isv.PhoneNumber(r.Context(), fuseMerchant, envelope) // the merchant from the session
		var apiErr *alipay.APIError
		switch {
		case errors.Is(err, alipay.ErrSignature), errors.Is(err, alipay.ErrBadEnvelope):
			http.Error(w, "refused", http.StatusBadRequest)
		case errors.As(err, &apiErr):
			http.Error(w, apiErr.SubCode, http.StatusConflict)
		case err != nil:
			http.Error(w, "unavailable", http.StatusInternalServerError)
		default:
			logger.Info("phone number verified", "phone", p) // masked
			fmt.Fprint(w, p)                                 // masked too; p.Mobile is the number
		}
	})
	return mux
}
