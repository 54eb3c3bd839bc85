package dedupetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/dedupetest"
)

// TestMemoryDedupeStore runs the contract suite against the default
// in-memory store.
func TestMemoryDedupeStore(t *testing.T) {
	dedupetest.Run(t, func(*testing.T) alipay.DedupeStore {
		return alipay.NewMemoryDedupeStore(0)
	})
}

// downStore is a store whose backend is unreachable: every call fails.
type downStore struct{}

var errDown = errors.New("store down")

func (downStore) Claim(context.Context, string, time.Duration) (alipay.ClaimState, string, error) {
	return 0, "", errDown
}
func (downStore) Done(context.Context, string, string, time.Duration) error { return errDown }
func (downStore) Release(context.Context, string, string) error             { return errDown }

// TestUnavailableStore runs the failure-behaviour checks against a store
// that always fails.
func TestUnavailableStore(t *testing.T) {
	dedupetest.RunUnavailable(t, func(*testing.T) alipay.DedupeStore { return downStore{} })
}
