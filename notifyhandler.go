package alipay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"unicode/utf8"
)

// Acknowledgements Alipay understands: exactly "success" stops its retries,
// anything else (we send "fail") makes it deliver the message again.
const (
	ackSuccess = "success"
	ackFail    = "fail"
)

// NotifyHandler returns the http.Handler of the app gateway (应用网关)
// calling fn with every verified message, whatever its msg_method or
// notify_type: it is [Client.NewNotifyHandler] with NotifyRoutes{Other: fn}
// (the contract is there), except that a configuration error (a nil fn, an
// invalid option) is not returned: every request then fails with 500 and an
// Error log.
//
// Deprecated: use [Client.NewNotifyHandler], which reports a configuration
// error when the handler is built, dispatches typed events and keeps the
// registry current; NotifyRoutes{Other: fn} gives this handler's behaviour.
func (c *Client) NotifyHandler(fn func(ctx context.Context, n *Notification) error, opts ...NotifyOption) http.Handler {
	if fn == nil {
		return c.misconfigured(errors.New("alipay: NotifyHandler: nil function"))
	}
	h, err := c.NewNotifyHandler(NotifyRoutes{Other: fn}, opts...)
	if err != nil {
		return c.misconfigured(err)
	}
	return h
}

// misconfigured logs err and returns a handler failing every request
// with it.
func (c *Client) misconfigured(err error) http.Handler {
	c.core.logger.LogAttrs(context.Background(), slog.LevelError, "alipay: notification handler misconfigured", slog.String("error", err.Error()))
	return &notifyHandler{c: c, err: err}
}

// notifyHandler is the http.Handler of NewNotifyHandler and NotifyHandler.
type notifyHandler struct {
	c       *Client // verifies; may hold no private key (NotifyVerifier)
	confirm *Client // confirms cancellations; nil when it cannot
	cfg     notifyConfig
	routes  NotifyRoutes
	err     error // configuration error of NotifyHandler: every request fails
}

// ServeHTTP implements http.Handler.
func (h *notifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if h.err != nil {
		h.log(ctx, slog.LevelError, "alipay: notification handler misconfigured", slog.String("error", h.err.Error()))
		h.reply(ctx, w, http.StatusInternalServerError, ackFail)
		return
	}
	params, status, reason := h.readForm(w, r)
	if status != 0 {
		h.log(ctx, slog.LevelWarn, "alipay: notification request refused", slog.String("reason", reason), slog.Int("status", status))
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		h.reply(ctx, w, status, ackFail)
		return
	}
	n, err := h.c.verifyNotification(ctx, params, &h.cfg)
	if err != nil {
		attrs := []slog.Attr{slog.String("notify_id", logNotifyID(params.Get("notify_id"))),
			slog.String("msg_method", logKind(params.Get("msg_method"), params.Get("notify_type")))}
		var ve *VerifyError
		if !errors.As(err, &ve) { // the app id lookup failed: Alipay retries
			h.log(ctx, slog.LevelError, "alipay: notification app id lookup failed", append(attrs, slog.String("error", err.Error()))...)
			h.reply(ctx, w, http.StatusServiceUnavailable, ackFail)
			return
		}
		h.log(ctx, slog.LevelWarn, "alipay: notification rejected", append([]slog.Attr{slog.String("reason", string(ve.Step))}, attrs...)...)
		h.reply(ctx, w, http.StatusBadRequest, ackFail)
		return
	}
	status, ack := h.process(ctx, n)
	h.reply(ctx, w, status, ack)
}

// readForm checks the request and decodes its parameters once. A non-zero
// status refuses the request, with a reason for the log.
func (h *notifyHandler) readForm(w http.ResponseWriter, r *http.Request) (url.Values, int, string) {
	if r.Method != http.MethodPost {
		return nil, http.StatusMethodNotAllowed, "method_not_allowed"
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, http.StatusUnsupportedMediaType, "unsupported_media_type"
	}
	if r.ContentLength > h.cfg.maxBytes {
		return nil, http.StatusRequestEntityTooLarge, "body_too_large"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge, "body_too_large"
		}
		return nil, http.StatusBadRequest, "body_read_error"
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, http.StatusBadRequest, "malformed_form"
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, http.StatusBadRequest, "malformed_query"
	}
	for k, vs := range query {
		params[k] = append(params[k], vs...) // a key in both becomes duplicate_param
	}
	return params, 0, ""
}

// process deduplicates n and runs fn under a claim; it returns the HTTP
// status and the acknowledgement to send.
func (h *notifyHandler) process(ctx context.Context, n *Notification) (int, string) {
	attrs := []slog.Attr{slog.String("notify_id", logNotifyID(n.NotifyID)), slog.String("msg_method", logKind(n.MsgMethod, n.NotifyType))}
	store := h.cfg.store
	claimCtx, cancel := context.WithTimeout(ctx, storeCallTimeout)
	state, token, err := store.Claim(claimCtx, n.NotifyID, h.cfg.lease)
	cancel()
	switch {
	case err != nil:
		h.log(ctx, slog.LevelError, "alipay: notification dedupe store failed", append(attrs, slog.String("op", "claim"), slog.String("error", err.Error()))...)
		return http.StatusServiceUnavailable, ackFail
	case state == ClaimAlreadyDone:
		h.log(ctx, slog.LevelDebug, "alipay: notification already processed", attrs...)
		return http.StatusOK, ackSuccess
	case state == ClaimInProgress:
		h.log(ctx, slog.LevelInfo, "alipay: notification in progress elsewhere", attrs...)
		return http.StatusConflict, ackFail
	case state != ClaimAcquired || token == "":
		h.log(ctx, slog.LevelError, "alipay: notification dedupe store failed", append(attrs, slog.String("op", "claim"),
			slog.String("error", "invalid claim: state "+state.String()+", token "+strconv.FormatBool(token != "")))...)
		return http.StatusServiceUnavailable, ackFail
	}
	// Store writes after fn must happen even if Alipay hung up meanwhile.
	detached := context.WithoutCancel(ctx)
	if err := h.call(ctx, n, attrs); err != nil {
		rctx, cancel := context.WithTimeout(detached, storeCallTimeout)
		defer cancel()
		if rerr := store.Release(rctx, n.NotifyID, token); rerr != nil {
			h.log(ctx, slog.LevelWarn, "alipay: notification dedupe store failed; the claim ends with its lease", append(attrs, slog.String("op", "release"), slog.String("error", rerr.Error()))...)
		}
		return http.StatusInternalServerError, ackFail
	}
	dctx, cancel := context.WithTimeout(detached, storeCallTimeout)
	defer cancel()
	switch err := store.Done(dctx, n.NotifyID, token, h.cfg.dedupeTTL()); {
	case errors.Is(err, ErrClaimLost):
		h.log(ctx, slog.LevelWarn, "alipay: notification processed after its lease ended; another delivery holds it now and decides",
			append(attrs, slog.String("op", "done"))...)
	case err != nil:
		h.log(ctx, slog.LevelWarn, "alipay: notification processed but not recorded as done; a replay may be processed again",
			append(attrs, slog.String("op", "done"), slog.String("error", err.Error()))...)
	default:
		h.log(ctx, slog.LevelDebug, "alipay: notification processed", attrs...)
	}
	return http.StatusOK, ackSuccess
}

// call runs fn under the lease, turning a panic into an error.
func (h *notifyHandler) call(ctx context.Context, n *Notification, attrs []slog.Attr) (err error) {
	fctx, cancel := context.WithTimeout(ctx, h.cfg.lease)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			h.log(ctx, slog.LevelError, "alipay: notification function panicked",
				append(attrs, slog.String("panic_type", fmt.Sprintf("%T", v)), slog.String("stack", string(debug.Stack())))...)
			err = errors.New("alipay: notification function panicked")
		}
	}()
	if err := h.dispatch(fctx, n); err != nil {
		h.log(ctx, slog.LevelWarn, "alipay: notification function failed; Alipay will retry",
			append(attrs, slog.String("error", truncate(err.Error(), maxErrorSnippet)))...)
		return err
	}
	return nil
}

// reply writes the acknowledgement.
func (h *notifyHandler) reply(ctx context.Context, w http.ResponseWriter, status int, ack string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if _, err := io.WriteString(w, ack); err != nil {
		h.log(ctx, slog.LevelDebug, "alipay: writing the notification acknowledgement failed", slog.String("error", err.Error()))
	}
}

// log writes one record through the client's logger.
func (h *notifyHandler) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if l := h.c.core.logger; l.Enabled(ctx, level) {
		l.LogAttrs(ctx, level, msg, attrs...)
	}
}

// logNotifyID returns a notify_id fit for a log record (the shape
// verification accepts: 1 to 64 ASCII letters and digits), or "" for
// anything else the sender put there.
func logNotifyID(id string) string {
	if validNotifyID(id) {
		return id
	}
	return ""
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
