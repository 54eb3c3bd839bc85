package dedupetest

import (
	"context"
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

// testStaleDelivery is the attack on an unowned claim through the handler.
// Delivery 1's function outlives its lease; delivery 2 (to the other
// replica) then claims the message and its function runs; only then does
// delivery 1's function return: an error (its claim is released) or, with
// finish, nil (its work is recorded). Either way the claim of delivery 2
// must stay: delivery 3 is answered fail while function 2 runs, and the
// function never runs a third time. (Functions 1 and 2 do overlap: that is
// what a lease allows, and why the function's ctx ends with the lease.)
func testStaleDelivery(t *testing.T, n *notifier, a, b alipay.DedupeStore, finish bool) {
	form := n.notification(t, newID(t, 0))
	var (
		calls              atomic.Int32
		entered1, entered2 = make(chan struct{}), make(chan struct{})
		leaseOver1         = make(chan struct{})
		free1, free2       = make(chan struct{}), make(chan struct{})
		once1, once2       sync.Once
	)
	defer once1.Do(func() { close(free1) }) // never leave a call waiting
	defer once2.Do(func() { close(free2) })
	fn := func(ctx context.Context, _ *alipay.Notification) error {
		switch calls.Add(1) {
		case 1:
			close(entered1)
			<-ctx.Done() // the lease ends; a retry may now claim the message
			close(leaseOver1)
			<-free1
			if finish {
				return nil // finished late, ignoring its ctx
			}
			return ctx.Err()
		case 2:
			close(entered2)
			<-free2
		}
		return nil
	}
	lease := alipay.WithNotifyLease(handlerLease)
	h1, h2 := n.handler(t, a, fn, lease), n.handler(t, b, fn, lease)
	first := make(chan string, 1)
	go func() { first <- deliver(h1, form) }()
	wait(t, entered1, "the first call")
	wait(t, leaseOver1, "the end of the first call's lease")

	second := make(chan string, 1)
	go func() { second <- deliverUntilTaken(h2, form) }()
	wait(t, entered2, "the retry's call")

	once1.Do(func() { close(free1) }) // delivery 1 ends its stale claim
	ack := receive(t, first, "the stale delivery")
	if finish {
		assert.Equal(t, ackSuccess, ack, "the stale call's work is done")
	} else {
		assert.Equal(t, ackFail, ack, "the stale call failed")
	}
	for i, h := range []http.Handler{h1, h2} {
		assert.Equal(t, ackFail, deliver(h, form), "delivery to handler %d while the retry runs: the retry's claim must hold", i)
	}
	assert.Equal(t, int32(2), calls.Load(), "no third call while the retry runs")

	once2.Do(func() { close(free2) })
	assert.Equal(t, ackSuccess, receive(t, second, "the retry"), "the retry finished")
	assert.Equal(t, ackSuccess, deliver(h1, form), "a later duplicate")
	assert.Equal(t, int32(2), calls.Load(), "no third call")
}

// wait fails t unless ch is closed within waitFor.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		require.FailNow(t, "timed out", "waiting for %s", what)
	}
}

// deliverUntilTaken delivers form to h until a delivery is not answered
// fail (the lease it waits for has ended and the delivery ran the
// function), for at most waitFor, and returns the last acknowledgement.
func deliverUntilTaken(h http.Handler, form url.Values) string {
	deadline := time.Now().Add(waitFor)
	for {
		ack := deliver(h, form)
		if ack != ackFail || time.Now().After(deadline) {
			return ack
		}
		time.Sleep(pollEvery)
	}
}
