package redisstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/dedupetest"
	"github.com/isvkit/alipay/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// downStore returns a Store whose client points at a closed port, with a
// password that must appear in no error.
func downStore(t *testing.T) *redisstore.Store {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:        closedAddr(t),
		Password:    testPassword,
		MaxRetries:  -1,
		DialTimeout: time.Second,
	})
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	return redisstore.New(c)
}

// TestRedisDown: with Redis unreachable every operation fails with a
// wrapped error naming the operation and the id, and no password.
func TestRedisDown(t *testing.T) {
	s := downStore(t)
	ctx := context.Background()
	st, token, claimErr := s.Claim(ctx, "n1", time.Second)
	require.Error(t, claimErr)
	assert.Zero(t, st, "no state with an error")
	assert.Empty(t, token, "no token with an error")
	var opErr *net.OpError
	assert.True(t, errors.As(claimErr, &opErr), "the dial error is wrapped: %v", claimErr)
	doneErr := s.Done(ctx, "n1", "t1", time.Minute)
	releaseErr := s.Release(ctx, "n1", "t1")
	for prefix, err := range map[string]error{
		`redisstore: claim "n1": `:   claimErr,
		`redisstore: done "n1": `:    doneErr,
		`redisstore: release "n1": `: releaseErr,
	} {
		require.Error(t, err, prefix)
		assert.True(t, strings.HasPrefix(err.Error(), prefix), err.Error())
		assert.NotContains(t, err.Error(), testPassword)
	}
}

// TestRedisDownHandler: through the real notification handler, a Store
// whose Redis is unreachable makes every delivery answer fail, logged, and
// the user's function never runs (dedupetest.RunUnavailable).
func TestRedisDownHandler(t *testing.T) {
	dedupetest.RunUnavailable(t, func(t *testing.T) alipay.DedupeStore { return downStore(t) })
}

// TestInvalidUse: misuse fails with an error, never a panic, and never
// reaches Redis.
func TestInvalidUse(t *testing.T) {
	ctx := context.Background()
	s := downStore(t)
	for name, err := range map[string]error{
		"empty id":         func() error { _, _, err := s.Claim(ctx, "", time.Second); return err }(),
		"zero lease":       func() error { _, _, err := s.Claim(ctx, "x", 0); return err }(),
		"negative ttl":     s.Done(ctx, "x", "t", -time.Second),
		"done no token":    s.Done(ctx, "x", "", time.Second),
		"release no id":    s.Release(ctx, "", "t"),
		"release no token": s.Release(ctx, "x", ""),
		"nil client":       func() error { _, _, err := redisstore.New(nil).Claim(ctx, "x", time.Second); return err }(),
		"nil store":        (*redisstore.Store)(nil).Done(ctx, "x", "t", time.Second),
		"nil store (2)":    (*redisstore.Store)(nil).Release(ctx, "x", "t"),
	} {
		require.Error(t, err, name)
		assert.True(t, strings.HasPrefix(err.Error(), "redisstore: "), "%s: %v", name, err)
		var opErr *net.OpError
		assert.False(t, errors.As(err, &opErr), "%s: Redis was contacted: %v", name, err)
	}
	assert.Equal(t, redisstore.DefaultPrefix, s.Prefix())
	assert.Equal(t, "custom:", redisstore.New(nil, redisstore.WithPrefix("custom:"), nil).Prefix())
}
