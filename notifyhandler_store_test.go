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
)

// scriptedDedupeStore is a DedupeStore whose answers a test sets. A
// ClaimAcquired answer comes with the token "tok-1" unless token is set.
type scriptedDedupeStore struct {
	mu                             sync.Mutex
	state                          ClaimState
	token                          string
	claimErr, doneErr, releaseErr  error
	claims, dones, releases        int
	lastLease, lastTTL             time.Duration
	tokens                         []string // tokens given to Done and Release
	claimDeadline, doneCtxCanceled bool
}

func (s *scriptedDedupeStore) Claim(ctx context.Context, id string, lease time.Duration) (ClaimState, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	s.lastLease = lease
	_, s.claimDeadline = ctx.Deadline()
	token := s.token
	if token == "" && s.state == ClaimAcquired {
		token = "tok-1"
	}
	if token == "-" {
		token = ""
	}
	return s.state, token, s.claimErr
}

func (s *scriptedDedupeStore) Done(ctx context.Context, id, token string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dones++
	s.lastTTL = ttl
	s.tokens = append(s.tokens, token)
	s.doneCtxCanceled = ctx.Err() != nil
	return s.doneErr
}

func (s *scriptedDedupeStore) Release(ctx context.Context, id, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releases++
	s.tokens = append(s.tokens, token)
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
		{name: "claimed ok", store: &scriptedDedupeStore{state: ClaimAcquired}, status: http.StatusOK, ack: "success", calls: 1, dones: 1},
		{name: "already done", store: &scriptedDedupeStore{state: ClaimAlreadyDone}, status: http.StatusOK, ack: "success"},
		{name: "in progress", store: &scriptedDedupeStore{state: ClaimInProgress}, status: http.StatusConflict, ack: "fail"},
		{name: "claim error", store: &scriptedDedupeStore{claimErr: boom}, status: http.StatusServiceUnavailable, ack: "fail", log: "connection refused"},
		{name: "invalid state", store: &scriptedDedupeStore{state: 42}, status: http.StatusServiceUnavailable, ack: "fail", log: "invalid claim: state invalid"},
		{name: "acquired without token", store: &scriptedDedupeStore{state: ClaimAcquired, token: "-"}, status: http.StatusServiceUnavailable,
			ack: "fail", log: "invalid claim: state acquired, token false"},
		{name: "done error still success", store: &scriptedDedupeStore{state: ClaimAcquired, doneErr: boom}, status: http.StatusOK, ack: "success",
			calls: 1, dones: 1, log: "not recorded as done"},
		{name: "claim lost still success", store: &scriptedDedupeStore{state: ClaimAcquired, doneErr: fmt.Errorf("store: %w", ErrClaimLost)},
			status: http.StatusOK, ack: "success", calls: 1, dones: 1, log: "another delivery holds it now"},
		{name: "fn error released", store: &scriptedDedupeStore{state: ClaimAcquired, token: "tok-9"}, fnErr: fnErr, status: http.StatusInternalServerError, ack: "fail",
			calls: 1, releases: 1},
		{name: "release error", store: &scriptedDedupeStore{state: ClaimAcquired, releaseErr: boom}, fnErr: fnErr, status: http.StatusInternalServerError,
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
			want := store.token
			if want == "" {
				want = "tok-1"
			}
			for _, tok := range store.tokens {
				assert.Equal(t, want, tok, "Done and Release get the claim's token")
			}
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
