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

func TestClaimDoneRelease(t *testing.T) {
	t.Parallel()
	s := New(10)
	assert.Equal(t, Claimed, s.Claim("a", t0, time.Minute))
	assert.Equal(t, InProgress, s.Claim("a", t0.Add(time.Second), time.Minute))
	s.Release("a", t0.Add(2*time.Second))
	assert.Equal(t, Claimed, s.Claim("a", t0.Add(3*time.Second), time.Minute), "released: retaken at once")
	s.Done("a", t0.Add(4*time.Second), time.Hour)
	assert.Equal(t, AlreadyDone, s.Claim("a", t0.Add(5*time.Second), time.Minute))
	s.Release("a", t0.Add(6*time.Second))
	assert.Equal(t, AlreadyDone, s.Claim("a", t0.Add(7*time.Second), time.Minute), "release never undoes done")
	assert.Equal(t, 1, s.Len())
}

func TestLeaseExpiry(t *testing.T) {
	t.Parallel()
	s := New(10)
	require.Equal(t, Claimed, s.Claim("a", t0, time.Minute))
	assert.Equal(t, InProgress, s.Claim("a", t0.Add(time.Minute-time.Nanosecond), time.Minute))
	assert.Equal(t, Claimed, s.Claim("a", t0.Add(time.Minute), time.Minute), "lease over: retaken")
	assert.Equal(t, InProgress, s.Claim("a", t0.Add(time.Minute+time.Second), time.Minute))
}

func TestDoneTTL(t *testing.T) {
	t.Parallel()
	s := New(10)
	require.Equal(t, Claimed, s.Claim("a", t0, time.Minute))
	s.Done("a", t0, time.Hour)
	assert.Equal(t, AlreadyDone, s.Claim("a", t0.Add(time.Hour-time.Nanosecond), time.Minute))
	assert.Equal(t, Claimed, s.Claim("a", t0.Add(time.Hour), time.Minute), "ttl over: forgotten")
}

func TestDoneWithoutClaim(t *testing.T) {
	t.Parallel()
	s := New(10)
	s.Done("a", t0, time.Hour)
	assert.Equal(t, AlreadyDone, s.Claim("a", t0, time.Minute))
}

func TestExpiredEntriesAreDropped(t *testing.T) {
	t.Parallel()
	s := New(100)
	for i := 0; i < 50; i++ {
		s.Done(fmt.Sprint(i), t0, time.Minute)
	}
	require.Equal(t, 50, s.Len())
	assert.Equal(t, Claimed, s.Claim("x", t0.Add(time.Minute), time.Minute))
	assert.Equal(t, 1, s.Len(), "every expired entry dropped by the next operation")
	assert.Zero(t, s.Evicted())
}

func TestBoundedEvictsExpiredFirstThenOldest(t *testing.T) {
	t.Parallel()
	s := New(3)
	s.Done("old", t0, time.Hour)
	s.Done("mid", t0.Add(time.Second), time.Hour)
	require.Equal(t, Claimed, s.Claim("short", t0.Add(2*time.Second), time.Second))
	// "short" has expired at t0+3s: it goes first, nothing live is evicted.
	s.Done("new1", t0.Add(3*time.Second), time.Hour)
	assert.Equal(t, 3, s.Len())
	assert.Zero(t, s.Evicted())
	// Full with live entries: the least recently written ("old") goes.
	s.Done("new2", t0.Add(4*time.Second), time.Hour)
	assert.Equal(t, 3, s.Len())
	assert.Equal(t, uint64(1), s.Evicted())
	now := t0.Add(5 * time.Second)
	assert.Equal(t, AlreadyDone, s.Claim("mid", now, time.Minute))
	assert.Equal(t, AlreadyDone, s.Claim("new1", now, time.Minute))
	assert.Equal(t, AlreadyDone, s.Claim("new2", now, time.Minute))
	assert.Equal(t, Claimed, s.Claim("old", now, time.Minute), "evicted: forgotten")
}

func TestRewriteRefreshesAge(t *testing.T) {
	t.Parallel()
	s := New(2)
	require.Equal(t, Claimed, s.Claim("a", t0, time.Minute))
	require.Equal(t, Claimed, s.Claim("b", t0, time.Minute))
	s.Done("a", t0.Add(time.Second), time.Hour) // a is now the newest
	require.Equal(t, Claimed, s.Claim("c", t0.Add(2*time.Second), time.Minute))
	now := t0.Add(3 * time.Second)
	assert.Equal(t, AlreadyDone, s.Claim("a", now, time.Minute))
	assert.Equal(t, InProgress, s.Claim("c", now, time.Minute))
}

func TestNewClampsLimit(t *testing.T) {
	t.Parallel()
	s := New(0)
	require.Equal(t, Claimed, s.Claim("a", t0, time.Minute))
	require.Equal(t, Claimed, s.Claim("b", t0, time.Minute))
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
			results <- s.Claim("same", t0, time.Minute)
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	claimed := 0
	for r := range results {
		if r == Claimed {
			claimed++
		} else {
			assert.Equal(t, InProgress, r)
		}
	}
	assert.Equal(t, 1, claimed)
}
