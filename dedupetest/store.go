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
		{"DoneAfterLeaseExpiredKept", testDoneAfterExpiry},
		{"ConcurrentClaimsOneWinner", testConcurrentClaims},
		{"ConcurrentClaimsAfterDone", testConcurrentAfterDone},
		{"DistinctIDsIndependent", testDistinctIDs},
	}
}

// claim calls Claim and requires no error.
func claim(t *testing.T, s alipay.DedupeStore, id string, lease time.Duration) alipay.ClaimState {
	t.Helper()
	st, err := s.Claim(context.Background(), id, lease)
	require.NoError(t, err, "Claim(%q)", id)
	return st
}

// done calls Done and requires no error.
func done(t *testing.T, s alipay.DedupeStore, id string) {
	t.Helper()
	require.NoError(t, s.Done(context.Background(), id, doneTTL), "Done(%q)", id)
}

// release calls Release and requires no error.
func release(t *testing.T, s alipay.DedupeStore, id string) {
	t.Helper()
	require.NoError(t, s.Release(context.Background(), id), "Release(%q)", id)
}

// newID returns a fresh random notify_id (n helps tell a test's ids apart).
func newID(t *testing.T, n int) string {
	t.Helper()
	var b [12]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return fmt.Sprintf("dedupetest-%d-%s", n, hex.EncodeToString(b[:]))
}

func testFirstDelivery(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	require.Equal(t, alipay.Claimed, claim(t, a, id, longLease), "first delivery")
	done(t, a, id)
	assert.Equal(t, alipay.AlreadyDone, claim(t, b, id, longLease), "after Done, other replica")
	assert.Equal(t, alipay.AlreadyDone, claim(t, a, id, longLease), "after Done, same replica")
}

func testDuplicatesAfterDone(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	require.Equal(t, alipay.Claimed, claim(t, a, id, longLease))
	done(t, a, id)
	for i, s := range []alipay.DedupeStore{a, b, a, b} {
		require.Equal(t, alipay.AlreadyDone, claim(t, s, id, longLease), "duplicate %d", i)
	}
	// A Release (by a failed duplicate, say) never forgets a processed id.
	release(t, b, id)
	release(t, a, id)
	assert.Equal(t, alipay.AlreadyDone, claim(t, b, id, longLease), "after Release of a done id")
}

func testLiveClaim(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	require.Equal(t, alipay.Claimed, claim(t, a, id, longLease))
	require.Equal(t, alipay.InProgress, claim(t, b, id, longLease), "other replica while claimed")
	require.Equal(t, alipay.InProgress, claim(t, a, id, longLease), "same replica while claimed")
	done(t, a, id)
	assert.Equal(t, alipay.AlreadyDone, claim(t, b, id, longLease))
}

func testRelease(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	require.Equal(t, alipay.Claimed, claim(t, a, id, longLease))
	release(t, a, id) // the handler failed
	require.Equal(t, alipay.Claimed, claim(t, b, id, longLease), "Alipay's retry after a failure")
	require.Equal(t, alipay.InProgress, claim(t, a, id, longLease), "the retry holds it")
	release(t, b, id) // failed again
	require.Equal(t, alipay.Claimed, claim(t, a, id, longLease), "second retry")
	done(t, a, id)
	assert.Equal(t, alipay.AlreadyDone, claim(t, b, id, longLease))
}

// awaitExpiry polls s.Claim(id) while it answers InProgress and returns its
// first other answer.
func awaitExpiry(t *testing.T, s alipay.DedupeStore, id string) alipay.ClaimState {
	t.Helper()
	var (
		st  alipay.ClaimState
		err error
	)
	require.Eventually(t, func() bool {
		st, err = s.Claim(context.Background(), id, longLease)
		return err != nil || st != alipay.InProgress
	}, waitFor, pollEvery, "Claim(%q) still InProgress after %v", id, waitFor)
	require.NoError(t, err, "Claim(%q)", id)
	return st
}

func testExpiredLease(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	require.Equal(t, alipay.Claimed, claim(t, a, id, shortLease)) // then a's handler crashes
	require.Equal(t, alipay.InProgress, claim(t, b, id, longLease), "lease still live")
	require.Equal(t, alipay.Claimed, awaitExpiry(t, b, id), "an expired lease must be retaken")
	require.Equal(t, alipay.InProgress, claim(t, a, id, longLease), "the retake holds it")
	done(t, b, id)
	assert.Equal(t, alipay.AlreadyDone, claim(t, a, id, longLease))
}

// testDoneAfterExpiry: a slow handler outlives its lease, a retry retakes
// the claim, the slow handler finishes (Done) and the retry fails
// (Release): the id stays processed.
func testDoneAfterExpiry(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	require.Equal(t, alipay.Claimed, claim(t, a, id, shortLease))
	require.Equal(t, alipay.Claimed, awaitExpiry(t, b, id), "an expired lease must be retaken")
	done(t, a, id)    // the slow first handler
	release(t, b, id) // the retry fails
	assert.Equal(t, alipay.AlreadyDone, claim(t, b, id, longLease), "a Done is never lost")
	assert.Equal(t, alipay.AlreadyDone, claim(t, a, id, longLease), "a Done is never lost")
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
			states[i], errs[i] = s.Claim(context.Background(), id, longLease)
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
		require.Equal(t, map[alipay.ClaimState]int{alipay.Claimed: 1, alipay.InProgress: goroutines - 1}, counts,
			"round %d: exactly one Claimed", round)
	}
}

func testConcurrentAfterDone(t *testing.T, a, b alipay.DedupeStore) {
	id := newID(t, 0)
	require.Equal(t, alipay.Claimed, claim(t, b, id, longLease))
	done(t, b, id)
	counts := claimAll(t, a, b, id, goroutines)
	assert.Equal(t, map[alipay.ClaimState]int{alipay.AlreadyDone: goroutines}, counts)
}

func testDistinctIDs(t *testing.T, a, b alipay.DedupeStore) {
	x, y, z := newID(t, 1), newID(t, 2), newID(t, 3)
	require.Equal(t, alipay.Claimed, claim(t, a, x, longLease))
	require.Equal(t, alipay.Claimed, claim(t, b, y, longLease), "another id is free while one is claimed")
	done(t, a, x)
	release(t, b, y)
	assert.Equal(t, alipay.Claimed, claim(t, a, z, longLease), "a third id is free")
	assert.Equal(t, alipay.AlreadyDone, claim(t, b, x, longLease))
	assert.Equal(t, alipay.Claimed, claim(t, a, y, longLease))
}
