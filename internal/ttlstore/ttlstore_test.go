package ttlstore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Unix(1716182055, 0)

// state is Claim without its token.
func state(s *Store, id string, now time.Time, lease time.Duration) State {
	st, _ := s.Claim(id, now, lease)
	return st
}

// claimed takes id and returns its token, failing t unless it was free.
func claimed(t *testing.T, s *Store, id string, now time.Time, lease time.Duration) string {
	t.Helper()
	st, token := s.Claim(id, now, lease)
	require.Equal(t, Claimed, st, "Claim(%q)", id)
	require.NotEmpty(t, token)
	return token
}

func TestClaimDoneRelease(t *testing.T) {
	t.Parallel()
	s := New(10)
	tok := claimed(t, s, "a", t0, time.Minute)
	st, other := s.Claim("a", t0.Add(time.Second), time.Minute)
	assert.Equal(t, InProgress, st)
	assert.Empty(t, other, "no token without a claim")
	s.Release("a", tok, t0.Add(2*time.Second))
	tok = claimed(t, s, "a", t0.Add(3*time.Second), time.Minute) // released: retaken at once
	assert.True(t, s.Done("a", tok, t0.Add(4*time.Second), time.Hour))
	assert.Equal(t, AlreadyDone, state(s, "a", t0.Add(5*time.Second), time.Minute))
	s.Release("a", tok, t0.Add(6*time.Second))
	assert.Equal(t, AlreadyDone, state(s, "a", t0.Add(7*time.Second), time.Minute), "release never undoes done")
	assert.Equal(t, 1, s.Len())
}

func TestTokensAreDistinct(t *testing.T) {
	t.Parallel()
	s := New(10)
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		tok := claimed(t, s, "a", t0, time.Minute)
		assert.False(t, seen[tok], "token %q handed out twice", tok)
		seen[tok] = true
		s.Release("a", tok, t0)
	}
	assert.False(t, seen[claimed(t, s, "b", t0, time.Minute)], "another id, another token")
}

// TestStaleOwnerCannotEndNewerClaim is the attack of a handler whose lease
// expired: its Release and Done must leave the claim of the handler that
// retook the id, so that a third Claim still sees it in progress.
func TestStaleOwnerCannotEndNewerClaim(t *testing.T) {
	t.Parallel()
	s := New(10)
	stale := claimed(t, s, "a", t0, time.Minute)
	fresh := claimed(t, s, "a", t0.Add(time.Minute), time.Minute) // lease over: retaken
	now := t0.Add(time.Minute + time.Second)
	s.Release("a", stale, now)
	assert.Equal(t, InProgress, state(s, "a", now, time.Minute), "a stale Release frees nothing")
	assert.False(t, s.Done("a", stale, now, time.Hour), "a stale Done completes nothing")
	assert.Equal(t, InProgress, state(s, "a", now, time.Minute), "a stale Done leaves the live claim")
	s.Release("a", "", now)
	s.Release("a", "bogus", now)
	assert.Equal(t, InProgress, state(s, "a", now, time.Minute), "an unknown token frees nothing")
	assert.True(t, s.Done("a", fresh, now, time.Hour))
	assert.Equal(t, AlreadyDone, state(s, "a", now, time.Minute))
}

func TestDoneAfterClaimEnded(t *testing.T) {
	t.Parallel()
	s := New(10)
	tok := claimed(t, s, "a", t0, time.Minute)
	// The lease ran out and nobody retook the id: the finished work counts.
	assert.True(t, s.Done("a", tok, t0.Add(2*time.Minute), time.Hour))
	assert.Equal(t, AlreadyDone, state(s, "a", t0.Add(3*time.Minute), time.Minute))
	// A second Done, stale or not, keeps the id done.
	assert.True(t, s.Done("a", "bogus", t0.Add(4*time.Minute), time.Hour))
	assert.Equal(t, AlreadyDone, state(s, "a", t0.Add(5*time.Minute), time.Minute))
}

func TestLeaseExpiry(t *testing.T) {
	t.Parallel()
	s := New(10)
	claimed(t, s, "a", t0, time.Minute)
	assert.Equal(t, InProgress, state(s, "a", t0.Add(time.Minute-time.Nanosecond), time.Minute))
	assert.Equal(t, Claimed, state(s, "a", t0.Add(time.Minute), time.Minute), "lease over: retaken")
	assert.Equal(t, InProgress, state(s, "a", t0.Add(time.Minute+time.Second), time.Minute))
}

func TestDoneTTL(t *testing.T) {
	t.Parallel()
	s := New(10)
	tok := claimed(t, s, "a", t0, time.Minute)
	s.Done("a", tok, t0, time.Hour)
	assert.Equal(t, AlreadyDone, state(s, "a", t0.Add(time.Hour-time.Nanosecond), time.Minute))
	assert.Equal(t, Claimed, state(s, "a", t0.Add(time.Hour), time.Minute), "ttl over: forgotten")
}

func TestExpiredEntriesAreDropped(t *testing.T) {
	t.Parallel()
	s := New(100)
	for i := 0; i < 50; i++ {
		id := fmt.Sprint(i)
		s.Done(id, claimed(t, s, id, t0, time.Minute), t0, time.Minute)
	}
	require.Equal(t, 50, s.Len())
	assert.Equal(t, Claimed, state(s, "x", t0.Add(time.Minute), time.Minute))
	assert.Equal(t, 1, s.Len(), "every expired entry dropped by the next operation")
	assert.Zero(t, s.Evicted())
}

// done claims id at now and marks it done for an hour.
func done(t *testing.T, s *Store, id string, now time.Time) {
	t.Helper()
	require.True(t, s.Done(id, claimed(t, s, id, now, time.Minute), now, time.Hour))
}

func TestBoundedEvictsExpiredFirstThenOldest(t *testing.T) {
	t.Parallel()
	s := New(3)
	done(t, s, "old", t0)
	done(t, s, "mid", t0.Add(time.Second))
	claimed(t, s, "short", t0.Add(2*time.Second), time.Second)
	// "short" has expired at t0+3s: it goes first, nothing live is evicted.
	done(t, s, "new1", t0.Add(3*time.Second))
	assert.Equal(t, 3, s.Len())
	assert.Zero(t, s.Evicted())
	// Full with live entries: the least recently written ("old") goes.
	done(t, s, "new2", t0.Add(4*time.Second))
	assert.Equal(t, 3, s.Len())
	assert.Equal(t, uint64(1), s.Evicted())
	now := t0.Add(5 * time.Second)
	assert.Equal(t, AlreadyDone, state(s, "mid", now, time.Minute))
	assert.Equal(t, AlreadyDone, state(s, "new1", now, time.Minute))
	assert.Equal(t, AlreadyDone, state(s, "new2", now, time.Minute))
	assert.Equal(t, Claimed, state(s, "old", now, time.Minute), "evicted: forgotten")
}

func TestRewriteRefreshesAge(t *testing.T) {
	t.Parallel()
	s := New(2)
	a := claimed(t, s, "a", t0, time.Minute)
	claimed(t, s, "b", t0, time.Minute)
	s.Done("a", a, t0.Add(time.Second), time.Hour) // a is now the newest
	claimed(t, s, "c", t0.Add(2*time.Second), time.Minute)
	now := t0.Add(3 * time.Second)
	assert.Equal(t, AlreadyDone, state(s, "a", now, time.Minute))
	assert.Equal(t, InProgress, state(s, "c", now, time.Minute))
}

func TestNewClampsLimit(t *testing.T) {
	t.Parallel()
	s := New(0)
	claimed(t, s, "a", t0, time.Minute)
	claimed(t, s, "b", t0, time.Minute)
	assert.Equal(t, 1, s.Len())
}

func TestConcurrentClaimsOneWinner(t *testing.T) {
	t.Parallel()
	s := New(1000)
	const n = 64
	var wg sync.WaitGroup
	results := make(chan State, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results <- state(s, "same", t0, time.Minute)
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	claims := 0
	for r := range results {
		if r == Claimed {
			claims++
		} else {
			assert.Equal(t, InProgress, r)
		}
	}
	assert.Equal(t, 1, claims)
}
