package alipay

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFieldChangedHubWakesEveryWait: two waits for one merchant, fed by
// one hub, both end on the one field.changed message (with a plain channel
// one of them would take it and the other would sleep until its next
// poll, an hour away).
func TestFieldChangedHubWakesEveryWait(t *testing.T) {
	t.Parallel()
	c, polls := wtClient(t, wtNode(wtAudit))
	var hub FieldChangedHub
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	got := make([]*AuthFieldDTO, 2)
	errs := make([]error, 2)
	for i := range got {
		updates, stop := hub.Subscribe("2021004000000002")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer stop()
			req := wtReq()
			req.UserAppID, req.Interval, req.Updates = "2021004000000002", time.Hour, updates
			got[i], errs[i] = c.WaitFieldAudit(ctx, req)
		}()
	}
	hub.Publish(&AppAPIFieldChanged{AuthFieldDTO: AuthFieldDTO{UserAppID: "2021004000000002",
		APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "P1", Status: AuthFieldStatusAgree}})
	wg.Wait()
	for i := range got {
		require.NoError(t, errs[i])
		assert.Equal(t, AuthFieldStatusAgree, got[i].Status)
	}
	assert.Equal(t, int32(2), polls.Load(), "one poll each, at the start; the message ended both")
	hub.mu.Lock()
	assert.Empty(t, hub.subs, "stopped subscriptions are gone")
	hub.mu.Unlock()
}

// TestFieldChangedHubFanOut: a message reaches every subscription of its
// merchant and the catch-all "", no other; a full subscription never
// blocks Publish; stop closes the channel once and unsubscribes.
func TestFieldChangedHubFanOut(t *testing.T) {
	t.Parallel()
	var hub FieldChangedHub
	a1, stopA1 := hub.Subscribe("A")
	a2, stopA2 := hub.Subscribe("A")
	b, stopB := hub.Subscribe("B")
	all, stopAll := hub.Subscribe("")
	defer stopA2()
	defer stopB()
	defer stopAll()
	ev := func(id string, s AuthFieldStatus) *AppAPIFieldChanged {
		return &AppAPIFieldChanged{AuthFieldDTO: AuthFieldDTO{UserAppID: id, Status: s}}
	}
	hub.Publish(ev("A", AuthFieldStatusAgree))
	hub.Publish(nil)
	for _, ch := range []<-chan AuthFieldDTO{a1, a2, all} {
		require.Len(t, ch, 1)
		assert.Equal(t, AuthFieldDTO{UserAppID: "A", Status: AuthFieldStatusAgree}, <-ch)
	}
	assert.Empty(t, b)

	for range FieldChangedBuffer + 5 { // nobody reads a2: Publish still returns
		hub.Publish(ev("A", AuthFieldStatusReject))
	}
	assert.Len(t, a2, FieldChangedBuffer)

	stopA1()
	stopA1()
	_, open := <-drain(a1)
	assert.False(t, open, "stop closes the channel")
	hub.Publish(ev("A", AuthFieldStatusAgree)) // no send on the closed channel
	hub.Publish(ev("", AuthFieldStatusAgree))  // only "" subscriptions
	assert.Empty(t, b)
}

// drain empties ch and returns it.
func drain(ch <-chan AuthFieldDTO) <-chan AuthFieldDTO {
	for len(ch) > 0 {
		<-ch
	}
	return ch
}

// TestFieldChangedHubConcurrent: subscribing, publishing and stopping at
// once is race-free (run with -race) and never sends on a closed channel.
func TestFieldChangedHubConcurrent(t *testing.T) {
	t.Parallel()
	var hub FieldChangedHub
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 200 {
				ch, stop := hub.Subscribe([]string{"A", "B", ""}[i%3])
				hub.Publish(&AppAPIFieldChanged{AuthFieldDTO: AuthFieldDTO{UserAppID: "A"}})
				stop()
				for range ch { // drain until closed
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 200 {
				hub.Publish(&AppAPIFieldChanged{AuthFieldDTO: AuthFieldDTO{UserAppID: "B"}})
			}
		}()
	}
	wg.Wait()
	hub.mu.Lock()
	defer hub.mu.Unlock()
	assert.Empty(t, hub.subs)
}
