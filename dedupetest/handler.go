package dedupetest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Acknowledgements of the notification handler.
const (
	ackSuccess = "success"
	ackFail    = "fail"
)

// handlerLease is the lease of the case that waits for one to end.
const handlerLease = 200 * time.Millisecond

// userFunc is the user's function of a handler case.
type userFunc = func(context.Context, *alipay.Notification) error

// handlerCases are the cases that go through [alipay.Client.NewNotifyHandler]:
// handlers built from separate clients over a and b stand for two replicas.
func handlerCases(n *notifier) []pairCase {
	return []pairCase{
		{"ConcurrentDeliveriesOneHandler", func(t *testing.T, a, _ alipay.DedupeStore) {
			testConcurrentDeliveries(t, n, func(fn userFunc) []http.Handler {
				return []http.Handler{n.handler(t, a, fn)}
			})
		}},
		{"ConcurrentDeliveriesTwoReplicas", func(t *testing.T, a, b alipay.DedupeStore) {
			testConcurrentDeliveries(t, n, func(fn userFunc) []http.Handler {
				return []http.Handler{n.handler(t, a, fn), n.handler(t, b, fn)}
			})
		}},
		{"ConcurrentDeliveriesFreeRunning", func(t *testing.T, a, b alipay.DedupeStore) {
			testFreeRunning(t, n, a, b)
		}},
		{"FailedFunctionRetried", func(t *testing.T, a, b alipay.DedupeStore) {
			testFailedRetried(t, n, a, b)
		}},
		{"HungFunctionLeaseRetaken", func(t *testing.T, a, b alipay.DedupeStore) {
			testHungRetaken(t, n, a, b)
		}},
		{"ExpiredDeliveryFailingLateKeepsRetryClaim", func(t *testing.T, a, b alipay.DedupeStore) {
			testStaleDelivery(t, n, a, b, false)
		}},
		{"ExpiredDeliveryFinishingLateKeepsRetryClaim", func(t *testing.T, a, b alipay.DedupeStore) {
			testStaleDelivery(t, n, a, b, true)
		}},
	}
}

// deliverAll delivers form from count goroutines, released together and
// spread over hs in turn, and returns a channel of their acknowledgements.
func deliverAll(hs []http.Handler, form url.Values, count int) <-chan string {
	acks := make(chan string, count)
	start := make(chan struct{})
	for i := 0; i < count; i++ {
		h := hs[i%len(hs)]
		go func() {
			<-start
			acks <- deliver(h, form)
		}()
	}
	close(start)
	return acks
}

// receive returns the next acknowledgement, failing t after waitFor.
func receive(t *testing.T, acks <-chan string, what string) string {
	t.Helper()
	select {
	case ack := <-acks:
		return ack
	case <-time.After(waitFor):
		require.FailNow(t, "no acknowledgement in time", "%s: still waiting after %v", what, waitFor)
		return ""
	}
}

// testConcurrentDeliveries delivers one notification from many goroutines
// to the handlers that build returns, while the user's function, once
// entered, waits: every other delivery must be answered fail (in
// progress), the one that runs the function success, and every later
// delivery success (already done) without calling it again.
func testConcurrentDeliveries(t *testing.T, n *notifier, build func(userFunc) []http.Handler) {
	id := newID(t, 0)
	form := n.notification(t, id)
	var (
		calls   atomic.Int32
		entered = make(chan struct{})
		unblock = make(chan struct{})
		once    sync.Once
	)
	defer once.Do(func() { close(unblock) }) // never leave a call waiting
	fn := func(ctx context.Context, got *alipay.Notification) error {
		if calls.Add(1) == 1 {
			close(entered)
		}
		if got.NotifyID != id || got.MsgMethod != fieldMethod {
			return errors.New("dedupetest: unexpected notification")
		}
		select {
		case <-unblock:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	hs := build(fn)
	acks := deliverAll(hs, form, goroutines)

	select {
	case <-entered:
	case <-time.After(waitFor):
		require.FailNow(t, "the user's function was never called")
	}
	for i := 0; i < goroutines-1; i++ {
		require.Equal(t, ackFail, receive(t, acks, "deliveries during processing"),
			"delivery %d while the function runs must be answered fail", i)
	}
	once.Do(func() { close(unblock) })
	require.Equal(t, ackSuccess, receive(t, acks, "the processing delivery"), "the delivery that ran the function")
	for i, h := range hs {
		assert.Equal(t, ackSuccess, deliver(h, form), "later delivery to handler %d", i)
	}
	assert.Equal(t, int32(1), calls.Load(), "the user's function must run exactly once")
}

// testFreeRunning delivers several notifications, each from many goroutines
// to two replicas, with a function that returns at once: each reaches the
// function exactly once, and every delivery is answered success or fail.
func testFreeRunning(t *testing.T, n *notifier, a, b alipay.DedupeStore) {
	var (
		mu    sync.Mutex
		calls = make(map[string]int)
	)
	fn := func(_ context.Context, got *alipay.Notification) error {
		mu.Lock()
		defer mu.Unlock()
		calls[got.NotifyID]++
		return nil
	}
	hs := []http.Handler{n.handler(t, a, fn), n.handler(t, b, fn)}
	for round := 0; round < 3; round++ {
		id := newID(t, round)
		form := n.notification(t, id)
		acks := deliverAll(hs, form, goroutines)
		successes := 0
		for i := 0; i < goroutines; i++ {
			ack := receive(t, acks, "free-running deliveries")
			require.Contains(t, []string{ackSuccess, ackFail}, ack)
			if ack == ackSuccess {
				successes++
			}
		}
		assert.Positive(t, successes, "round %d: the processing delivery answers success", round)
		assert.Equal(t, ackSuccess, deliver(hs[round%2], form), "round %d: a later delivery", round)
		mu.Lock()
		assert.Equal(t, 1, calls[id], "round %d: the user's function must run exactly once", round)
		mu.Unlock()
	}
}

// testFailedRetried: a delivery whose function fails is answered fail, and
// Alipay's retry (to the other replica) runs the function again.
func testFailedRetried(t *testing.T, n *notifier, a, b alipay.DedupeStore) {
	form := n.notification(t, newID(t, 0))
	var calls atomic.Int32
	fn := func(context.Context, *alipay.Notification) error {
		if calls.Add(1) == 1 {
			return errors.New("dedupetest: downstream unavailable")
		}
		return nil
	}
	h1, h2 := n.handler(t, a, fn), n.handler(t, b, fn)
	require.Equal(t, ackFail, deliver(h1, form), "the function failed")
	require.Equal(t, int32(1), calls.Load())
	require.Equal(t, ackSuccess, deliver(h2, form), "the retry is processed")
	require.Equal(t, int32(2), calls.Load(), "the retry ran the function again")
	assert.Equal(t, ackSuccess, deliver(h1, form), "a later duplicate")
	assert.Equal(t, ackSuccess, deliver(h2, form), "a later duplicate")
	assert.Equal(t, int32(2), calls.Load(), "no call after success")
}

// testHungRetaken: the function hangs past its lease (as if its process
// had died); a retry to the other replica is processed once the lease has
// ended, and the hung call finishing late does not cause a third call.
func testHungRetaken(t *testing.T, n *notifier, a, b alipay.DedupeStore) {
	form := n.notification(t, newID(t, 0))
	var (
		calls   atomic.Int32
		entered = make(chan struct{})
		hung    = make(chan struct{})
		once    sync.Once
	)
	defer once.Do(func() { close(hung) })
	fn := func(context.Context, *alipay.Notification) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-hung // ignores its ctx, like a stuck process
		}
		return nil
	}
	lease := alipay.WithNotifyLease(handlerLease)
	h1, h2 := n.handler(t, a, fn, lease), n.handler(t, b, fn, lease)
	first := make(chan string, 1)
	go func() { first <- deliver(h1, form) }()
	select {
	case <-entered:
	case <-time.After(waitFor):
		require.FailNow(t, "the user's function was never called")
	}
	var acks []string
	require.Eventually(t, func() bool {
		ack := deliver(h2, form)
		acks = append(acks, ack)
		return ack != ackFail
	}, waitFor, 2*pollEvery, "a retry must be processed once the lease has ended")
	require.Equal(t, ackSuccess, acks[len(acks)-1], "acknowledgements of the retries: %v", acks)
	require.Equal(t, int32(2), calls.Load(), "the retry ran the function")
	once.Do(func() { close(hung) })
	assert.Equal(t, ackSuccess, receive(t, first, "the hung delivery"), "the hung call finished")
	assert.Equal(t, ackSuccess, deliver(h1, form), "a later duplicate")
	assert.Equal(t, int32(2), calls.Load(), "no third call")
}
