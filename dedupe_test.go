package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	st, err := s.Claim(context.Background(), id, lease)
	require.NoError(t, err)
	return st
}

func TestMemoryDedupeStoreLifecycle(t *testing.T) {
	t.Parallel()
	clock := &dedupeClock{t: fixedTime}
	s := newMemoryDedupeStore(10, clock.now)
	ctx := context.Background()

	assert.Equal(t, Claimed, dedupeClaim(t, s, "a", time.Minute))
	assert.Equal(t, InProgress, dedupeClaim(t, s, "a", time.Minute))
	require.NoError(t, s.Release(ctx, "a"))
	assert.Equal(t, Claimed, dedupeClaim(t, s, "a", time.Minute), "released: retaken")

	clock.advance(time.Minute) // the holder crashed: its lease ends
	assert.Equal(t, Claimed, dedupeClaim(t, s, "a", time.Minute), "expired lease: retaken")

	require.NoError(t, s.Done(ctx, "a", time.Hour))
	assert.Equal(t, AlreadyDone, dedupeClaim(t, s, "a", time.Minute))
	require.NoError(t, s.Release(ctx, "a"))
	assert.Equal(t, AlreadyDone, dedupeClaim(t, s, "a", time.Minute), "release never forgets done")

	clock.advance(time.Hour - time.Nanosecond)
	assert.Equal(t, AlreadyDone, dedupeClaim(t, s, "a", time.Minute))
	clock.advance(time.Nanosecond)
	assert.Equal(t, Claimed, dedupeClaim(t, s, "a", time.Minute), "ttl over: forgotten")
}

func TestMemoryDedupeStoreBounded(t *testing.T) {
	t.Parallel()
	clock := &dedupeClock{t: fixedTime}
	s := newMemoryDedupeStore(100, clock.now)
	ctx := context.Background()
	for i := 0; i < 250; i++ {
		id := fmt.Sprint("n", i)
		require.Equal(t, Claimed, dedupeClaim(t, s, id, time.Minute))
		require.NoError(t, s.Done(ctx, id, time.Hour))
		clock.advance(time.Second)
		require.LessOrEqual(t, s.Len(), 100)
	}
	assert.Equal(t, 100, s.Len())
	assert.Equal(t, AlreadyDone, dedupeClaim(t, s, "n249", time.Minute), "newest kept")
	assert.Equal(t, AlreadyDone, dedupeClaim(t, s, "n150", time.Minute), "newest kept")
	assert.Equal(t, Claimed, dedupeClaim(t, s, "n0", time.Minute), "oldest evicted")

	clock.advance(2 * time.Hour)
	assert.Equal(t, Claimed, dedupeClaim(t, s, "fresh", time.Minute))
	assert.Equal(t, 1, s.Len(), "expired entries dropped")
}

func TestMemoryDedupeStoreDefaults(t *testing.T) {
	t.Parallel()
	s := NewMemoryDedupeStore(-1)
	assert.Equal(t, 0, s.Len())
	ctx := context.Background()
	_, err := s.Claim(ctx, "", time.Minute)
	assert.Error(t, err)
	_, err = s.Claim(ctx, "a", 0)
	assert.Error(t, err)
	assert.Error(t, s.Done(ctx, "", time.Hour))
	assert.Error(t, s.Done(ctx, "a", 0))
	assert.Error(t, s.Release(ctx, ""))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Claim(cancelled, "a", time.Minute)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "claimed", Claimed.String())
	assert.Equal(t, "already_done", AlreadyDone.String())
	assert.Equal(t, "in_progress", InProgress.String())
	assert.Equal(t, "invalid", ClaimState(0).String())
}

// scriptedDedupeStore is a DedupeStore whose answers a test sets.
type scriptedDedupeStore struct {
	mu                             sync.Mutex
	state                          ClaimState
	claimErr, doneErr, releaseErr  error
	claims, dones, releases        int
	lastLease, lastTTL             time.Duration
	claimDeadline, doneCtxCanceled bool
}

func (s *scriptedDedupeStore) Claim(ctx context.Context, id string, lease time.Duration) (ClaimState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	s.lastLease = lease
	_, s.claimDeadline = ctx.Deadline()
	return s.state, s.claimErr
}

func (s *scriptedDedupeStore) Done(ctx context.Context, id string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dones++
	s.lastTTL = ttl
	s.doneCtxCanceled = ctx.Err() != nil
	return s.doneErr
}

func (s *scriptedDedupeStore) Release(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releases++
	return s.releaseErr
}

func TestNotifyHandlerStoreOutcomes(t *testing.T) {
	t.Parallel()
	boom := errors.New("redis: connection refused")
	fnErr := errors.New("handler failed")
	cases := []struct {
		name                   string
		store                  *scriptedDedupeStore
		fnErr                  error
		status                 int
		ack                    string
		calls, dones, releases int
		log                    string
	}{
		{name: "claimed ok", store: &scriptedDedupeStore{state: Claimed}, status: http.StatusOK, ack: "success", calls: 1, dones: 1},
		{name: "already done", store: &scriptedDedupeStore{state: AlreadyDone}, status: http.StatusOK, ack: "success"},
		{name: "in progress", store: &scriptedDedupeStore{state: InProgress}, status: http.StatusConflict, ack: "fail"},
		{name: "claim error", store: &scriptedDedupeStore{claimErr: boom}, status: http.StatusServiceUnavailable, ack: "fail", log: "connection refused"},
		{name: "invalid state", store: &scriptedDedupeStore{state: 42}, status: http.StatusServiceUnavailable, ack: "fail", log: "invalid claim state"},
		{name: "done error still success", store: &scriptedDedupeStore{state: Claimed, doneErr: boom}, status: http.StatusOK, ack: "success",
			calls: 1, dones: 1, log: "not recorded as done"},
		{name: "fn error released", store: &scriptedDedupeStore{state: Claimed}, fnErr: fnErr, status: http.StatusInternalServerError, ack: "fail",
			calls: 1, releases: 1},
		{name: "release error", store: &scriptedDedupeStore{state: Claimed, releaseErr: boom}, fnErr: fnErr, status: http.StatusInternalServerError,
			ack: "fail", calls: 1, releases: 1, log: "ends with its lease"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := tc.store
			logger, logs := notifyDebugLogger()
			params := signNotification(t, testNotifySigner(t), fieldChangedParams(fmt.Sprint("20240520002621710130563075246090", i)))
			calls := 0
			var mu sync.Mutex
			srv := notifyServe(t, newNotifyClient(t, WithLogger(logger)).NotifyHandler(func(ctx context.Context, n *Notification) error {
				mu.Lock()
				defer mu.Unlock()
				calls++
				return tc.fnErr
			}, WithDedupeStore(store), WithNotifyLease(42*time.Second), WithNotifyMaxAge(2*time.Hour)))
			status, ack := notifyPost(t, srv, params.Encode())
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.ack, ack)
			mu.Lock()
			assert.Equal(t, tc.calls, calls, "fn calls")
			mu.Unlock()
			store.mu.Lock()
			defer store.mu.Unlock()
			assert.Equal(t, 1, store.claims)
			assert.Equal(t, 42*time.Second, store.lastLease)
			assert.True(t, store.claimDeadline, "store calls are bounded")
			assert.Equal(t, tc.dones, store.dones)
			assert.Equal(t, tc.releases, store.releases)
			if tc.dones > 0 {
				assert.Equal(t, 2*time.Hour+2*notifyClockSkew, store.lastTTL, "ttl outlives the window")
				assert.False(t, store.doneCtxCanceled)
			}
			if tc.log != "" {
				assert.Contains(t, logs.String(), tc.log)
			}
		})
	}
}

func TestNotifyHandlerMisconfigured(t *testing.T) {
	t.Parallel()
	params := signNotification(t, testNotifySigner(t), fieldChangedParams("2024052000262171013056307524610001"))
	for name, h := range map[string]func(*Client) http.Handler{
		"nil fn":     func(c *Client) http.Handler { return c.NotifyHandler(nil) },
		"bad option": func(c *Client) http.Handler { return c.NotifyHandler((&notifyRecorder{}).fn, WithNotifyMaxAge(-1)) },
		"nil option": func(c *Client) http.Handler { return c.NotifyHandler((&notifyRecorder{}).fn, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logger, logs := notifyDebugLogger()
			srv := notifyServe(t, h(newNotifyClient(t, WithLogger(logger))))
			status, ack := notifyPost(t, srv, params.Encode())
			assert.Equal(t, http.StatusInternalServerError, status)
			assert.Equal(t, "fail", ack)
			assert.Contains(t, logs.String(), `"level":"ERROR"`)
		})
	}
}
