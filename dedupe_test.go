package alipay

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dedupeClock is a settable clock for the in-memory store.
type dedupeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dedupeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *dedupeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func dedupeClaim(t *testing.T, s DedupeStore, id string, lease time.Duration) ClaimState {
	t.Helper()
	st, _, err := s.Claim(context.Background(), id, lease)
	require.NoError(t, err)
	return st
}

// dedupeAcquire claims id, requires ClaimAcquired, and returns the token.
func dedupeAcquire(t *testing.T, s DedupeStore, id string, lease time.Duration) string {
	t.Helper()
	st, token, err := s.Claim(context.Background(), id, lease)
	require.NoError(t, err)
	require.Equal(t, ClaimAcquired, st)
	require.NotEmpty(t, token)
	return token
}

func TestMemoryDedupeStoreLifecycle(t *testing.T) {
	t.Parallel()
	clock := &dedupeClock{t: fixedTime}
	s := newMemoryDedupeStore(10, clock.now)
	ctx := context.Background()

	tok := dedupeAcquire(t, s, "a", time.Minute)
	assert.Equal(t, ClaimInProgress, dedupeClaim(t, s, "a", time.Minute))
	require.NoError(t, s.Release(ctx, "a", tok))
	dedupeAcquire(t, s, "a", time.Minute) // released: retaken

	clock.advance(time.Minute) // the holder crashed: its lease ends
	tok = dedupeAcquire(t, s, "a", time.Minute)

	require.NoError(t, s.Done(ctx, "a", tok, time.Hour))
	assert.Equal(t, ClaimAlreadyDone, dedupeClaim(t, s, "a", time.Minute))
	require.NoError(t, s.Release(ctx, "a", tok))
	assert.Equal(t, ClaimAlreadyDone, dedupeClaim(t, s, "a", time.Minute), "release never forgets done")

	clock.advance(time.Hour - time.Nanosecond)
	assert.Equal(t, ClaimAlreadyDone, dedupeClaim(t, s, "a", time.Minute))
	clock.advance(time.Nanosecond)
	assert.Equal(t, ClaimAcquired, dedupeClaim(t, s, "a", time.Minute), "ttl over: forgotten")
}

// TestMemoryDedupeStoreExpiredClaimCannotEndNewerClaim is the attack of
// issue 12 point 4 on the store: a handler whose lease expired releases, or
// completes, with its own (stale) token while a retry holds the id; the
// retry's claim must stay, so a third delivery is still told "in progress".
func TestMemoryDedupeStoreExpiredClaimCannotEndNewerClaim(t *testing.T) {
	t.Parallel()
	clock := &dedupeClock{t: fixedTime}
	s := newMemoryDedupeStore(10, clock.now)
	ctx := context.Background()
	stale := dedupeAcquire(t, s, "a", time.Minute)
	clock.advance(time.Minute)
	fresh := dedupeAcquire(t, s, "a", time.Minute)
	require.NotEqual(t, stale, fresh)

	require.NoError(t, s.Release(ctx, "a", stale))
	assert.Equal(t, ClaimInProgress, dedupeClaim(t, s, "a", time.Minute), "a stale Release must not free the retry's claim")
	assert.ErrorIs(t, s.Done(ctx, "a", stale, time.Hour), ErrClaimLost)
	assert.Equal(t, ClaimInProgress, dedupeClaim(t, s, "a", time.Minute), "a stale Done must not end the retry's claim")

	require.NoError(t, s.Done(ctx, "a", fresh, time.Hour))
	assert.Equal(t, ClaimAlreadyDone, dedupeClaim(t, s, "a", time.Minute))
}

func TestMemoryDedupeStoreBounded(t *testing.T) {
	t.Parallel()
	clock := &dedupeClock{t: fixedTime}
	s := newMemoryDedupeStore(100, clock.now)
	ctx := context.Background()
	for i := 0; i < 250; i++ {
		id := fmt.Sprint("n", i)
		require.NoError(t, s.Done(ctx, id, dedupeAcquire(t, s, id, time.Minute), time.Hour))
		clock.advance(time.Second)
		require.LessOrEqual(t, s.Len(), 100)
	}
	assert.Equal(t, 100, s.Len())
	assert.Equal(t, ClaimAlreadyDone, dedupeClaim(t, s, "n249", time.Minute), "newest kept")
	assert.Equal(t, ClaimAlreadyDone, dedupeClaim(t, s, "n150", time.Minute), "newest kept")
	assert.Equal(t, ClaimAcquired, dedupeClaim(t, s, "n0", time.Minute), "oldest evicted")

	clock.advance(2 * time.Hour)
	assert.Equal(t, ClaimAcquired, dedupeClaim(t, s, "fresh", time.Minute))
	assert.Equal(t, 1, s.Len(), "expired entries dropped")
}

func TestMemoryDedupeStoreDefaults(t *testing.T) {
	t.Parallel()
	s := NewMemoryDedupeStore(-1)
	assert.Equal(t, 0, s.Len())
	ctx := context.Background()
	_, _, err := s.Claim(ctx, "", time.Minute)
	assert.Error(t, err)
	_, _, err = s.Claim(ctx, "a", 0)
	assert.Error(t, err)
	assert.Error(t, s.Done(ctx, "", "1", time.Hour))
	assert.Error(t, s.Done(ctx, "a", "", time.Hour))
	assert.Error(t, s.Done(ctx, "a", "1", 0))
	assert.Error(t, s.Release(ctx, "", "1"))
	assert.Error(t, s.Release(ctx, "a", ""))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = s.Claim(cancelled, "a", time.Minute)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "acquired", ClaimAcquired.String())
	assert.Equal(t, "already_done", ClaimAlreadyDone.String())
	assert.Equal(t, "in_progress", ClaimInProgress.String())
	assert.Equal(t, "invalid", ClaimState(0).String())
}
