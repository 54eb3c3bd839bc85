package alipay

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Observer watches every call a client makes, e.g. to trace or measure it
// (the module github.com/isvkit/alipay/otel turns it into OpenTelemetry
// spans and metrics). Its methods run on the calling goroutine, for many
// calls at once: they must be safe for concurrent use, and quick.
type Observer interface {
	// StartCall is called once per call, before its first attempt. The ctx
	// it returns is the one the attempts run with (a span started here
	// becomes the parent of the HTTP client's spans) and the one
	// ObserveAttempt receives; return ctx when there is nothing to add.
	StartCall(ctx context.Context, call CallInfo) context.Context
	// ObserveAttempt is called after each attempt, in order (after the
	// pause that follows it, when there is one). The last attempt of the
	// call has Retry false.
	ObserveAttempt(ctx context.Context, a *Attempt)
}

// CallInfo names a call for an [Observer].
type CallInfo struct {
	Method   string // the Alipay method, e.g. "alipay.open.app.api.query"
	AppID    string // the app id the requests are signed as
	Merchant string // fingerprint of the merchant's app_auth_token; "" when the ISV app calls for itself
}

// Attempt is what an [Observer] learns about one attempt of a call. It holds
// no token, signature, biz_content or body.
type Attempt struct {
	Method string // the Alipay method
	AppID  string // the app id the request was signed as
	// Merchant is the fingerprint of the merchant's app_auth_token (the
	// first 8 hex digits of its SHA-256), never the token; "" when the ISV
	// app calls for itself.
	Merchant   string
	Number     int // 1 for the first attempt
	Start      time.Time
	Duration   time.Duration
	StatusCode int    // HTTP status; 0 when no answer came
	Code       string // gateway code: "10000" on success; "" when there was no Alipay answer
	SubCode    string
	TraceID    string // the trace_id response header
	Err        error  // nil on success; the error the call returns when Retry is false
	// Retry reports that another attempt follows, after the pause Delay;
	// false: the call ends with this attempt. A Delay with Retry false is a
	// pause cut short by the ctx: Err then says so.
	Retry bool
	Delay time.Duration
	// OutcomeUnknown reports a write that may have been applied although
	// it failed (errors.Is(Err, ErrOutcomeUnknown)).
	OutcomeUnknown bool
}

// WithObserver sets an [Observer] that sees every call and each of its
// attempts. nil is an error.
func WithObserver(o Observer) Option {
	return func(c *config) error {
		if o == nil {
			return errors.New("alipay: WithObserver: nil observer")
		}
		c.observer = o
		return nil
	}
}

// startObserving tells the observer a call starts and returns the ctx the
// attempts use.
func (c *Client) startObserving(ctx context.Context, method string) (context.Context, Observer) {
	o := c.core.observer
	if o == nil {
		return ctx, nil
	}
	return o.StartCall(ctx, CallInfo{Method: method, AppID: c.core.appID, Merchant: c.fingerprint()}), o
}

// report fills in what the answer says, writes the attempt's Debug record
// and hands the attempt to the observer.
func (c *Client) report(ctx context.Context, o Observer, a *Attempt, res *verifiedBody) {
	var (
		apiErr *APIError
		resErr *ResponseError
	)
	switch {
	case res != nil:
		a.Code, a.TraceID = "10000", res.traceID
	case errors.As(a.Err, &apiErr):
		a.Code, a.SubCode, a.TraceID = apiErr.Code, apiErr.SubCode, apiErr.TraceID
	case errors.As(a.Err, &resErr):
		a.TraceID = resErr.TraceID
	}
	c.logAttempt(ctx, a, res)
	if o != nil {
		o.ObserveAttempt(ctx, a)
	}
}

// logAttempt writes the Debug record of one attempt, when Debug is
// enabled: one record per attempt, so one per call without retries.
func (c *Client) logAttempt(ctx context.Context, a *Attempt, res *verifiedBody) {
	l := c.core.logger
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := make([]slog.Attr, 0, 14)
	attrs = append(attrs,
		slog.String("method", a.Method), slog.String("app_id", a.AppID),
		slog.String("merchant", a.Merchant), slog.Int("attempt", a.Number), slog.Int("status", a.StatusCode),
		slog.Duration("duration", a.Duration),
	)
	if a.Code != "" {
		attrs = append(attrs, slog.String("code", a.Code))
	}
	if a.TraceID != "" || res != nil {
		attrs = append(attrs, slog.String("trace_id", a.TraceID))
	}
	if res != nil {
		attrs = append(attrs, slog.Int("bytes", len(res.body)))
	}
	var (
		apiErr *APIError
		verErr *VerifyError
		resErr *ResponseError
	)
	switch err := a.Err; {
	case errors.As(err, &apiErr):
		attrs = append(attrs, slog.String("sub_code", apiErr.SubCode), slog.Bool("verified", apiErr.Verified))
	case errors.As(err, &verErr): // its Error() quotes the response node: log the step only
		attrs = append(attrs, slog.String("error", "verification failed"), slog.String("step", string(verErr.Step)))
	case errors.As(err, &resErr): // its Error() quotes the body: log the reason only
		attrs = append(attrs, slog.String("error", "unusable response"), slog.String("reason", string(resErr.Reason)))
	case err != nil:
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if a.Retry {
		attrs = append(attrs, slog.Bool("retry", true), slog.Duration("delay", a.Delay))
	}
	if a.OutcomeUnknown {
		attrs = append(attrs, slog.Bool("outcome_unknown", true))
	}
	l.LogAttrs(ctx, slog.LevelDebug, "alipay call", attrs...)
}

// fingerprint is the merchant token's fingerprint, "" for the ISV's own
// client.
func (c *Client) fingerprint() string { return c.appAuthToken().fingerprint() }
