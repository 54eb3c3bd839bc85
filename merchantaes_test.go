package alipay

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aesRig is an ISV client over a gateway whose aes.get answers getKey ("":
// none) and whose aes.set answers setKey, and a registry holding
// katMerchantApp.
type aesRig struct {
	c      *Client
	store  *flakyStore
	mu     sync.Mutex
	getKey string
	setKey string
	calls  map[string]int
}

func newAESRig(t *testing.T) *aesRig {
	t.Helper()
	rig := &aesRig{store: &flakyStore{MerchantStore: NewMemoryMerchantStore()}, setKey: otherAESKey, calls: map[string]int{}}
	gw := newLoopbackGateway(t, func(r *gatewayRequest) (string, bool) {
		rig.mu.Lock()
		defer rig.mu.Unlock()
		rig.calls[r.Method]++
		key := rig.getKey
		if r.Method == methodAuthAppAESSet {
			key = rig.setKey
		}
		return `{"code":"10000","msg":"Success","aes_key":"` + key + `"}`, true
	})
	rig.c = gw.client(t, WithAESKey(isvAESKey))
	_, err := rig.c.RecordAuthorization(context.Background(), rig.store, testAuthorization(testToken, fixedTime))
	require.NoError(t, err)
	return rig
}

func (rig *aesRig) set(get string) {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	rig.getKey = get
}

func (rig *aesRig) count(method string) int {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return rig.calls[method]
}

// TestSyncMerchantAESKey: get's key is stored; a changed key becomes
// current and the old one previous; the same key changes nothing; set is
// called only when get has none and the caller asked for it.
func TestSyncMerchantAESKey(t *testing.T) {
	t.Parallel()
	rig := newAESRig(t)
	ctx := context.Background()

	m, err := rig.c.SyncMerchantAESKey(ctx, rig.store, testMerchant, false)
	require.NoError(t, err)
	assert.True(t, m.AESKey.IsZero(), "no key at Alipay, none asked for")
	assert.Zero(t, rig.count(methodAuthAppAESSet))

	m, err = rig.c.SyncMerchantAESKey(ctx, rig.store, testMerchant, true)
	require.NoError(t, err)
	assert.Equal(t, otherAESKey, m.AESKey.Reveal(), "set's key stored")
	assert.True(t, m.PrevAESKey.IsZero())
	assert.Equal(t, 1, rig.count(methodAuthAppAESSet))

	rig.set(phoneAESKey) // the key changed at Alipay (e.g. in the console)
	m, err = rig.c.SyncMerchantAESKey(ctx, rig.store, testMerchant, true)
	require.NoError(t, err)
	assert.Equal(t, phoneAESKey, m.AESKey.Reveal())
	assert.Equal(t, otherAESKey, m.PrevAESKey.Reveal(), "current → previous")
	version := m.Version
	m, err = rig.c.SyncMerchantAESKey(ctx, rig.store, testMerchant, true)
	require.NoError(t, err)
	assert.Equal(t, version, m.Version, "the same key: unchanged")
	assert.Equal(t, 1, rig.count(methodAuthAppAESSet), "get had a key: never set again")
	assert.Equal(t, 4, rig.count(methodAuthAppAESGet))
	assert.NotContains(t, fmt.Sprintf("%v %+v", m, m), phoneAESKey)
}

// TestSyncMerchantAESKeyRefusals: an unknown merchant is refused before
// any call; a store failure after set says to call again, not to set.
func TestSyncMerchantAESKeyRefusals(t *testing.T) {
	t.Parallel()
	rig := newAESRig(t)
	ctx := context.Background()
	_, err := rig.c.SyncMerchantAESKey(ctx, rig.store, "2021004000000099", true)
	assert.ErrorIs(t, err, ErrMerchantNotFound)
	_, err = rig.c.SyncMerchantAESKey(ctx, nil, testMerchant, true)
	assert.Error(t, err)
	_, err = rig.c.SyncMerchantAESKey(ctx, rig.store, "bad id&", true)
	assert.Error(t, err)
	assert.Zero(t, rig.count(methodAuthAppAESGet)+rig.count(methodAuthAppAESSet))

	rig.store.fail.Store(true)
	_, err = rig.c.SyncMerchantAESKey(ctx, rig.store, testMerchant, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "call again")
	assert.NotContains(t, err.Error(), otherAESKey)
	rig.store.fail.Store(false)
	rig.set(otherAESKey) // Alipay now has the key set made
	m, err := rig.c.SyncMerchantAESKey(ctx, rig.store, testMerchant, true)
	require.NoError(t, err)
	assert.Equal(t, otherAESKey, m.AESKey.Reveal())
	assert.Equal(t, 1, rig.count(methodAuthAppAESSet), "recovered by get, not by a second set")
}

// TestMerchantAESKeysRotation: with the registry as the key source, an
// envelope made under the previous key still decrypts after a rotation; a
// cancelled merchant is refused; an unknown one has no key.
func TestMerchantAESKeysRotation(t *testing.T) {
	t.Parallel()
	store := NewMemoryMerchantStore()
	c := newNotifyClient(t, WithAESKeySource(MerchantAESKeys(store)))
	ctx := context.Background()
	_, err := c.RecordAuthorization(ctx, store, testAuthorization(testToken, fixedTime))
	require.NoError(t, err)
	_, err = storeAESKey(ctx, store, testMerchant, NewSecret(phoneAESKey))
	require.NoError(t, err)
	old := testEnvelope(t, phoneAESKey, `{"code":"10000","msg":"Success","mobile":"13800000000"}`)
	p, err := c.PhoneNumber(ctx, testMerchant, old)
	require.NoError(t, err)
	assert.Equal(t, "13800000000", p.Mobile)

	_, err = storeAESKey(ctx, store, testMerchant, NewSecret(otherAESKey)) // rotated
	require.NoError(t, err)
	p, err = c.PhoneNumber(ctx, testMerchant, old)
	require.NoError(t, err, "the previous key decrypts an envelope made before the rotation")
	assert.Equal(t, "13800000000", p.Mobile)
	fresh := testEnvelope(t, otherAESKey, `{"code":"10000","msg":"Success","mobile":"13900000000"}`)
	p, err = c.PhoneNumber(ctx, testMerchant, fresh)
	require.NoError(t, err)
	assert.Equal(t, "13900000000", p.Mobile)

	_, err = storeAESKey(ctx, store, testMerchant, NewSecret(isvAESKey)) // two rotations: phoneAESKey is gone
	require.NoError(t, err)
	_, err = c.PhoneNumber(ctx, testMerchant, old)
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, StepDecrypt, ve.Step)

	_, err = c.PhoneNumber(ctx, "2021004000000099", fresh)
	var val *ValidationError
	assert.ErrorAs(t, err, &val, "unknown merchant: no key")
	_, err = c.SetMerchantState(ctx, store, testMerchant, MerchantCancelled, MsgMethodAuthAppAuthCancelled)
	require.NoError(t, err)
	_, err = c.PhoneNumber(ctx, testMerchant, fresh)
	assert.True(t, IsReauthorizationNeeded(err), "a cancelled merchant: %v", err)
	_, err = MerchantAESKeys(nil).AESKeys(ctx, testMerchant)
	assert.Error(t, err)
	assert.Equal(t, "alipay.MerchantAESKeys{} alipay.MerchantAESKeys{}", fmt.Sprintf("%v %+v", MerchantAESKeys(store), MerchantAESKeys(store)))
}
