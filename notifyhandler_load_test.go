package alipay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// floodID is the kind of a notify_id in TestNotificationFlood.
type floodID struct {
	failFirst bool          // fn fails on its first call: Alipay must redeliver
	held      bool          // fn blocks until another delivery was answered "fail" as in progress
	conflict  chan struct{} // closed at the first in-progress answer (held ids)
	once      sync.Once
	calls     atomic.Int32 // fn calls
	done      atomic.Int32 // fn calls that returned nil
	statuses  sync.Map     // HTTP status → struct{}
}

// TestNotificationFlood delivers 300 signed notifications 3 to 5 times each,
// every delivery concurrently, to one NotifyHandler, retrying each delivery
// answered "fail" as Alipay does, until it reads "success". Some ids make
// the function fail once (answer 500, "fail", then the redelivery succeeds)
// and some hold the function until a concurrent delivery has been answered
// 409 "fail" (in progress). Every answer must be 200 "success" or a
// documented failure status with "fail", and each notify_id must reach the
// function exactly once successfully (failing ids: one failed call, then one
// successful call).
func TestNotificationFlood(t *testing.T) {
	t.Parallel()
	const ids = 300
	key := testNotifySigner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	byID := map[string]*floodID{}
	bodies := make([]string, ids)
	for i := range bodies {
		id := fmt.Sprintf("2024052000262171013056307524%06d", i)
		byID[id] = &floodID{failFirst: i%10 == 3, held: i%25 == 7, conflict: make(chan struct{})}
		bodies[i] = signNotification(t, key, fieldChangedParams(id)).Encode()
	}
	h := newNotifyClient(t).NotifyHandler(func(fctx context.Context, n *Notification) error {
		f := byID[n.NotifyID]
		if f.calls.Add(1) == 1 {
			if f.failFirst {
				return fmt.Errorf("first attempt of %s fails", n.NotifyID)
			}
			if f.held {
				select {
				case <-f.conflict:
				case <-fctx.Done():
					return fctx.Err()
				}
			}
		}
		f.done.Add(1)
		return nil
	})
	deliver := func(body string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(body))
		req.Header.Set("Content-Type", notifyFormType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	var wg sync.WaitGroup
	var deliveries, bad atomic.Int32
	for i, body := range bodies {
		f := byID[fmt.Sprintf("2024052000262171013056307524%06d", i)]
		for n := 0; n < 3+i%3; n++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil { // Alipay redelivers until it reads "success"
					deliveries.Add(1)
					status, ack := deliver(body)
					f.statuses.Store(status, struct{}{})
					switch {
					case status == http.StatusOK && ack == ackSuccess:
						return
					case ack != ackFail || (status != http.StatusConflict && status != http.StatusInternalServerError):
						bad.Add(1)
						return
					case status == http.StatusConflict:
						f.once.Do(func() { close(f.conflict) })
					}
					runtime.Gosched()
				}
			}()
		}
	}
	wg.Wait()
	require.NoError(t, ctx.Err(), "the flood took longer than the bound")
	assert.Zero(t, bad.Load(), "answers other than 200 success, 409 fail or 500 fail")
	t.Logf("%d deliveries of %d notifications", deliveries.Load(), ids)
	for id, f := range byID {
		assert.Equal(t, int32(1), f.done.Load(), "%s: successful function calls", id)
		want := int32(1)
		if f.failFirst {
			want = 2
			_, failed := f.statuses.Load(http.StatusInternalServerError)
			assert.True(t, failed, "%s: the failed call was answered 500", id)
		}
		assert.Equal(t, want, f.calls.Load(), "%s: function calls", id)
		if f.held {
			_, conflict := f.statuses.Load(http.StatusConflict)
			assert.True(t, conflict, "%s: a concurrent delivery was answered 409", id)
		}
	}
}
