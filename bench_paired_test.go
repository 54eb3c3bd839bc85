package alipay

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkCallPaired runs, in every iteration, one SDK call and one raw
// call (BenchmarkRawCall's minimal stdlib call) in random order, against the
// same loopback server, and reports the median of the per-pair ratios
// sdk/raw, with the medians of each side. Pairing adjacent calls cancels
// the drift of a loaded machine that separate benchmarks suffer; run it
// with -count=10 and read the ratio with benchstat. Sub-benchmarks: the
// defaults (timeout as a ctx deadline, 3 attempts configured, no fault),
// and retries off.
func BenchmarkCallPaired(b *testing.B) {
	b.Run("retries=default", func(b *testing.B) { benchPaired(b) })
	b.Run("retries=off", func(b *testing.B) { benchPaired(b, WithRetry(1, 0, 0)) })
}

func benchPaired(b *testing.B, opts ...Option) {
	f := newBenchFixture(b, opts...)
	ctx, hc := context.Background(), rawHTTPClient()
	sdk := func() {
		if _, err := f.client.AppAPIQuery(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	raw := func() {
		if _, err := f.rawCall(ctx, hc); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ { // warm both connections and caches
		sdk()
		raw()
	}
	ratios := make([]float64, 0, b.N)
	sdkNs := make([]float64, 0, b.N)
	rawNs := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var ds, dr time.Duration
		if rand.IntN(2) == 0 {
			ds, dr = timed(sdk), timed(raw)
		} else {
			dr, ds = timed(raw), timed(sdk)
		}
		ratios = append(ratios, float64(ds)/float64(dr))
		sdkNs = append(sdkNs, float64(ds))
		rawNs = append(rawNs, float64(dr))
	}
	b.StopTimer()
	b.ReportMetric(median(ratios), "sdk/raw")
	b.ReportMetric(median(sdkNs), "sdk-ns/call")
	b.ReportMetric(median(rawNs), "raw-ns/call")
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
