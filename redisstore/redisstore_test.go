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

// claim calls s.Claim and requires no error.
func claim(t *testing.T, s *redisstore.Store, id string, lease time.Duration) (alipay.ClaimState, string) {
	t.Helper()
	st, token, err := s.Claim(context.Background(), id, lease)
	require.NoError(t, err, "Claim(%q)", id)
	return st, token
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

	st, token := claim(t, s, "n1", 10*time.Second)
	require.Equal(t, alipay.ClaimAcquired, st)
	assert.Regexp(t, `^[0-9a-f]{32}$`, token)
	v, err := c.Get(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, "claimed:"+token, v)
	ttl, err := c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.True(t, ttl > 5*time.Second && ttl <= 10*time.Second, "claim TTL %v is the lease", ttl)

	require.NoError(t, s.Done(ctx, "n1", token, time.Minute))
	v, err = c.Get(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, "done", v)
	ttl, err = c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.True(t, ttl > 50*time.Second && ttl <= time.Minute, "done TTL %v is the ttl", ttl)

	// A sub-millisecond lease is kept as 1 ms, not as "no TTL".
	st, _ = claim(t, s, "n2", time.Microsecond)
	require.Equal(t, alipay.ClaimAcquired, st)
	ttl, err = c.PTTL(ctx, s.Key("n2")).Result()
	require.NoError(t, err)
	assert.True(t, ttl == -2*time.Nanosecond || (ttl >= 0 && ttl <= time.Millisecond), "PTTL %v", ttl)

	// A foreign value under the prefix is never taken over.
	require.NoError(t, c.Set(ctx, s.Key("n3"), "something else", time.Minute).Err())
	st, token = claim(t, s, "n3", time.Second)
	assert.Equal(t, alipay.ClaimInProgress, st)
	assert.Empty(t, token)
	require.NoError(t, s.Release(ctx, "n3", "something else"))
	assert.ErrorIs(t, s.Done(ctx, "n3", "x", time.Minute), alipay.ErrClaimLost)
	assert.Equal(t, "something else", c.Get(ctx, s.Key("n3")).Val())
}

// TestReleaseOnlyOwnClaim: a Release never drops another claim, of this
// Store or another, and nobody's Release drops a "done".
func TestReleaseOnlyOwnClaim(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	prefix := uniquePrefix(t, c)
	a := redisstore.New(c, redisstore.WithPrefix(prefix))
	b := redisstore.New(c, redisstore.WithPrefix(prefix))

	st, tokA := claim(t, a, "id", time.Minute)
	require.Equal(t, alipay.ClaimAcquired, st)
	require.NoError(t, b.Release(ctx, "id", "0123456789abcdef0123456789abcdef"))
	require.NoError(t, a.Release(ctx, "id", "0123456789abcdef0123456789abcdef"))
	st, _ = claim(t, b, "id", time.Minute)
	require.Equal(t, alipay.ClaimInProgress, st, "a Release with another token left a's claim")

	require.NoError(t, b.Release(ctx, "id", tokA)) // the token, not the Store, owns the claim
	st, tokB := claim(t, b, "id", time.Minute)
	require.Equal(t, alipay.ClaimAcquired, st, "the claim was released")

	require.ErrorIs(t, a.Done(ctx, "id", tokA, time.Minute), alipay.ErrClaimLost, "a finished late")
	require.NoError(t, b.Done(ctx, "id", tokB, time.Minute))
	require.NoError(t, a.Release(ctx, "id", tokA))
	require.NoError(t, b.Release(ctx, "id", tokB))
	st, _ = claim(t, a, "id", time.Minute)
	assert.Equal(t, alipay.ClaimAlreadyDone, st)
}

// TestExpiredClaimCannotEndNewerClaim is the attack of issue 12 point 4
// against the real Redis: within one Store (one process), a handler whose
// lease expired releases or completes with its stale token while a retry
// holds the id; the retry's claim stays, so a third delivery is refused.
func TestExpiredClaimCannotEndNewerClaim(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	s := redisstore.New(c, redisstore.WithPrefix(uniquePrefix(t, c)))
	st, stale := claim(t, s, "id", 50*time.Millisecond)
	require.Equal(t, alipay.ClaimAcquired, st)
	var fresh string
	require.Eventually(t, func() bool {
		st, fresh = claim(t, s, "id", time.Minute)
		return st == alipay.ClaimAcquired
	}, 5*time.Second, 10*time.Millisecond, "the lease must end")
	require.NotEqual(t, stale, fresh)

	require.NoError(t, s.Release(ctx, "id", stale))
	st, _ = claim(t, s, "id", time.Minute)
	assert.Equal(t, alipay.ClaimInProgress, st, "a stale Release must not free the retry's claim")
	require.ErrorIs(t, s.Done(ctx, "id", stale, time.Minute), alipay.ErrClaimLost)
	st, _ = claim(t, s, "id", time.Minute)
	assert.Equal(t, alipay.ClaimInProgress, st, "a stale Done must not end the retry's claim")
	assert.Equal(t, "claimed:"+fresh, c.Get(ctx, s.Key("id")).Val())
}

// TestCancelledContext: Claim honours ctx; Done and Release still record.
func TestCancelledContext(t *testing.T) {
	c := redisClient(t)
	s := redisstore.New(c, redisstore.WithPrefix(uniquePrefix(t, c)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, _, err := s.Claim(ctx, "c1", time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(0), c.Exists(context.Background(), s.Key("c1")).Val(), "nothing claimed")

	st, token := claim(t, s, "c2", time.Minute)
	require.Equal(t, alipay.ClaimAcquired, st)
	require.NoError(t, s.Release(ctx, "c2", token))
	assert.Equal(t, int64(0), c.Exists(context.Background(), s.Key("c2")).Val(), "released despite ctx")

	st, token = claim(t, s, "c3", time.Minute)
	require.Equal(t, alipay.ClaimAcquired, st)
	require.NoError(t, s.Done(ctx, "c3", token, time.Minute))
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
	_, _, err := s.Claim(context.Background(), "p1", time.Second)
	require.Error(t, err, "Redis refuses AUTH for an unknown user")
	assert.True(t, strings.HasPrefix(err.Error(), `redisstore: claim "p1": `), err.Error())
	assert.NotContains(t, err.Error(), testPassword)
}
