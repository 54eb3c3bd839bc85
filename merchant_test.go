package alipay

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testMerchant = "2021004000000002"

// testAuthorization is an authorization of testMerchant with token tok.
func testAuthorization(tok string, at time.Time) Authorization {
	return Authorization{
		Token: AppToken{AppAuthToken: NewSecret(tok), AppRefreshToken: NewSecret(tok + "-refresh"),
			AuthAppID: testMerchant, UserID: "2088000000000001"},
		At: at, Source: "notify", Code: "code-" + tok,
	}
}

// TestRecordAuthorization: a new merchant is created authorized; the same
// token again changes nothing; a newer one replaces the tokens and keeps
// the AES keys; an older one (a late notify) is ignored.
func TestRecordAuthorization(t *testing.T) {
	t.Parallel()
	c, _ := newMockClient(t)
	s := NewMemoryMerchantStore()
	ctx := context.Background()
	m, err := c.RecordAuthorization(ctx, s, testAuthorization("tokA", fixedTime))
	require.NoError(t, err)
	assert.Equal(t, MerchantAuthorized, m.State)
	assert.Equal(t, int64(1), m.Version)
	assert.Equal(t, "tokA-refresh", m.RefreshToken.Reveal())
	assert.Equal(t, authCodeDigest("code-tokA"), m.AuthCodeDigest)
	assert.NotContains(t, m.AuthCodeDigest, "code-tokA")
	require.Len(t, m.History, 1)
	assert.Equal(t, "notify", m.History[0].Reason)

	again, err := c.RecordAuthorization(ctx, s, testAuthorization("tokA", fixedTime))
	require.NoError(t, err)
	assert.Equal(t, int64(1), again.Version, "the same token twice writes nothing")

	m.AESKey = NewSecret("aes-key")
	require.NoError(t, s.Put(ctx, m))
	newer, err := c.RecordAuthorization(ctx, s, testAuthorization("tokB", fixedTime.Add(time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, "tokB", newer.AppAuthToken.Reveal())
	assert.Equal(t, "aes-key", newer.AESKey.Reveal(), "AES keys stay")
	assert.Len(t, newer.History, 2)

	stale, err := c.RecordAuthorization(ctx, s, testAuthorization("tokC", fixedTime.Add(time.Minute)))
	require.NoError(t, err)
	assert.Equal(t, "tokB", stale.AppAuthToken.Reveal(), "a stale authorization is ignored")

	_, err = c.RecordAuthorization(ctx, s, Authorization{Token: AppToken{AuthAppID: testMerchant}})
	assert.Error(t, err, "no token")
	_, err = c.RecordAuthorization(ctx, s, Authorization{Token: AppToken{AppAuthToken: NewSecret("x")}})
	assert.Error(t, err, "no app id")
}

// TestSetMerchantState: unknown merchants are not created, the history is
// kept (bounded), and a repeated state writes nothing.
func TestSetMerchantState(t *testing.T) {
	t.Parallel()
	c, _ := newMockClient(t)
	s := NewMemoryMerchantStore()
	ctx := context.Background()
	_, err := c.SetMerchantState(ctx, s, testMerchant, MerchantCancelled, "x")
	assert.ErrorIs(t, err, ErrMerchantNotFound)
	assert.Zero(t, s.Len())
	_, err = c.SetMerchantState(ctx, s, testMerchant, "paused", "x")
	assert.Error(t, err)

	_, err = c.RecordAuthorization(ctx, s, testAuthorization("tokA", fixedTime))
	require.NoError(t, err)
	for i := 0; i < MaxMerchantHistory; i++ {
		st := MerchantCancelled
		if i%2 == 1 {
			st = MerchantAuthorized
		}
		_, err := c.SetMerchantState(ctx, s, testMerchant, st, fmt.Sprint("event ", i))
		require.NoError(t, err)
	}
	m, err := c.SetMerchantState(ctx, s, testMerchant, MerchantAuthorized, "again")
	require.NoError(t, err)
	v := m.Version
	assert.Len(t, m.History, MaxMerchantHistory)
	assert.Equal(t, "event 31", m.History[MaxMerchantHistory-1].Reason)
	assert.Equal(t, "event 0", m.History[0].Reason, "the oldest event was dropped")
	assert.Equal(t, "tokA", m.AppAuthToken.Reveal())
	m, err = c.SetMerchantState(ctx, s, testMerchant, MerchantAuthorized, "again")
	require.NoError(t, err)
	assert.Equal(t, v, m.Version, "the same state writes nothing")
}

// racingStore makes the first Put of each UpdateMerchant lose to another
// writer, once.
type racingStore struct {
	*MemoryMerchantStore
	raced bool
}

func (r *racingStore) Put(ctx context.Context, m *Merchant) error {
	if !r.raced && m.Version > 0 {
		r.raced = true
		other, _ := r.MemoryMerchantStore.Get(ctx, m.AppID)
		other.UserID = "2088000000000999"
		if err := r.MemoryMerchantStore.Put(ctx, other); err != nil {
			return err
		}
	}
	return r.MemoryMerchantStore.Put(ctx, m)
}

// TestUpdateMerchantRetries: a lost compare-and-swap is retried on a new
// read, so the other writer's change survives.
func TestUpdateMerchantRetries(t *testing.T) {
	t.Parallel()
	c, _ := newMockClient(t)
	s := &racingStore{MemoryMerchantStore: NewMemoryMerchantStore()}
	ctx := context.Background()
	_, err := c.RecordAuthorization(ctx, s, testAuthorization("tokA", fixedTime))
	require.NoError(t, err)
	calls := 0
	m, err := UpdateMerchant(ctx, s, testMerchant, func(m *Merchant) error {
		calls++
		m.Reason = "updated"
		m.State = MerchantCancelled
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, "2088000000000999", m.UserID, "the other writer's change survives")
	assert.Equal(t, int64(3), m.Version)

	boom := errors.New("boom")
	_, err = UpdateMerchant(ctx, s, testMerchant, func(*Merchant) error { return boom })
	assert.ErrorIs(t, err, boom)
	_, err = UpdateMerchant(ctx, nil, testMerchant, func(*Merchant) error { return nil })
	assert.Error(t, err)
	_, err = UpdateMerchant(ctx, s, "bad id", func(*Merchant) error { return nil })
	assert.Error(t, err)
}

func TestMerchantStateErrorAndPredicate(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", &MerchantStateError{AppID: testMerchant, State: MerchantCancelled, Reason: "alipay.open.auth.appauth.cancelled"})
	assert.True(t, IsReauthorizationNeeded(err))
	assert.Equal(t, "wrapped: alipay: merchant 2021004000000002 is cancelled (alipay.open.auth.appauth.cancelled): the merchant must authorise the ISV again", err.Error())
	err = &MerchantStateError{AppID: testMerchant, State: MerchantNeedsReauthorization, Reason: "aop.invalid-app-auth-token"}
	assert.Equal(t, "alipay: merchant 2021004000000002 needs re-authorization (aop.invalid-app-auth-token): the merchant must authorise the ISV again", err.Error())
	for sub, want := range map[string]bool{
		"aop.invalid-app-auth-token": true, "aop.app-auth-token-time-out": true,
		"aop.invalid-auth-token": true, "aop.auth-token-time-out": true,
		"aop.invalid-app-auth-token-no-api": false, "isv.invalid-signature": false,
	} {
		assert.Equal(t, want, IsReauthorizationNeeded(&APIError{Code: "20001", SubCode: sub}), sub)
	}
	assert.False(t, IsReauthorizationNeeded(errors.New("x")))
	assert.False(t, IsReauthorizationNeeded(nil))
}

func TestMerchantValidate(t *testing.T) {
	t.Parallel()
	long := fmt.Sprintf("%065d", 1)
	for id, ok := range map[string]bool{"2021004000000002": true, "a.b_c-D": true, "": false, long: false, "20 21": false, "2021:1": false, "中文": false} {
		m := &Merchant{AppID: id, State: MerchantCancelled}
		assert.Equal(t, ok, m.Validate() == nil, "%q", id)
	}
	var nilM *Merchant
	assert.Error(t, nilM.Validate())
	assert.Nil(t, nilM.Clone())
}
