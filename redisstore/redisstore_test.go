package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
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

// addrEnv names the variable holding the address of the Redis the tests
// use; .ci/run starts one and sets it.
const addrEnv = "ALIPAY_TEST_REDIS_ADDR"

// skipMessage is what a test without Redis says; .ci/run looks for it.
const skipMessage = "set " + addrEnv + " to run the Redis contract tests"

// testPassword is a password the tests give a client; it must appear in no
// error.
const testPassword = "hunter2-redis-test-password"

// redisClient returns a client of the Redis at $ALIPAY_TEST_REDIS_ADDR,
// closed at the end of the test. Without the variable the test is skipped,
// except in CI (CI=true), where it fails: CI must run these tests.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	addr := os.Getenv(addrEnv)
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is unset in CI: the Redis tests must run there (.ci/run starts redis-server)", addrEnv)
		}
		t.Skip(skipMessage)
	}
	c := redis.NewClient(&redis.Options{
		Addr:         addr,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
	})
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	require.NoError(t, c.Ping(context.Background()).Err(), "Redis at %s (from %s) must answer PING", addr, addrEnv)
	return c
}

// uniquePrefix returns a key prefix no other test or run uses, and deletes
// its keys at the end of the test.
func uniquePrefix(t *testing.T, c redis.UniversalClient) string {
	t.Helper()
	var b [8]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	prefix := "alipaytest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			assert.NoError(t, c.Del(ctx, iter.Val()).Err())
		}
		assert.NoError(t, iter.Err())
	})
	return prefix
}

// TestContract runs the contract suite of every DedupeStore against Redis.
func TestContract(t *testing.T) {
	c := redisClient(t)
	dedupetest.Run(t, func(t *testing.T) alipay.DedupeStore {
		return redisstore.New(c, redisstore.WithPrefix(uniquePrefix(t, c)))
	})
}

// TestContractReplicas runs the suite's replica cases with two Stores (two
// processes' worth: distinct claim tokens) sharing one Redis and prefix.
func TestContractReplicas(t *testing.T) {
	c := redisClient(t)
	dedupetest.RunReplicas(t, func(t *testing.T) (alipay.DedupeStore, alipay.DedupeStore) {
		prefix := uniquePrefix(t, c)
		return redisstore.New(c, redisstore.WithPrefix(prefix)), redisstore.New(c, redisstore.WithPrefix(prefix))
	})
}

// TestKeys checks the values and TTLs of the keys against the package doc.
func TestKeys(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	prefix := uniquePrefix(t, c)
	s := redisstore.New(c, redisstore.WithPrefix(prefix))
	assert.Equal(t, prefix, s.Prefix())
	key := s.Key("n1")
	require.Equal(t, prefix+"n1", key)

	st, err := s.Claim(ctx, "n1", 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, alipay.Claimed, st)
	v, err := c.Get(ctx, key).Result()
	require.NoError(t, err)
	assert.Regexp(t, `^claimed:[0-9a-f]{32}$`, v)
	ttl, err := c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.True(t, ttl > 5*time.Second && ttl <= 10*time.Second, "claim TTL %v is the lease", ttl)

	require.NoError(t, s.Done(ctx, "n1", time.Minute))
	v, err = c.Get(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, "done", v)
	ttl, err = c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.True(t, ttl > 50*time.Second && ttl <= time.Minute, "done TTL %v is the ttl", ttl)

	// A sub-millisecond lease is kept as 1 ms, not as "no TTL".
	st, err = s.Claim(ctx, "n2", time.Microsecond)
	require.NoError(t, err)
	require.Equal(t, alipay.Claimed, st)
	ttl, err = c.PTTL(ctx, s.Key("n2")).Result()
	require.NoError(t, err)
	assert.True(t, ttl == -2*time.Nanosecond || (ttl >= 0 && ttl <= time.Millisecond), "PTTL %v", ttl)

	// A foreign value under the prefix is never taken over.
	require.NoError(t, c.Set(ctx, s.Key("n3"), "something else", time.Minute).Err())
	st, err = s.Claim(ctx, "n3", time.Second)
	require.NoError(t, err)
	assert.Equal(t, alipay.InProgress, st)
	require.NoError(t, s.Release(ctx, "n3"))
	assert.Equal(t, "something else", c.Get(ctx, s.Key("n3")).Val())
}

// TestReleaseOnlyOwnClaim: a replica's Release never drops another
// replica's live claim, and nobody's Release drops a "done".
func TestReleaseOnlyOwnClaim(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	prefix := uniquePrefix(t, c)
	a := redisstore.New(c, redisstore.WithPrefix(prefix))
	b := redisstore.New(c, redisstore.WithPrefix(prefix))

	st, err := a.Claim(ctx, "id", time.Minute)
	require.NoError(t, err)
	require.Equal(t, alipay.Claimed, st)
	require.NoError(t, b.Release(ctx, "id"))
	st, err = b.Claim(ctx, "id", time.Minute)
	require.NoError(t, err)
	require.Equal(t, alipay.InProgress, st, "b's Release left a's claim")

	require.NoError(t, a.Release(ctx, "id"))
	st, err = b.Claim(ctx, "id", time.Minute)
	require.NoError(t, err)
	require.Equal(t, alipay.Claimed, st, "a released its claim")

	require.NoError(t, a.Done(ctx, "id", time.Minute)) // a finished late
	require.NoError(t, b.Release(ctx, "id"))
	st, err = a.Claim(ctx, "id", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, alipay.AlreadyDone, st)
}

// TestCancelledContext: Claim honours ctx; Done and Release still record.
func TestCancelledContext(t *testing.T) {
	c := redisClient(t)
	s := redisstore.New(c, redisstore.WithPrefix(uniquePrefix(t, c)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := s.Claim(ctx, "c1", time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(0), c.Exists(context.Background(), s.Key("c1")).Val(), "nothing claimed")

	st, err := s.Claim(context.Background(), "c2", time.Minute)
	require.NoError(t, err)
	require.Equal(t, alipay.Claimed, st)
	require.NoError(t, s.Release(ctx, "c2"))
	assert.Equal(t, int64(0), c.Exists(context.Background(), s.Key("c2")).Val(), "released despite ctx")

	require.NoError(t, s.Done(ctx, "c3", time.Minute))
	assert.Equal(t, "done", c.Get(context.Background(), s.Key("c3")).Val(), "done despite ctx")
}

// TestPasswordNotInErrors: a client whose credentials Redis refuses fails
// Claim with an error that does not contain the password.
func TestPasswordNotInErrors(t *testing.T) {
	good := redisClient(t)
	bad := redis.NewClient(&redis.Options{
		Addr:       good.Options().Addr,
		Username:   "dedupetest-no-such-user",
		Password:   testPassword,
		MaxRetries: -1,
	})
	t.Cleanup(func() { assert.NoError(t, bad.Close()) })
	s := redisstore.New(bad, redisstore.WithPrefix(uniquePrefix(t, good)))
	_, err := s.Claim(context.Background(), "p1", time.Second)
	require.Error(t, err, "Redis refuses AUTH for an unknown user")
	assert.True(t, strings.HasPrefix(err.Error(), `redisstore: claim "p1": `), err.Error())
	assert.NotContains(t, err.Error(), testPassword)
}
