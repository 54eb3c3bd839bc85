package dedupetest

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RunUnavailable checks the failure behaviour with a store whose backend is
// down (for example a Redis client pointed at a closed port): newStore's
// Claim must fail with an error, and the notification handler over it must
// answer "fail" to every delivery (so that Alipay retries), never call the
// user's function, and log each failure through the client's slog logger at
// Warn or above, without the notification's signature or content.
func RunUnavailable(t *testing.T, newStore func(t *testing.T) alipay.DedupeStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("dedupetest.RunUnavailable: nil newStore")
	}
	n := newNotifier(t)
	t.Run("ClaimFails", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		st, token, err := s.Claim(context.Background(), newID(t, 0), longLease)
		require.Error(t, err, "Claim on an unavailable store must fail, not report %v", st)
		assert.Empty(t, token, "no token without a claim")
	})
	t.Run("HandlerAnswersFail", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		logs := newRecorder()
		c, err := n.gw.NewClient(alipay.WithLogger(slog.New(logs)))
		require.NoError(t, err)
		var calls atomic.Int32
		h, err := c.NewNotifyHandler(alipay.NotifyRoutes{Other: func(context.Context, *alipay.Notification) error {
			calls.Add(1)
			return nil
		}}, alipay.WithDedupeStore(s))
		require.NoError(t, err)
		form := n.notification(t, newID(t, 0))
		for i := 0; i < 3; i++ {
			require.Equal(t, ackFail, deliver(h, form), "delivery %d while the store is down", i)
		}
		assert.Equal(t, int32(0), calls.Load(), "the user's function must not run without a claim")
		warnings, text := logs.atLeast(slog.LevelWarn)
		assert.GreaterOrEqual(t, warnings, 3, "each failure is logged at Warn or above")
		assert.NotContains(t, text, form.Get("sign"), "logs must not hold the signature")
		assert.NotContains(t, text, form.Get("biz_content"), "logs must not hold the content")
	})
}

// logSink collects the records of a recorder and the handlers derived
// from it.
type logSink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	levels []slog.Level
}

// recorder is a slog.Handler that keeps every record, as text, in its sink.
type recorder struct {
	sink  *logSink
	attrs []slog.Attr
}

// newRecorder returns a recorder with an empty sink.
func newRecorder() *recorder { return &recorder{sink: &logSink{}} }

// Enabled implements slog.Handler: every level is recorded.
func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (r *recorder) Handle(ctx context.Context, rec slog.Record) error {
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	r.sink.levels = append(r.sink.levels, rec.Level)
	h := slog.NewTextHandler(&r.sink.buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	return h.WithAttrs(r.attrs).Handle(ctx, rec)
}

// WithAttrs implements slog.Handler.
func (r *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recorder{sink: r.sink, attrs: append(r.attrs[:len(r.attrs):len(r.attrs)], attrs...)}
}

// WithGroup implements slog.Handler; groups are flattened.
func (r *recorder) WithGroup(string) slog.Handler { return r }

// atLeast returns how many records were at level or above, and all the
// text recorded.
func (r *recorder) atLeast(level slog.Level) (int, string) {
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	n := 0
	for _, l := range r.sink.levels {
		if l >= level {
			n++
		}
	}
	return n, r.sink.buf.String()
}
