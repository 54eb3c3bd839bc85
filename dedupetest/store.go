package dedupetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Durations used by the suite.
const (
	longLease  = 30 * time.Second       // a lease that never ends during a test
	shortLease = 100 * time.Millisecond // a lease the suite waits out
	doneTTL    = time.Hour
	waitFor    = 5 * time.Second // upper bound of every poll
	pollEvery  = 10 * time.Millisecond
	goroutines = 16 // concurrent callers per id
)

// storeCases returns the cases that call the stores directly: a and b
// stand for the stores of two replicas (the same store under Run).
func storeCases() []pairCase {
	return []pairCase{
		{"FirstDeliveryClaimed", testFirstDelivery},
		{"DuplicatesSkippedAfterDone", testDuplicatesAfterDone},
		{"LiveClaimInProgress", testLiveClaim},
		{"ReleasedClaimRetaken", testRelease},
		{"ExpiredLeaseRetaken", testExpiredLease},
		{"DoneAfterLeaseExpiredRecorded", testDoneAfterExpiry},
		{"ExpiredClaimCannotEndNewerClaim", testStaleToken},
		{"ForeignTokenEndsNothing", testForeignToken},
		{"TokensDistinct", testTokensDistinct},
		{"ConcurrentClaimsOneWinner", testConcurrentClaims},
		{"ConcurrentClaimsAfterDone", testConcurrentAfterDone},
		{"DistinctIDsIndependent", testDistinctIDs},
	}
}

// state calls Claim, requires no error, and returns the state; a claim it
// acquires is left to expire.
func state(t *testing.T, s alipay.DedupeStore, id string, lease time.Duration) alipay.ClaimState {
	t.Helper()
	st, token, err := s.Claim(context.Background(), id, lease)
	require.NoError(t, err, "Claim(%q)", id)
	if st == alipay.ClaimAcquired {
		require.NotEmpty(t, token, "Claim(%q): acquired without a token", id)
	} else {
		require.Empty(t, token, "Claim(%q): a token without a claim (%v)", id, st)
	}
	return st
}

// acquire calls Claim, requires ClaimAcquired, and returns the token.
func acquire(t *testing.T, s alipay.DedupeStore, id string, lease time.Duration) string {
	t.Helper()
	st, token, err := s.Claim(context.Background(), id, lease)
	require.NoError(t, err, "Claim(%q)", id)
	require.Equal(t, alipay.ClaimAcquired, st, "Claim(%q)", id)
	require.NotEmpty(t, token, "Claim(%q): acquired without a token", id)
	return token
}

// done calls Done and requires no error.
func done(t *testing.T, s alipay.DedupeStore, id, token string) {
	t.Helper()
	require.NoError(t, s.Done(context.Background(), id, token, doneTTL), "Done(%q)", id)
}

// release calls Release and requires no error.
func release(t *testing.T, s alipay.DedupeStore, id, token string) {
	t.Helper()
	require.NoError(t, s.Release(context.Background(), id, token), "Release(%q)", id)
}

// newID returns a fresh random notify_id of letters and digits, as the
// handler accepts them (n helps tell a test's ids apart).
func newID(t *testing.T, n int) string {
	t.Helper()
	var b [12]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return fmt.Sprintf("dedupetest%d%s", n, hex.EncodeToString(b[:]))
}

func testFirstDelivery(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	done(t, a, id, acquire(t, a, id, longLease))
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, b, id, longLease), "after Done, other replica")
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, a, id, longLease), "after Done, same replica")
}

func testDuplicatesAfterDone(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	token := acquire(t, a, id, longLease)
	done(t, a, id, token)
	for i, s := range []alipay.DedupeStore{a, b, a, b} {
		require.Equal(t, alipay.ClaimAlreadyDone, state(t, s, id, longLease), "duplicate %d", i)
	}
	// A Release never forgets a processed id.
	release(t, b, id, token)
	release(t, a, id, token)
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, b, id, longLease), "after Release of a done id")
}

func testLiveClaim(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	token := acquire(t, a, id, longLease)
	require.Equal(t, alipay.ClaimInProgress, state(t, b, id, longLease), "other replica while claimed")
	require.Equal(t, alipay.ClaimInProgress, state(t, a, id, longLease), "same replica while claimed")
	done(t, a, id, token)
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, b, id, longLease))
}

func testRelease(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	release(t, a, id, acquire(t, a, id, longLease)) // the handler failed
	retry := acquire(t, b, id, longLease)           // Alipay's retry after a failure
	require.Equal(t, alipay.ClaimInProgress, state(t, a, id, longLease), "the retry holds it")
	release(t, b, id, retry) // failed again
	done(t, a, id, acquire(t, a, id, longLease))
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, b, id, longLease))
}

// retake polls s.Claim(id) while it answers ClaimInProgress, requires its
// first other answer to be ClaimAcquired, and returns the token.
func retake(t *testing.T, s alipay.DedupeStore, id string) string {
	t.Helper()
	var (
		st    alipay.ClaimState
		token string
		err   error
	)
	require.Eventually(t, func() bool {
		st, token, err = s.Claim(context.Background(), id, longLease)
		return err != nil || st != alipay.ClaimInProgress
	}, waitFor, pollEvery, "Claim(%q) still in progress after %v", id, waitFor)
	require.NoError(t, err, "Claim(%q)", id)
	require.Equal(t, alipay.ClaimAcquired, st, "an expired lease must be retaken")
	require.NotEmpty(t, token, "Claim(%q): acquired without a token", id)
	return token
}

func testExpiredLease(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	acquire(t, a, id, shortLease) // then a's handler crashes
	require.Equal(t, alipay.ClaimInProgress, state(t, b, id, longLease), "lease still live")
	token := retake(t, b, id)
	require.Equal(t, alipay.ClaimInProgress, state(t, a, id, longLease), "the retake holds it")
	done(t, b, id, token)
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, a, id, longLease))
}

// testDoneAfterExpiry: a slow handler outlives its lease and nobody takes
// the id meanwhile; its Done still records the work.
func testDoneAfterExpiry(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	token := acquire(t, a, id, shortLease)
	time.Sleep(2 * shortLease) // the lease ends; no Claim in between
	done(t, a, id, token)
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, b, id, longLease), "the late Done is recorded")
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, a, id, longLease), "the late Done is recorded")
}

// testStaleToken is the attack on an unowned claim: a slow handler
// outlives its lease, a retry takes the id, and the slow handler then fails
// (Release) or finishes (Done) with its stale token. Neither may end the
// retry's claim, or a third delivery would run alongside the retry.
func testStaleToken(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	stale := acquire(t, a, id, shortLease)
	fresh := retake(t, b, id)
	require.NotEqual(t, stale, fresh, "a retaken claim has a new token")

	release(t, a, id, stale) // the slow handler failed after its lease
	require.Equal(t, alipay.ClaimInProgress, state(t, a, id, longLease), "a stale Release must not free the retry's claim")
	require.Equal(t, alipay.ClaimInProgress, state(t, b, id, longLease), "a stale Release must not free the retry's claim")

	err := a.Done(context.Background(), id, stale, doneTTL) // or it finished after its lease
	require.ErrorIs(t, err, alipay.ErrClaimLost, "a stale Done must say the claim passed on")
	require.Equal(t, alipay.ClaimInProgress, state(t, b, id, longLease), "a stale Done must not end the retry's claim")

	release(t, b, id, fresh) // the retry fails: Alipay's next retry runs fn
	done(t, a, id, acquire(t, a, id, longLease))
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, b, id, longLease))
}

// testForeignToken: a token of another id, or one never handed out, ends
// no claim.
func testForeignToken(t *testing.T, a, b alipay.DedupeStore) {
	x, y := newID(t, 1), newID(t, 2)
	tx := acquire(t, a, x, longLease)
	ty := acquire(t, b, y, longLease)
	release(t, a, x, ty)
	release(t, b, x, "0123456789abcdef0123456789abcdef")
	require.Equal(t, alipay.ClaimInProgress, state(t, b, x, longLease), "a foreign token frees nothing")
	require.ErrorIs(t, b.Done(context.Background(), x, ty, doneTTL), alipay.ErrClaimLost)
	require.Equal(t, alipay.ClaimInProgress, state(t, a, x, longLease), "a foreign token completes nothing")
	done(t, a, x, tx)
	release(t, b, y, ty)
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, b, x, longLease))
	assert.Equal(t, alipay.ClaimAcquired, state(t, a, y, longLease))
}

// testTokensDistinct: each claim of an id gets its own token.
func testTokensDistinct(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	seen := map[string]bool{}
	for i, s := range []alipay.DedupeStore{a, b, a, b} {
		token := acquire(t, s, id, longLease)
		require.False(t, seen[token], "claim %d reuses a token", i)
		seen[token] = true
		release(t, s, id, token)
	}
}

// claimAll runs Claim(id) from n goroutines, alternately on a and b,
// released together, and returns how many got each state; errors fail t.
func claimAll(t *testing.T, a, b alipay.DedupeStore, id string, n int) map[alipay.ClaimState]int {
	t.Helper()
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		states = make([]alipay.ClaimState, n)
		errs   = make([]error, n)
	)
	for i := 0; i < n; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			states[i], _, errs[i] = s.Claim(context.Background(), id, longLease)
		}()
	}
	close(start)
	wg.Wait()
	counts := make(map[alipay.ClaimState]int)
	for i := range states {
		require.NoError(t, errs[i], "concurrent Claim %d", i)
		counts[states[i]]++
	}
	return counts
}

func testConcurrentClaims(t *testing.T, a, b alipay.DedupeStore) {
	for round := 0; round < 5; round++ {
		id := newID(t, round)
		counts := claimAll(t, a, b, id, goroutines)
		require.Equal(t, map[alipay.ClaimState]int{alipay.ClaimAcquired: 1, alipay.ClaimInProgress: goroutines - 1}, counts,
			"round %d: exactly one acquired", round)
	}
}

func testConcurrentAfterDone(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	done(t, b, id, acquire(t, b, id, longLease))
	counts := claimAll(t, a, b, id, goroutines)
	assert.Equal(t, map[alipay.ClaimState]int{alipay.ClaimAlreadyDone: goroutines}, counts)
}

func testDistinctIDs(t *testing.T, a, b alipay.DedupeStore) {
	x, y, z := newID(t, 1), newID(t, 2), newID(t, 3)
	tx := acquire(t, a, x, longLease)
	ty := acquire(t, b, y, longLease) // another id is free while one is claimed
	done(t, a, x, tx)
	release(t, b, y, ty)
	assert.Equal(t, alipay.ClaimAcquired, state(t, a, z, longLease), "a third id is free")
	assert.Equal(t, alipay.ClaimAlreadyDone, state(t, b, x, longLease))
	assert.Equal(t, alipay.ClaimAcquired, state(t, a, y, longLease))
}
