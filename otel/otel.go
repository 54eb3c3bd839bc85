// Package alipayotel turns the calls of an [alipay.Client] into
// OpenTelemetry spans and metrics. It lives in its own module so that the
// SDK itself keeps its three dependencies.
//
//	obs, err := alipayotel.New() // the global tracer and meter providers
//	isv, err := alipay.NewClient(appID, keys, alipay.WithObserver(obs))
//
// Every call becomes one client span named for the Alipay method
// ("alipay.open.app.api.query", not a wall of identical "POST" spans), the
// parent of the HTTP client's spans when the transport is instrumented,
// with one "alipay.attempt" event per attempt. Three instruments measure the
// calls:
//
//   - alipay.client.call.duration (s): the whole call, retries included;
//   - alipay.client.call.attempts ({attempt}): attempts per call;
//   - alipay.client.call.errors ({error}): failed calls, by method, code,
//     sub_code and error.type.
//
// Attributes carry the method, the app id, the merchant's token
// fingerprint, HTTP status, code, sub_code and trace_id. Never a token, a
// signature, a biz_content, a body or an error text.
package alipayotel

import (
	"context"
	"errors"
	"time"

	"github.com/isvkit/alipay"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope name.
const scope = "github.com/isvkit/alipay/otel"

// Attribute keys.
const (
	keyMethod         = attribute.Key("rpc.method")
	keySystem         = attribute.Key("rpc.system")
	keyAppID          = attribute.Key("alipay.app_id")
	keyMerchant       = attribute.Key("alipay.merchant")
	keyAttempt        = attribute.Key("alipay.attempt")
	keyAttempts       = attribute.Key("alipay.attempts")
	keyStatus         = attribute.Key("http.response.status_code")
	keyCode           = attribute.Key("alipay.code")
	keySubCode        = attribute.Key("alipay.sub_code")
	keyTraceID        = attribute.Key("alipay.trace_id")
	keyRetry          = attribute.Key("alipay.retry")
	keyDelay          = attribute.Key("alipay.retry.delay_ms")
	keyOutcomeUnknown = attribute.Key("alipay.outcome_unknown")
	keyErrorType      = attribute.Key("error.type")
)

// Observer is an [alipay.Observer] that records spans and metrics. It is
// safe for concurrent use.
type Observer struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	attempts metric.Int64Histogram
	errors   metric.Int64Counter
}

var _ alipay.Observer = (*Observer)(nil)

// Option configures [New].
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets the tracer provider (default: otel's global).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets the meter provider (default: otel's global).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// New returns an Observer recording with the given providers.
func New(opts ...Option) (*Observer, error) {
	var c config
	for _, opt := range opts {
		opt(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	meter := c.mp.Meter(scope)
	o := &Observer{tracer: c.tp.Tracer(scope)}
	var err error
	if o.duration, err = meter.Float64Histogram("alipay.client.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of Alipay gateway calls, retries included.")); err != nil {
		return nil, err
	}
	if o.attempts, err = meter.Int64Histogram("alipay.client.call.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts made by one Alipay gateway call."),
		metric.WithExplicitBucketBoundaries(1, 2, 3, 4, 5, 10)); err != nil {
		return nil, err
	}
	if o.errors, err = meter.Int64Counter("alipay.client.call.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Failed Alipay gateway calls, by code.")); err != nil {
		return nil, err
	}
	return o, nil
}

// callStart is the ctx key of a call's start time.
type callStart struct{}

// StartCall starts the call's client span, named for the Alipay method.
func (o *Observer) StartCall(ctx context.Context, call alipay.CallInfo) context.Context {
	ctx, _ = o.tracer.Start(ctx, call.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(keySystem.String("alipay"), keyMethod.String(call.Method),
			keyAppID.String(call.AppID), keyMerchant.String(call.Merchant)))
	return context.WithValue(ctx, callStart{}, time.Now())
}

// ObserveAttempt adds the attempt's event to the call's span; after the
// last attempt it ends the span and records the call's metrics.
func (o *Observer) ObserveAttempt(ctx context.Context, a *alipay.Attempt) {
	span := trace.SpanFromContext(ctx)
	attrs := []attribute.KeyValue{keyAttempt.Int(a.Number), keyStatus.Int(a.StatusCode)}
	attrs = appendNonEmpty(attrs, keyCode, a.Code)
	attrs = appendNonEmpty(attrs, keySubCode, a.SubCode)
	attrs = appendNonEmpty(attrs, keyTraceID, a.TraceID)
	if a.Err != nil {
		attrs = append(attrs, keyErrorType.String(errorType(a.Err)))
	}
	if a.Retry {
		attrs = append(attrs, keyRetry.Bool(true), keyDelay.Int64(a.Delay.Milliseconds()))
	}
	if a.OutcomeUnknown {
		attrs = append(attrs, keyOutcomeUnknown.Bool(true))
	}
	span.AddEvent("alipay.attempt", trace.WithTimestamp(a.Start.Add(a.Duration)), trace.WithAttributes(attrs...))
	if a.Retry {
		return
	}

	final := []attribute.KeyValue{keyAttempts.Int(a.Number), keyStatus.Int(a.StatusCode)}
	final = appendNonEmpty(final, keyCode, a.Code)
	final = appendNonEmpty(final, keySubCode, a.SubCode)
	final = appendNonEmpty(final, keyTraceID, a.TraceID)
	metricAttrs := []attribute.KeyValue{keyMethod.String(a.Method)}
	if a.Err != nil {
		kind := errorType(a.Err)
		final = append(final, keyErrorType.String(kind))
		if a.OutcomeUnknown {
			final = append(final, keyOutcomeUnknown.Bool(true))
		}
		span.SetStatus(codes.Error, kind) // the class, never the error's text
		errAttrs := append(append([]attribute.KeyValue{}, metricAttrs...), keyErrorType.String(kind))
		errAttrs = appendNonEmpty(errAttrs, keyCode, a.Code)
		errAttrs = appendNonEmpty(errAttrs, keySubCode, a.SubCode)
		o.errors.Add(ctx, 1, metric.WithAttributes(errAttrs...))
	}
	span.SetAttributes(final...)
	span.End()

	start, ok := ctx.Value(callStart{}).(time.Time)
	if !ok {
		start = a.Start
	}
	set := metric.WithAttributes(metricAttrs...)
	o.duration.Record(ctx, time.Since(start).Seconds(), set)
	o.attempts.Record(ctx, int64(a.Number), set)
}

func appendNonEmpty(attrs []attribute.KeyValue, k attribute.Key, v string) []attribute.KeyValue {
	if v == "" {
		return attrs
	}
	return append(attrs, k.String(v))
}

// errorType names the class of a call's error.
func errorType(err error) string {
	var (
		apiErr *alipay.APIError
		verErr *alipay.VerifyError
		resErr *alipay.ResponseError
		valErr *alipay.ValidationError
	)
	switch {
	case errors.As(err, &apiErr):
		return "api_error"
	case errors.As(err, &verErr):
		return "verify_error"
	case errors.As(err, &resErr):
		return "response_error"
	case errors.As(err, &valErr):
		return "invalid_request"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "transport_error"
}
