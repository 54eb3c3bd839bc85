package merchanttest_test

import (
	"testing"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/merchanttest"
)

// TestMemoryMerchantStore runs the contract suite against the in-memory
// store.
func TestMemoryMerchantStore(t *testing.T) {
	merchanttest.Run(t, func(*testing.T) alipay.MerchantStore {
		return alipay.NewMemoryMerchantStore()
	})
}
