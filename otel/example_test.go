package alipayotel_test

import (
	"context"
	"fmt"
	"log"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	alipayotel "github.com/isvkit/alipay/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func ExampleNew() {
	spans := tracetest.NewInMemoryExporter() // an OTLP exporter in production
	obs, err := alipayotel.New(alipayotel.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))))
	if err != nil {
		log.Fatal(err)
	}
	gw, err := alipaytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	isv, err := gw.NewClient(alipay.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := isv.WithAppAuthToken(alipaytest.DefaultMerchantToken).AppAPIQuery(context.Background(), nil); err != nil {
		log.Fatal(err)
	}
	for _, s := range spans.GetSpans() {
		fmt.Println(s.Name, s.SpanKind, len(s.Events), "attempt")
	}
	// Output:
	// alipay.open.app.api.query client 1 attempt
}
