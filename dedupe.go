package alipay

import (
	"context"
	"time"
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

// DedupeStore remembers notify_ids so that a notification delivered more than
// once (Alipay delivers at least once) reaches the user's function once.
// It distinguishes "processed" from "claimed": a claim whose handler failed is
// released and retaken on Alipay's retry, and a claim whose handler crashed
// expires after its lease. Implementations must be safe for concurrent use
// and atomic across every handler sharing them.
type DedupeStore interface {
	// Claim tries to take id for processing for at most lease.
	Claim(ctx context.Context, id string, lease time.Duration) (ClaimState, error)
	// Done marks id processed; it is remembered for ttl.
	Done(ctx context.Context, id string, ttl time.Duration) error
	// Release gives up a claim after the handler failed, so that a retry can
	// take it at once.
	Release(ctx context.Context, id string) error
}
