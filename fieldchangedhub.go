package alipay

import "sync"

// FieldChangedBuffer is how many messages a [FieldChangedHub] subscription
// holds for its reader; a message arriving at a full subscription is not
// queued for it (a wait polls field.query anyway).
const FieldChangedBuffer = 16

// FieldChangedHub hands each field.changed message to every wait of its
// merchant: [FieldChangedHub.Publish] is the body of
// [NotifyRoutes].AppAPIFieldChanged, and [FieldChangedHub.Subscribe] gives
// the channel of [WaitFieldAuditRequest].Updates. A plain channel hands a
// message to one receiver, so two waits for one merchant would race for
// it, and one shared by several merchants would wake the wrong wait; the
// hub keeps one bounded channel per wait, keyed by the merchant's app id.
//
//	var hub alipay.FieldChangedHub
//	h, err := isv.NewNotifyHandler(alipay.NotifyRoutes{
//		AppAPIFieldChanged: func(ctx context.Context, n *alipay.Notification, ev *alipay.AppAPIFieldChanged) error {
//			hub.Publish(ev)
//			return nil
//		},
//	}, opts...)
//	…
//	updates, stop := hub.Subscribe(merchantAppID)
//	defer stop()
//	rec, err := m.WaitFieldAudit(ctx, &alipay.WaitFieldAuditRequest{…, UserAppID: merchantAppID, Updates: updates})
//
// It serves one process: with several replicas, the message reaches the
// replica Alipay delivered it to, and waits on the others poll as usual.
// The zero FieldChangedHub is ready to use; it is safe for concurrent use
// and must not be copied after first use.
type FieldChangedHub struct {
	mu   sync.Mutex
	subs map[string]map[chan AuthFieldDTO]struct{} // by user_app_id; "" receives every message
}

// Subscribe returns a channel receiving the field.changed messages whose
// user_app_id is userAppID ("" receives every merchant's), holding up to
// [FieldChangedBuffer] of them, and the function that ends the
// subscription and closes the channel (call it when the wait returns; a
// second call does nothing).
func (h *FieldChangedHub) Subscribe(userAppID string) (<-chan AuthFieldDTO, func()) {
	ch := make(chan AuthFieldDTO, FieldChangedBuffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[string]map[chan AuthFieldDTO]struct{}{}
	}
	if h.subs[userAppID] == nil {
		h.subs[userAppID] = map[chan AuthFieldDTO]struct{}{}
	}
	h.subs[userAppID][ch] = struct{}{}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs[userAppID], ch)
			if len(h.subs[userAppID]) == 0 {
				delete(h.subs, userAppID)
			}
			close(ch)
		})
	}
}

// Publish hands ev's record to every subscription of ev.UserAppID and to
// those of "", without blocking: a subscription whose buffer is full does
// not get it. A nil ev does nothing.
func (h *FieldChangedHub) Publish(ev *AppAPIFieldChanged) {
	if ev == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	send := func(subs map[chan AuthFieldDTO]struct{}) {
		for ch := range subs {
			select {
			case ch <- ev.AuthFieldDTO:
			default:
			}
		}
	}
	send(h.subs[ev.UserAppID])
	if ev.UserAppID != "" {
		send(h.subs[""])
	}
}
