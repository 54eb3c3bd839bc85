// Package merchanttest checks implementations of [alipay.MerchantStore],
// the registry of merchant authorizations behind [alipay.Client.ForMerchant]
// and [alipay.Client.RefreshMerchant], in the manner of testing/fstest: an
// implementation's own tests call [Run] (and, for a store that several
// processes share, [RunReplicas]) with a constructor, and the contract
// suite that runs against [alipay.MemoryMerchantStore] and
// github.com/isvkit/alipay/redisstore then runs against it.
//
//	func TestContract(t *testing.T) {
//		merchanttest.Run(t, func(t *testing.T) alipay.MerchantStore {
//			return mystore.New(db, mystore.WithPrefix(uniquePrefix(t)))
//		})
//	}
//
// The suite checks the store on its own:
//
//   - an unknown app id is ErrMerchantNotFound;
//   - a record comes back field for field (every field of Merchant is set
//     in the sample, so a field a store forgets fails), Secrets included,
//     times equal as instants;
//   - Put is a compare-and-swap on Version: creating twice, or writing
//     from a stale read, is ErrVersionConflict and writes nothing; among
//     concurrent writers from one version exactly one wins;
//   - records are copies: changing what Get returned or what Put was given
//     changes nothing stored;
//   - an invalid record is refused;
//   - AppIDsByAuthCode finds the records holding a code digest;
//
// and, with clients of a fake gateway it runs on loopback (it signs with an
// RSA-2048 key generated at run time):
//
//   - ForMerchant refuses a cancelled merchant with a *MerchantStateError
//     whose record keeps the token, the reason and the history;
//   - a 20001 on a call of a ForMerchant client marks the merchant
//     "needs re-authorization", unless the store holds a newer token;
//   - two clients (two replicas, under RunReplicas each with its own
//     store) refreshing one merchant concurrently make one refresh call
//     and all get the one new token, which the store holds;
//   - a refresh lease left by a dead process is taken over once it
//     expired; a dead refresh token marks the merchant;
//
// and, with the notification handler of [alipay.Client.NewNotifyHandler]
// on one store and the effects read through the other:
//
//   - a signed authorization notify stores the merchant's token (a replay
//     changes nothing) and the token works;
//   - alipay.open.auth.appauth.cancelled marks the merchant cancelled only
//     once the token query confirms it, keeping token and history, and
//     ForMerchant then refuses it; an unknown merchant's is acknowledged;
//   - a merchant added to the store while the handler runs is accepted;
//   - [alipay.MerchantAESKeys] over the store decrypts open data with the
//     current and with the previous key.
//
// Waits poll for up to 10 s. The cases run in parallel and take a few
// seconds.
package merchanttest

import (
	"testing"

	"github.com/isvkit/alipay"
)

// Run runs the contract suite against stores made by newStore, each case as
// a parallel subtest of t. newStore is called once per subtest, with that
// subtest's t, and must return a store that starts empty and shares
// nothing with the stores of other calls (a fresh key prefix, a fresh
// table); it may register cleanup with t.Cleanup. Where the suite plays two
// replicas, both use the one store.
func Run(t *testing.T, newStore func(t *testing.T) alipay.MerchantStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("merchanttest.Run: nil newStore")
	}
	runAll(t, func(t *testing.T) (alipay.MerchantStore, alipay.MerchantStore) {
		s := newStore(t)
		return s, s
	})
}

// RunReplicas is [Run] for stores shared between processes: newStores
// returns two distinct stores over one backend (for example two clients of
// one Redis with the same key prefix), standing for the stores of two
// replicas. The pair must start empty and share nothing with the pairs of
// other calls.
func RunReplicas(t *testing.T, newStores func(t *testing.T) (a, b alipay.MerchantStore)) {
	t.Helper()
	if newStores == nil {
		t.Fatal("merchanttest.RunReplicas: nil newStores")
	}
	runAll(t, newStores)
}

// pairCase is one case of the suite, given the stores of two replicas (the
// same store twice under Run).
type pairCase struct {
	name string
	fn   func(t *testing.T, a, b alipay.MerchantStore)
}

// runAll runs the store cases, then the client cases, each as a parallel
// subtest with its own pair of stores.
func runAll(t *testing.T, newStores func(t *testing.T) (a, b alipay.MerchantStore)) {
	t.Helper()
	run := func(t *testing.T, cases []pairCase) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				a, b := newStores(t)
				if a == nil || b == nil {
					t.Fatal("merchanttest: the constructor returned a nil store")
				}
				tc.fn(t, a, b)
			})
		}
	}
	t.Run("Store", func(t *testing.T) { run(t, storeCases()) })
	t.Run("Client", func(t *testing.T) {
		gw := newGateway(t)
		run(t, clientCases(gw))
	})
	t.Run("Events", func(t *testing.T) {
		gw := newGateway(t)
		run(t, eventCases(gw))
	})
}
