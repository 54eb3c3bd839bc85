package dedupetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/require"
)

// fieldMethod is the message the suite delivers.
const fieldMethod = "alipay.open.app.api.field.changed"

// notifier plays Alipay with an alipaytest server: the server signs the
// notifications, and clients built from it verify them.
type notifier struct {
	gw *alipaytest.Server
}

// newNotifier starts the fake gateway whose Alipay key signs the run's
// notifications; it is closed when the test ends.
func newNotifier(t *testing.T) *notifier {
	t.Helper()
	gw, err := alipaytest.NewServer()
	require.NoError(t, err)
	t.Cleanup(gw.Close)
	return &notifier{gw: gw}
}

// client builds a client of the test app that verifies this notifier's
// signatures. Every call builds a new one: two calls stand for two replicas.
func (n *notifier) client(t *testing.T) *alipay.Client {
	t.Helper()
	c, err := n.gw.NewClient()
	require.NoError(t, err)
	return c
}

// handler builds a new client and its notification handler over store.
func (n *notifier) handler(t *testing.T, store alipay.DedupeStore, fn func(context.Context, *alipay.Notification) error, opts ...alipay.NotifyOption) http.Handler {
	t.Helper()
	h, err := n.client(t).NewNotifyHandler(alipay.NotifyRoutes{Other: fn}, append([]alipay.NotifyOption{alipay.WithDedupeStore(store)}, opts...)...)
	require.NoError(t, err)
	return h
}

// notification returns the signed form of a field.changed message with
// notify_id id, sent now.
func (n *notifier) notification(t *testing.T, id string) url.Values {
	t.Helper()
	return n.gw.SignNotification(url.Values{
		"notify_id":     {id},
		"utc_timestamp": {strconv.FormatInt(time.Now().UnixMilli(), 10)},
		"msg_method":    {fieldMethod},
		"app_id":        {n.gw.AppID()},
		"version":       {"1.1"},
		"charset":       {"UTF-8"},
		"biz_content":   {`{"api_name":"getPhoneNumber","field_name":"mobile","status":"AGREE","reason":""}`},
	})
}

// deliver POSTs form to h as Alipay does and returns the acknowledgement
// body ("success" or "fail").
func deliver(h http.Handler, form url.Values) string {
	req := httptest.NewRequest(http.MethodPost, "/alipay/notify", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return strings.TrimSpace(rec.Body.String())
}
