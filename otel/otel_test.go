package alipayotel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	alipayotel "github.com/isvkit/alipay/otel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const (
	methodScene = "alipay.open.app.api.scene.query"
	methodApply = "alipay.open.app.api.field.apply"
)

// setup is a fake gateway and a merchant client observed into an in-memory
// span exporter and a manual metric reader.
type setup struct {
	gw     *alipaytest.Server
	m      *alipay.Client
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	gw, err := alipaytest.NewServer()
	require.NoError(t, err)
	t.Cleanup(gw.Close)
	spans := tracetest.NewInMemoryExporter()
	reader := sdkmetric.NewManualReader()
	obs, err := alipayotel.New(
		alipayotel.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))),
		alipayotel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
	)
	require.NoError(t, err)
	c, err := gw.NewClient(alipay.WithObserver(obs), alipay.WithRetry(3, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	return &setup{gw: gw, m: c.WithAppAuthToken(alipaytest.DefaultMerchantToken), spans: spans, reader: reader}
}

func attrMap(kvs []attribute.KeyValue) map[string]attribute.Value {
	m := make(map[string]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// secretsIn lists what must never appear in telemetry: the token, every
// sign and biz_content the gateway received.
func (s *setup) secrets() []string {
	out := []string{alipaytest.DefaultMerchantToken, "biz_content", `"api_name"`}
	for _, r := range s.gw.Requests() {
		out = append(out, r.Params.Get("sign"))
		if biz := r.Params.Get("biz_content"); biz != "" {
			out = append(out, biz)
		}
	}
	return out
}

// TestSpanPerCallWithAttemptEvents: a read that meets one 503 is one span
// named for the method with two attempt events, and nothing secret in any
// attribute.
func TestSpanPerCallWithAttemptEvents(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	s.gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultHTTPStatus, Status: 503, Count: 1})
	_, err := s.m.AppAPISceneQuery(ctx, &alipay.AppAPISceneQueryRequest{APIName: "getPhoneNumber", FieldName: "mobile"})
	require.NoError(t, err)

	got := s.spans.GetSpans()
	require.Len(t, got, 1)
	span := got[0]
	assert.Equal(t, methodScene, span.Name)
	assert.Equal(t, trace.SpanKindClient, span.SpanKind)
	assert.NotEqual(t, codes.Error, span.Status.Code)
	attrs := attrMap(span.Attributes)
	assert.Equal(t, methodScene, attrs["rpc.method"].AsString())
	assert.Equal(t, alipaytest.DefaultAppID, attrs["alipay.app_id"].AsString())
	assert.Len(t, attrs["alipay.merchant"].AsString(), 8)
	assert.EqualValues(t, 2, attrs["alipay.attempts"].AsInt64())
	assert.Equal(t, "10000", attrs["alipay.code"].AsString())
	assert.NotEmpty(t, attrs["alipay.trace_id"].AsString())

	require.Len(t, span.Events, 2)
	first, second := attrMap(span.Events[0].Attributes), attrMap(span.Events[1].Attributes)
	assert.Equal(t, "alipay.attempt", span.Events[0].Name)
	assert.EqualValues(t, 1, first["alipay.attempt"].AsInt64())
	assert.EqualValues(t, 503, first["http.response.status_code"].AsInt64())
	assert.True(t, first["alipay.retry"].AsBool())
	assert.Equal(t, "response_error", first["error.type"].AsString())
	assert.EqualValues(t, 2, second["alipay.attempt"].AsInt64())
	assert.Equal(t, "10000", second["alipay.code"].AsString())

	all := fmt.Sprint(span.Attributes, span.Events, span.Status, span.Resource)
	for _, secret := range s.secrets() {
		assert.NotContains(t, all, secret)
	}
}

// TestMetricsAndFailures: the duration, attempts and errors instruments;
// a failed write's span is an error saying the outcome is unknown.
func TestMetricsAndFailures(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	_, err := s.m.AppAPIQuery(ctx, nil)
	require.NoError(t, err)
	s.gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultTamperSignature, Count: 1})
	_, err = s.m.AppAPIQuery(ctx, nil)
	require.ErrorIs(t, err, alipay.ErrSignature)
	s.gw.InjectFault(alipaytest.Fault{Method: methodApply, Kind: alipaytest.FaultDisconnect, Count: 1})
	_, err = s.m.AppAPIFieldApply(ctx, &alipay.AppAPIFieldApplyRequest{
		AuthFieldApply: alipay.AuthFieldApply{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444",
			SceneCode: "14", QPSAnswer: "10", CustomerAnswer: "有"},
		Pictures: []alipay.File{alipay.FileFromBytes("login.png", pngBytes())},
	})
	require.ErrorIs(t, err, alipay.ErrOutcomeUnknown)

	got := s.spans.GetSpans()
	require.Len(t, got, 3)
	apply := got[2]
	assert.Equal(t, methodApply, apply.Name)
	assert.Equal(t, codes.Error, apply.Status.Code)
	assert.Equal(t, "transport_error", apply.Status.Description)
	assert.True(t, attrMap(apply.Attributes)["alipay.outcome_unknown"].AsBool())
	assert.Equal(t, "verify_error", attrMap(got[1].Attributes)["error.type"].AsString())

	var rm metricdata.ResourceMetrics
	require.NoError(t, s.reader.Collect(ctx, &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	byName := map[string]metricdata.Metrics{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		byName[m.Name] = m
	}
	dur := byName["alipay.client.call.duration"].Data.(metricdata.Histogram[float64])
	counts := map[string]uint64{}
	for _, p := range dur.DataPoints {
		method, _ := p.Attributes.Value("rpc.method")
		counts[method.AsString()] += p.Count
	}
	assert.Equal(t, map[string]uint64{"alipay.open.app.api.query": 2, methodApply: 1}, counts)
	attempts := byName["alipay.client.call.attempts"].Data.(metricdata.Histogram[int64])
	var sum int64
	for _, p := range attempts.DataPoints {
		sum += p.Sum
	}
	assert.EqualValues(t, 3, sum, "one attempt each: a verification failure is never retried")
	errs := byName["alipay.client.call.errors"].Data.(metricdata.Sum[int64])
	kinds := map[string]int64{}
	for _, p := range errs.DataPoints {
		kind, _ := p.Attributes.Value("error.type")
		kinds[kind.AsString()] += p.Value
	}
	assert.Equal(t, map[string]int64{"verify_error": 1, "transport_error": 1}, kinds)

	all := fmt.Sprint(got, rm)
	for _, secret := range s.secrets() {
		if len(secret) > 8 { // the biz_content of a query without one is short
			assert.False(t, strings.Contains(all, secret), "telemetry holds %q", secret)
		}
	}
}

// pngBytes is the PNG signature and a little padding: enough for the fake
// gateway's format check.
func pngBytes() []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)
}
