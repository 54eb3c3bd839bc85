package alipay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// SyncMerchantAESKey puts the AES key of the merchant mini-program
// merchantAppID into the registry's sealed slot (Merchant.AESKey), where
// [MerchantAESKeys] finds it for [Client.DecryptOpenData]. It reads the key
// with [Client.AuthAppAESGet]; only when Alipay reports that the app has
// none, and setIfNone is true, does it create one with
// [Client.AuthAppAESSet]. A key different from the stored one becomes the
// current key and the stored one the previous (PrevAESKey), still tried
// for envelopes made before the change; the same key changes nothing. It
// returns the record as stored: with setIfNone false and no key at
// Alipay, the record unchanged (check AESKey.IsZero).
//
// The merchant must be in the registry already (an error wrapping
// [ErrMerchantNotFound] otherwise, before any call). The client is the
// ISV's own, with [WithAESKey] (both calls are encrypted with the ISV
// app's key). Set is never retried, here or anywhere: every set REPLACES
// the merchant's key, so envelopes the front end encrypted under the old
// key stop decrypting with the new one (the previous key is kept for that
// reason), and a repeated set would lose the key of the first. If set's
// outcome is unknown (a timeout, a transport error), or the store fails
// after a set, the key exists at Alipay: call SyncMerchantAESKey again, and
// its get returns that key. For the same reason, do not run it with
// setIfNone for one merchant from two places at once.
func (c *Client) SyncMerchantAESKey(ctx context.Context, store MerchantStore, merchantAppID string, setIfNone bool) (*Merchant, error) {
	if store == nil {
		return nil, errors.New("alipay: SyncMerchantAESKey: nil store")
	}
	if err := checkMerchantID(merchantAppID); err != nil {
		return nil, err
	}
	m, err := store.Get(ctx, merchantAppID)
	if err != nil {
		return nil, registryError("SyncMerchantAESKey", merchantAppID, err)
	}
	got, err := c.AuthAppAESGet(ctx, &AuthAppAESGetRequest{MerchantAppID: merchantAppID})
	if err != nil {
		return nil, err
	}
	key, source := got.AESKey, methodAuthAppAESGet
	if !got.HasKey() {
		if !setIfNone {
			return m, nil
		}
		set, err := c.AuthAppAESSet(ctx, &AuthAppAESSetRequest{MerchantAppID: merchantAppID})
		if err != nil {
			return nil, err
		}
		key, source = set.AESKey, methodAuthAppAESSet
	}
	stored, err := storeAESKey(ctx, store, merchantAppID, NewSecret(key.Base64()))
	if err != nil {
		return nil, fmt.Errorf("alipay: SyncMerchantAESKey %s: storing the key from %s (call again: aes.get returns it): %w", merchantAppID, source, err)
	}
	return stored, nil
}

// storeAESKey makes key the current AES key of the record of appID, and
// the current one the previous, unless key is current already.
func storeAESKey(ctx context.Context, store MerchantStore, appID string, key Secret) (*Merchant, error) {
	return UpdateMerchant(ctx, store, appID, func(m *Merchant) error {
		switch {
		case m.Version == 0:
			return fmt.Errorf("alipay: merchant %s: %w", appID, ErrMerchantNotFound)
		case m.AESKey.Equal(key):
			return errUnchanged
		}
		if !m.AESKey.IsZero() {
			m.PrevAESKey = m.AESKey
		}
		m.AESKey = key
		return nil
	})
}

// merchantAESKeys is the AESKeySource of MerchantAESKeys.
type merchantAESKeys struct{ store MerchantStore }

// MerchantAESKeys returns an [AESKeySource] reading the registry: for a
// merchant app it gives the record's current AES key, then the previous
// one (see [Client.SyncMerchantAESKey]), so that [Client.DecryptOpenData]
// and [Client.PhoneNumber] try both after an envelope's signature
// verified. An app the registry does not know has no key; a merchant whose
// authorization is cancelled is refused with a [*MerchantStateError]: the
// ISV no longer acts for it. Use it with [WithAESKeySource].
func MerchantAESKeys(store MerchantStore) AESKeySource { return merchantAESKeys{store: store} }

// AESKeys returns the keys of merchantAppID, current first.
func (s merchantAESKeys) AESKeys(ctx context.Context, merchantAppID string) ([]string, error) {
	if s.store == nil {
		return nil, errors.New("alipay: MerchantAESKeys: nil store")
	}
	m, err := s.store.Get(ctx, merchantAppID)
	switch {
	case errors.Is(err, ErrMerchantNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case m.State == MerchantCancelled:
		return nil, &MerchantStateError{AppID: m.AppID, State: m.State, Reason: m.Reason, Since: m.StateSince}
	}
	var keys []string
	for _, k := range []Secret{m.AESKey, m.PrevAESKey} {
		if !k.IsZero() {
			keys = append(keys, k.Reveal())
		}
	}
	return keys, nil
}

// Format prints the type only, whatever the verb.
func (merchantAESKeys) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "alipay.MerchantAESKeys{}")
}

// LogValue logs the type only.
func (merchantAESKeys) LogValue() slog.Value { return slog.StringValue("alipay.MerchantAESKeys{}") }
