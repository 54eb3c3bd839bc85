package alipay_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
)

// printObserver prints each attempt: what a tracing or metrics adapter
// (github.com/isvkit/alipay/otel) receives.
type printObserver struct{}

func (printObserver) StartCall(ctx context.Context, call alipay.CallInfo) context.Context {
	fmt.Println("call", call.Method, "merchant", call.Merchant)
	return ctx
}

func (printObserver) ObserveAttempt(_ context.Context, a *alipay.Attempt) {
	fmt.Println("attempt", a.Number, "status", a.StatusCode, "code", a.Code, "retry", a.Retry)
}

func ExampleWithObserver() {
	gw, err := alipaytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	isv, err := gw.NewClient(alipay.WithObserver(printObserver{}), alipay.WithRetry(3, time.Millisecond, time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultUnsignedError, Count: 1})
	_, err = isv.WithAppAuthToken(alipaytest.DefaultMerchantToken).AppAPIQuery(context.Background(), nil)
	fmt.Println("error:", err)
	// Output:
	// call alipay.open.app.api.query merchant 2a9f6770
	// attempt 1 status 200 code 20000 retry true
	// attempt 2 status 200 code 10000 retry false
	// error: <nil>
}
