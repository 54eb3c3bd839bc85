// Package dedupetest checks implementations of [alipay.DedupeStore], the
// notify_id store behind [alipay.Client.NewNotifyHandler], in the manner of
// testing/fstest: an implementation's own tests call [Run] (and, for a
// store that several processes share, [RunReplicas]) with a constructor,
// and the contract suite that runs against [alipay.MemoryDedupeStore] and
// github.com/isvkit/alipay/redisstore then runs against it.
//
//	func TestContract(t *testing.T) {
//		dedupetest.Run(t, func(t *testing.T) alipay.DedupeStore {
//			return mystore.New(db, mystore.WithPrefix(uniquePrefix(t)))
//		})
//	}
//
// The suite checks the store on its own:
//
//   - a first delivery is acquired with a token, and after Done every
//     duplicate is reported already done, also after a Release;
//   - a live claim is reported in progress, without a token;
//   - a released claim (the handler failed) is claimed again at once;
//   - an expired lease (the handler crashed) is retaken, with a new token;
//   - a Done that comes after the lease expired, while nobody holds the id,
//     is recorded;
//   - a claim is owned: once an expired lease was retaken, the stale
//     token's Release frees nothing and its Done completes nothing (it
//     returns an error wrapping [alipay.ErrClaimLost]), and neither does a
//     token of another id or one never handed out;
//   - among concurrent Claims of one id, exactly one is acquired;
//
// and inside the real notification handler, with notifications it signs
// itself (RSA2 under an RSA-2048 key pair generated at run time) and
// delivers in process, without a network:
//
//   - concurrent deliveries of one notification, from many goroutines, to
//     one handler and to two handlers built from two clients (two
//     replicas), reach the user's function exactly once; every other
//     delivery is answered "fail" while the function runs and "success"
//     after it returned nil;
//   - a delivery after the function returned an error is processed again;
//   - a delivery after the function hung past its lease is processed again;
//   - when the function of a delivery whose lease expired returns (an error
//     or nil) while a retry's function runs, the retry keeps its claim: a
//     third delivery is answered fail and does not run the function
//     alongside the retry.
//
// Leases in the suite are 100 to 200 ms where it waits for them to end, and
// waits poll (up to 5 s), so a store must end a lease within a few seconds
// of its expiry. The cases run in parallel and take about a second.
package dedupetest

import (
	"testing"

	"github.com/isvkit/alipay"
)

// Run runs the contract suite against stores made by newStore, each case as
// a parallel subtest of t. newStore is called once per subtest, with that
// subtest's t, and must return a store that starts empty and shares
// nothing with the stores of other calls (a fresh key prefix, a fresh
// table); it may register cleanup with t.Cleanup. Where the suite plays two
// replicas, both use the one store. Failures are reported through t; Run
// returns when every case has finished.
func Run(t *testing.T, newStore func(t *testing.T) alipay.DedupeStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("dedupetest.Run: nil newStore")
	}
	runAll(t, func(t *testing.T) (alipay.DedupeStore, alipay.DedupeStore) {
		s := newStore(t)
		return s, s
	})
}

// RunReplicas is [Run] for stores shared between processes: newStores
// returns two distinct stores over one backend (for example two clients of
// one Redis with the same key prefix), standing for the stores of two
// replicas, and the suite's two replicas each use their own. The pair must
// start empty and share nothing with the pairs of other calls.
func RunReplicas(t *testing.T, newStores func(t *testing.T) (a, b alipay.DedupeStore)) {
	t.Helper()
	if newStores == nil {
		t.Fatal("dedupetest.RunReplicas: nil newStores")
	}
	runAll(t, newStores)
}

// pairCase is one case of the suite, given the stores of two replicas (the
// same store twice under Run).
type pairCase struct {
	name string
	fn   func(t *testing.T, a, b alipay.DedupeStore)
}

// runAll runs the store cases, then the handler cases, each as a parallel
// subtest with its own pair of stores.
func runAll(t *testing.T, newStores func(t *testing.T) (a, b alipay.DedupeStore)) {
	t.Helper()
	run := func(t *testing.T, cases []pairCase) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				a, b := newStores(t)
				if a == nil || b == nil {
					t.Fatal("dedupetest: the constructor returned a nil store")
				}
				tc.fn(t, a, b)
			})
		}
	}
	t.Run("Store", func(t *testing.T) { run(t, storeCases()) })
	t.Run("Handler", func(t *testing.T) {
		n := newNotifier(t)
		run(t, handlerCases(n))
	})
}
