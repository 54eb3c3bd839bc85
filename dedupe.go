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
	// ClaimAcquired: the caller now owns the claim on the notify_id, for at
	// most the lease, and must end it with Done or Release and its token.
	ClaimAcquired ClaimState = iota + 1
	// ClaimAlreadyDone: the notification was processed before; answer
	// success without processing it again.
	ClaimAlreadyDone
	// ClaimInProgress: another handler (another goroutine or replica) holds
	// a live claim; answer fail so that Alipay delivers it again later.
	ClaimInProgress
)

// String names the state.
func (s ClaimState) String() string {
	switch s {
	case ClaimAcquired:
		return "acquired"
	case ClaimAlreadyDone:
		return "already_done"
	case ClaimInProgress:
		return "in_progress"
	default:
		return "invalid"
	}
}

// ErrClaimLost is returned (possibly wrapped) by [DedupeStore.Done] when the
// claim of the token ended (its lease expired) and another handler has
// claimed the notify_id since: nothing was recorded, and that handler's
// Done or Release decides.
var ErrClaimLost = errors.New("alipay: dedupe store: the claim passed to another handler")

// DedupeStore remembers notify_ids so that a notification delivered more than
// once (Alipay delivers at least once) reaches the user's function once.
// It distinguishes "processed" from "claimed", and a claim is owned: Claim
// returns a token with [ClaimAcquired], and Done and Release take it and end
// that claim only, so a handler that outlived its lease cannot free or
// complete the claim of the retry that took over. How the handler uses the
// store is shown in docs/notifications.md#the-dedupe-store-contract.
//
// Implementations must be safe for concurrent use and, when replicas share
// them, make each operation atomic: Claim is "set if absent or expired, else
// report which state is live"; Done and Release compare the token and write
// in one step. The ids are verified notify_ids, 1 to 64 ASCII letters and
// digits; implementations may add a prefix of their own. The package
// dedupetest checks an implementation against this contract.
type DedupeStore interface {
	// Claim tries to take id for processing for at most lease. With
	// ClaimAcquired it returns the claim's token, which no other claim of
	// id shares (in practice: unique); with any other state the token is "".
	Claim(ctx context.Context, id string, lease time.Duration) (state ClaimState, token string, err error)
	// Done marks id processed, remembered for ttl, and ends the claim of
	// token. If that claim has ended already and nobody holds id, id is
	// still marked processed (the work happened); a processed id stays so.
	// If another claim holds id, Done changes nothing and returns an error
	// wrapping [ErrClaimLost].
	Done(ctx context.Context, id, token string, ttl time.Duration) error
	// Release gives up the claim of token after the handler failed, so that
	// a retry can take id at once. Any other claim, and a processed id, stay
	// as they are; releasing a claim that has already ended is not an error.
	Release(ctx context.Context, id, token string) error
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

// errDedupeArgs reports a call with an empty id or token, or a non-positive
// duration.
var errDedupeArgs = errors.New("alipay: dedupe store: empty id or token, or non-positive duration")

// Claim takes id for lease, unless it is done or claimed by a live lease.
// It fails only for a done ctx, an empty id or a non-positive lease.
func (m *MemoryDedupeStore) Claim(ctx context.Context, id string, lease time.Duration) (ClaimState, string, error) {
	if err := ctx.Err(); err != nil {
		return 0, "", err
	}
	if id == "" || lease <= 0 {
		return 0, "", errDedupeArgs
	}
	switch state, token := m.table.Claim(id, m.now(), lease); state {
	case ttlstore.Claimed:
		return ClaimAcquired, token, nil
	case ttlstore.AlreadyDone:
		return ClaimAlreadyDone, "", nil
	default:
		return ClaimInProgress, "", nil
	}
}

// Done marks id processed for ttl and ends the claim of token (see
// [DedupeStore.Done]). It ignores ctx: the work is done and recording it
// cannot block.
func (m *MemoryDedupeStore) Done(_ context.Context, id, token string, ttl time.Duration) error {
	if id == "" || token == "" || ttl <= 0 {
		return errDedupeArgs
	}
	if !m.table.Done(id, token, m.now(), ttl) {
		return ErrClaimLost
	}
	return nil
}

// Release drops the claim of token on id; any other claim, and a processed
// id, stay.
func (m *MemoryDedupeStore) Release(_ context.Context, id, token string) error {
	if id == "" || token == "" {
		return errDedupeArgs
	}
	m.table.Release(id, token, m.now())
	return nil
}

// Len returns the number of notify_ids held (claimed or done).
func (m *MemoryDedupeStore) Len() int { return m.table.Len() }
