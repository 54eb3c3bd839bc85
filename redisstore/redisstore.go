// Package redisstore keeps what an ISV backend on several replicas must
// share in Redis: the merchant registry ([NewMerchantStore], an
// [alipay.MerchantStore] whose records are sealed with AES-256-GCM) and the
// dedupe store ([New], an [alipay.DedupeStore]) that makes each
// notification run once whichever replica Alipay delivers it to, and each
// authorization state single-use.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DialTimeout: 2 * time.Second,
//		ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: 1})
//	merchants, err := redisstore.NewMerchantStore(rdb,
//		redisstore.WithMerchantPrefix("myapp:prod:alipay:merchant:"),
//		redisstore.WithSealingKey("2025", sealingKey)) // 32 random bytes, the same on every replica
//	dedupe := redisstore.New(rdb, redisstore.WithPrefix("myapp:prod:alipay:dedupe:"))
//
//	gateway, err := isv.NewNotifyHandler(routes, // the app gateway (应用网关)
//		alipay.WithNotifyMerchantStore(merchants), alipay.WithDedupeStore(dedupe))
//	redirect, err := isv.AuthRedirectHandler(merchants, states, done, alipay.WithStateStore(dedupe))
//	m, err := isv.ForMerchant(ctx, merchants, merchantAppID) // per request
//
// [MerchantStore] describes the registry's keys and sealing; the rest of
// this page, the dedupe store's.
//
// # Keys
//
// Each notify_id (or state) is one key, the prefix ([DefaultPrefix] unless
// [WithPrefix] says otherwise) followed by the id. The key holds either
//
//   - "claimed:<token>" while a handler processes the notification, where
//     <token> is 32 random hex digits drawn for this claim and returned by
//     Claim; the key expires with the lease given to Claim, so the claim of
//     a handler that crashed (or hung past its lease) disappears and a retry
//     takes it; or
//   - "done" once the handler succeeded; the key expires with the ttl given
//     to Done.
//
// No key lives without a TTL. The prefix should belong to this store alone:
// a key under it holding any other value is reported as
// [alipay.ClaimInProgress] until it expires or is deleted.
//
// # Operations
//
// Each operation is one Lua script, atomic across every replica sharing the
// Redis (a single key, so Redis Cluster works too).
//
// Claim: an absent key is set to "claimed:<token>" with the lease
// ([alipay.ClaimAcquired], and the token is returned); "done" gives
// [alipay.ClaimAlreadyDone]; anything else (a live claim) gives
// [alipay.ClaimInProgress].
//
// Done: if the key holds this claim, or is absent (the lease ran out and
// nobody took the id since), it is set to "done" with the ttl: the work
// happened, so it is recorded. "done" stays as it is. Another claim is left
// alone and Done returns an error wrapping [alipay.ErrClaimLost]: a handler
// that outlived its lease cannot complete the claim of the retry that took
// the id after it; the retry's own Done or Release decides.
//
// Release deletes the key only if it still holds this claim (a
// compare-and-delete): a "done", another claim (of this process or another
// replica) or an absent key is left alone. So a handler whose lease expired
// cannot free a retry's live claim and let a third delivery run alongside
// it.
//
// Done and Release run even when ctx is already cancelled (a client that
// hung up must not lose the record of finished work); the go-redis client's
// own timeouts bound them.
//
// # When Redis fails
//
// Every Redis error (unreachable server, timeout, authentication, script
// error) is returned wrapped, starting "redisstore:" and naming the
// operation and the notify_id; it never contains the password, which
// go-redis does not put in its errors. The notification handler treats a
// Claim error as "not claimed": it answers fail, so Alipay delivers the
// notification again later, logs the error through slog, and does not call
// your function. It never answers success for a notification no function
// call completed. While Redis is down, notifications therefore wait,
// unprocessed, for Alipay's next retry; one that still fails when Alipay
// stops retrying (about a day for trade notifications; the message
// service's schedule is unpublished) is not delivered again. A Done error
// after your function succeeded is logged and answered success (the work
// is done; the claim expires after the lease, and a later duplicate may
// then run again).
//
// Give the client short timeouts (DialTimeout, ReadTimeout, WriteTimeout,
// and MaxRetries) so that a handler answers fail quickly while Redis is down
// rather than holding Alipay's connection open (the handler itself gives
// each store call at most 10 s).
//
// The records are only as durable as the Redis: a restart without
// persistence, or a failover that loses recent writes, forgets "done" ids,
// and a later duplicate of one is processed again. Delivery is at least
// once either way; keep the user's function idempotent.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/isvkit/alipay"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix of a Store built without [WithPrefix].
const DefaultPrefix = "alipay:notify:"

// Values held by a key.
const (
	doneValue    = "done"
	claimedValue = "claimed:"
)

// Results of claimScript.
const (
	claimTaken      = 1
	claimDone       = 2
	claimInProgress = 3
)

// claimScript takes KEYS[1] with value ARGV[1] for ARGV[2] milliseconds if
// it is absent, and otherwise reports whether it is done or claimed.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == 'done' then
  return 2
end
return 3
`)

// doneScript sets KEYS[1] to "done" for ARGV[2] milliseconds if it holds the
// claim ARGV[1] or is absent, and returns 1; a "done" stays and returns 1;
// any other value stays and returns 0.
var doneScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == 'done' then
  return 1
end
if v and v ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
return 1
`)

// releaseScript deletes KEYS[1] if it holds ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// errArgs reports a call with an empty id or token, or a non-positive
// duration.
var errArgs = errors.New("redisstore: empty id or token, or non-positive duration")

// Store is an [alipay.DedupeStore] in Redis. It is safe for concurrent use;
// any number of Stores, in any number of processes, may share one Redis and
// prefix. Build it with [New].
type Store struct {
	client redis.UniversalClient
	prefix string
}

var _ alipay.DedupeStore = (*Store)(nil)

// Option configures a [Store].
type Option func(*options)

// options are what the Options collect.
type options struct {
	prefix string
}

// WithPrefix sets the prefix of every key (default [DefaultPrefix]). Use one
// per application and environment, shared by all its replicas, e.g.
// "myapp:prod:alipay:notify:".
func WithPrefix(prefix string) Option {
	return func(o *options) { o.prefix = prefix }
}

// New returns a Store that keeps notify_ids in Redis through client (a
// *redis.Client, *redis.ClusterClient or *redis.Ring; the caller keeps
// ownership and closes it). It does not contact Redis: the first Claim does.
func New(client redis.UniversalClient, opts ...Option) *Store {
	o := options{prefix: DefaultPrefix}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return &Store{client: client, prefix: o.prefix}
}

// Prefix returns the key prefix.
func (s *Store) Prefix() string { return s.prefix }

// Key returns the Redis key that holds id.
func (s *Store) Key(id string) string { return s.prefix + id }

// ready reports why s cannot be used, if it cannot.
func (s *Store) ready() error {
	if s == nil || s.client == nil {
		return errors.New("redisstore: Store has no Redis client (use New with a non-nil client)")
	}
	return nil
}

// newToken draws the token of a claim: 16 random bytes in hex.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("redisstore: drawing a claim token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Claim takes id for lease unless it is done or claimed by a live lease
// (see the package doc); with [alipay.ClaimAcquired] it returns the claim's
// token. Leases are kept in whole milliseconds, at least 1. An error means
// nothing was claimed: the caller must not process id.
func (s *Store) Claim(ctx context.Context, id string, lease time.Duration) (alipay.ClaimState, string, error) {
	if err := s.ready(); err != nil {
		return 0, "", err
	}
	if id == "" || lease <= 0 {
		return 0, "", errArgs
	}
	token, err := newToken()
	if err != nil {
		return 0, "", err
	}
	res, err := claimScript.Run(ctx, s.client, []string{s.Key(id)}, claimedValue+token, millis(lease)).Int()
	if err != nil {
		return 0, "", fmt.Errorf("redisstore: claim %q: %w", id, err)
	}
	switch res {
	case claimTaken:
		return alipay.ClaimAcquired, token, nil
	case claimDone:
		return alipay.ClaimAlreadyDone, "", nil
	case claimInProgress:
		return alipay.ClaimInProgress, "", nil
	default:
		return 0, "", fmt.Errorf("redisstore: claim %q: unexpected script result %d", id, res)
	}
}

// Done records id as processed for ttl (whole milliseconds, at least 1) and
// ends the claim of token; while another claim holds id it changes nothing
// and returns an error wrapping [alipay.ErrClaimLost] (see the package
// doc). ctx's cancellation is ignored.
func (s *Store) Done(ctx context.Context, id, token string, ttl time.Duration) error {
	if err := s.ready(); err != nil {
		return err
	}
	if id == "" || token == "" || ttl <= 0 {
		return errArgs
	}
	ctx = context.WithoutCancel(ctx)
	res, err := doneScript.Run(ctx, s.client, []string{s.Key(id)}, claimedValue+token, millis(ttl)).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: done %q: %w", id, err)
	case res != 1:
		return fmt.Errorf("redisstore: done %q: %w", id, alipay.ErrClaimLost)
	}
	return nil
}

// Release deletes the claim of token on id, so that Alipay's retry can take
// it at once; a "done", another claim or an absent key stays as it is. ctx's
// cancellation is ignored (see the package doc).
func (s *Store) Release(ctx context.Context, id, token string) error {
	if err := s.ready(); err != nil {
		return err
	}
	if id == "" || token == "" {
		return errArgs
	}
	ctx = context.WithoutCancel(ctx)
	if err := releaseScript.Run(ctx, s.client, []string{s.Key(id)}, claimedValue+token).Err(); err != nil {
		return fmt.Errorf("redisstore: release %q: %w", id, err)
	}
	return nil
}

// millis returns d in whole milliseconds, rounded up, at least 1.
func millis(d time.Duration) int64 {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	if ms < 1 {
		ms = 1
	}
	return ms
}
