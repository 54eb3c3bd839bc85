package alipaytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Notification is a message the server sent, or is sending, to the notify
// URL: a field.changed message, an authorization notify or a cancelled
// authorization.
type Notification struct {
	// Event is the msg_method of a message-service message
	// ("alipay.open.app.api.field.changed",
	// "alipay.open.auth.appauth.cancelled") or the notify_type of a 1.0
	// notify ("open_app_auth_notify").
	Event string
	// NotifyID is the message's notify_id (34 digits, unique per message;
	// a redelivery keeps it).
	NotifyID string
	// Form is the message exactly as POSTed, sign included.
	Form url.Values
	// UserAppID is the merchant mini-program concerned (user_app_id of a
	// field.changed message, auth_app_id of an authorization event).
	UserAppID   string
	APIName     string // the application's fields, as in biz_content (field.changed only)
	FieldName   string
	PackageCode string
	Status      Status // the new status
	Reason      string // the rejection reason, with StatusReject
	// Attempts counts the POSTs made so far, redeliveries included.
	Attempts int
	// Delivered reports whether a POST was answered HTTP 200 with the body
	// exactly "success".
	Delivered bool
	// LastError describes the last failed attempt; "" after a success.
	LastError string
}

// note is a sent message: its record and its encoded body.
type note struct {
	Notification
	body string
}

// SetNotifyURL sets the URL that receives every notification the server
// sends from now on (field.changed, the authorization notify, the
// cancellation message: the list is at [WithNotifyURL]); "" stops sending
// new ones. Call it once the receiver listens, typically an app gateway
// built from [Server.NewClient]'s client.
func (s *Server) SetNotifyURL(u string) error {
	if u != "" {
		if err := checkNotifyURL(u); err != nil {
			return fmt.Errorf("alipaytest: SetNotifyURL: %v", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifyURL = u
	return nil
}

// v1Content is the string a notification is signed over (V1): every
// parameter except sign and sign_type, sorted by key, joined as k=v with
// '&', empty values kept.
func v1Content(params url.Values) string {
	flat := make(map[string]string, len(params))
	for k := range params {
		flat[k] = params.Get(k)
	}
	return joinSorted(flat, func(k, _ string) bool { return k == "sign" || k == "sign_type" })
}

// SignNotification signs a message-service notification as Alipay would, for
// tests of your own notification handler: it returns a copy of form with
// sign_type=RSA2 and a V1 sign made with the server's Alipay key, ready to
// POST (form.Encode()) to a handler whose client trusts
// [Server.AlipayPublicKeyPEM]. Set notify_id, utc_timestamp, msg_method,
// app_id, version, charset and biz_content yourself.
func (s *Server) SignNotification(form url.Values) url.Values {
	out := make(url.Values, len(form)+2)
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	out.Set("sign_type", "RSA2")
	out.Del("sign")
	out.Set("sign", signRSA2(s.alipayKey, []byte(v1Content(out))))
	return out
}

// changedBiz is the biz_content of alipay.open.app.api.field.changed.
type changedBiz struct {
	UserAppID   string `json:"user_app_id"`
	APIName     string `json:"api_name"`
	FieldName   string `json:"field_name"`
	PackageCode string `json:"package_code"`
	Status      string `json:"status"`
	Reason      string `json:"reason"`
}

// notifyLocked builds, signs and starts sending the message for a's new
// status. The caller holds s.mu.
func (s *Server) notifyLocked(m *merchant, a *Application) {
	if s.notifyURL == "" || s.closed {
		return
	}
	now := s.now()
	form := url.Values{
		"notify_id":     {s.newNotifyID(now)},
		"utc_timestamp": {strconv.FormatInt(now.UnixMilli(), 10)},
		"msg_method":    {methodFieldChanged},
		"app_id":        {m.isvAppID},
		"msg_app_id":    {m.appID},
		"version":       {"1.1"},
		"charset":       {"UTF-8"},
		"biz_content": {string(marshal(changedBiz{
			UserAppID: a.UserAppID, APIName: a.APIName, FieldName: a.FieldName,
			PackageCode: a.PackageCode, Status: s.wireStatus(a.Status), Reason: a.Reason,
		}))},
	}
	s.queueLocked(form, Notification{
		Event: methodFieldChanged, UserAppID: a.UserAppID, APIName: a.APIName, FieldName: a.FieldName,
		PackageCode: a.PackageCode, Status: a.Status, Reason: a.Reason,
	})
}

// newNotifyID returns a fresh notify_id: the date (UTC+8), 14 random digits
// and a 12-digit sequence number. The caller holds s.mu.
func (s *Server) newNotifyID(now time.Time) string {
	s.seq++
	return now.In(cst()).Format("20060102") + randomDigits(14) + fmt.Sprintf("%012d", s.seq)
}

// queueLocked signs form and starts sending it to the notify URL, keeping
// n (completed with the form) as its record. The caller holds s.mu and has
// checked that the server is open and a notify URL is set.
func (s *Server) queueLocked(form url.Values, n Notification) {
	form = s.SignNotification(form)
	n.NotifyID, n.Form = form.Get("notify_id"), form
	nn := &note{Notification: n, body: form.Encode()}
	s.notes = append(s.notes, nn)
	if over := len(s.notes) - s.cfg.logLimit; over > 0 {
		s.notes = s.notes[over:]
	}
	s.lastNote = nn
	s.startDelivery(nn, s.notifyURL)
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	h := randomHex(n)
	b := make([]byte, n)
	for i := range b {
		b[i] = '0' + h[i]%10
	}
	return string(b)
}

// startDelivery sends n's body to u in the background. The caller holds
// s.mu and has checked that the server is open.
func (s *Server) startDelivery(n *note, u string) {
	if s.pending == 0 {
		s.idle = make(chan struct{})
	}
	s.pending++
	s.wg.Add(1)
	go s.deliver(n, u)
}

// deliver POSTs the message until it is answered "success", at most
// notifyAttempts times, waiting notifyBackoff (doubling) between attempts.
// It stops when the server closes.
func (s *Server) deliver(n *note, u string) {
	defer func() {
		s.mu.Lock()
		if s.pending--; s.pending == 0 {
			close(s.idle)
		}
		s.mu.Unlock()
		s.wg.Done()
	}()
	backoff := s.cfg.notifyBackoff
	for i := 0; i < s.cfg.notifyAttempts; i++ {
		if i > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-s.stop:
				t.Stop()
				return
			case <-t.C:
			}
			backoff *= 2
		}
		problem := s.post(u, n.body)
		s.mu.Lock()
		n.Attempts++
		n.LastError = problem
		if problem == "" {
			n.Delivered = true
		}
		s.mu.Unlock()
		if problem == "" {
			return
		}
	}
}

// post sends one attempt; it returns "" on success, else what went wrong.
func (s *Server) post(u, body string) string {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	resp, err := s.notifyHTTP.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 256))
	if err != nil {
		return err.Error()
	}
	if resp.StatusCode != http.StatusOK || string(got) != "success" {
		return fmt.Sprintf("HTTP %d, body %q (want 200 and exactly \"success\")", resp.StatusCode, got)
	}
	return ""
}

// Notifications returns copies of the messages sent so far, oldest first:
// the last [WithLogLimit] of them.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, len(s.notes))
	for i, n := range s.notes {
		out[i] = n.Notification
		out[i].Form = cloneValues(n.Form)
	}
	return out
}

// Redeliver sends the last message again, byte for byte (same notify_id,
// same signature), to the current notify URL, retrying as for the first
// delivery: Alipay delivers at least once, and a receiver must deduplicate.
func (s *Server) Redeliver() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("alipaytest: Redeliver: server closed")
	case s.lastNote == nil:
		return errors.New("alipaytest: Redeliver: no message sent yet")
	case s.notifyURL == "":
		return errors.New("alipaytest: Redeliver: no notify URL")
	}
	s.startDelivery(s.lastNote, s.notifyURL)
	return nil
}

// WaitNotifications blocks until no delivery is in progress (each message
// was answered "success" or ran out of attempts) or ctx ends.
func (s *Server) WaitNotifications(ctx context.Context) error {
	s.mu.Lock()
	if s.pending == 0 {
		s.mu.Unlock()
		return nil
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
