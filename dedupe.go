package alipay

import (
	"context"
	"errors"
	"time"

	"github.com/isvkit/alipay/internal/ttlstore"
)

// ClaimState is the answer of [DedupeStore.Claim].
type ClaimState int

const (
	// Claimed: the caller now holds the notification for at most the lease and
	// must call Done or Release.
	Claimed ClaimState = iota + 1
	// AlreadyDone: the notification was processed before; answer success
	// without processing it again.
	AlreadyDone
	// InProgress: another handler (another goroutine or replica) holds a live
	// claim; answer fail so that Alipay delivers it again later.
	InProgress
)

// String names the state.
func (s ClaimState) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case AlreadyDone:
		return "already_done"
	case InProgress:
		return "in_progress"
	default:
		return "invalid"
	}
}

// DedupeStore remembers notify_ids so that a notification delivered more than
// once (Alipay delivers at least once) reaches the user's function once.
// It distinguishes "processed" from "claimed": a claim whose handler failed is
// released and retaken on Alipay's retry, and a claim whose handler crashed
// expires after its lease. Implementations must be safe for concurrent use
// and atomic across every handler sharing them.
//
// The handler of [Client.NotifyHandler] uses a store like this, for every
// verified notification:
//
//	Claim(id, lease) → AlreadyDone: answer success, do not call the function
//	                 → InProgress:  answer fail (Alipay retries later)
//	                 → error:       answer fail, do not call the function
//	                 → Claimed:     call the function, then
//	                      nil   → Done(id, ttl), answer success (a Done error
//	                              is logged; the work is done, so still success)
//	                      error → Release(id), answer fail (Alipay retries and
//	                              the retry claims id again)
//
// The handler never calls the function without a claim and never answers
// success for a notification that no function call completed. A store
// shared by several replicas (Redis, a database) must make Claim atomic:
// "set if absent or expired, else report which state is live". The ids are
// notify_ids as received, at most a few dozen bytes; implementations may
// add a prefix of their own.
type DedupeStore interface {
	// Claim tries to take id for processing for at most lease.
	Claim(ctx context.Context, id string, lease time.Duration) (ClaimState, error)
	// Done marks id processed; it is remembered for ttl.
	Done(ctx context.Context, id string, ttl time.Duration) error
	// Release gives up a claim after the handler failed, so that a retry can
	// take it at once.
	Release(ctx context.Context, id string) error
}

// DefaultDedupeEntries is the capacity of [NewMemoryDedupeStore] when it is
// given a non-positive size: 100k notify_ids, about 20 MB of heap when full
// (measured with 34-byte ids).
const DefaultDedupeEntries = 100_000

// MemoryDedupeStore is the default [DedupeStore]: a bounded in-memory table
// that protects one process. Expired claims and done ids are dropped as time
// passes; when the table is full of live ids, the one written least recently
// is evicted, so a replay of a message older than the last maxEntries ones
// may be processed again. Several replicas need a shared store instead
// (Redis, a database). It is safe for concurrent use.
type MemoryDedupeStore struct {
	table *ttlstore.Store
	now   func() time.Time
}

// NewMemoryDedupeStore returns an empty store holding at most maxEntries
// notify_ids ([DefaultDedupeEntries] when maxEntries ≤ 0).
func NewMemoryDedupeStore(maxEntries int) *MemoryDedupeStore {
	return newMemoryDedupeStore(maxEntries, time.Now)
}

// newMemoryDedupeStore is NewMemoryDedupeStore with a clock for tests.
func newMemoryDedupeStore(maxEntries int, now func() time.Time) *MemoryDedupeStore {
	if maxEntries <= 0 {
		maxEntries = DefaultDedupeEntries
	}
	return &MemoryDedupeStore{table: ttlstore.New(maxEntries), now: now}
}

// errDedupeArgs reports a call with an empty id or a non-positive duration.
var errDedupeArgs = errors.New("alipay: dedupe store: empty id or non-positive duration")

// Claim takes id for lease, unless it is done or claimed by a live lease.
// It fails only for a done ctx, an empty id or a non-positive lease.
func (m *MemoryDedupeStore) Claim(ctx context.Context, id string, lease time.Duration) (ClaimState, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if id == "" || lease <= 0 {
		return 0, errDedupeArgs
	}
	switch m.table.Claim(id, m.now(), lease) {
	case ttlstore.Claimed:
		return Claimed, nil
	case ttlstore.AlreadyDone:
		return AlreadyDone, nil
	default:
		return InProgress, nil
	}
}

// Done marks id processed for ttl. It ignores ctx: the work is done and
// recording it cannot block.
func (m *MemoryDedupeStore) Done(_ context.Context, id string, ttl time.Duration) error {
	if id == "" || ttl <= 0 {
		return errDedupeArgs
	}
	m.table.Done(id, m.now(), ttl)
	return nil
}

// Release drops a live claim on id; a processed id stays processed.
func (m *MemoryDedupeStore) Release(_ context.Context, id string) error {
	if id == "" {
		return errDedupeArgs
	}
	m.table.Release(id, m.now())
	return nil
}

// Len returns the number of notify_ids held (claimed or done).
func (m *MemoryDedupeStore) Len() int { return m.table.Len() }
