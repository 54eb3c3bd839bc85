package alipay_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
)

// Reads are retried on transient failures; a Call is retried only when the
// caller says its method is safe to repeat.
func ExampleContextWithRetry() {
	gw, err := alipaytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	isv, err := gw.NewClient(alipay.WithRetry(3, 10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	m := isv.WithAppAuthToken(alipaytest.DefaultMerchantToken)
	ctx := context.Background()

	// A typed query meets a front proxy's 503 once, then succeeds.
	gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultHTTPStatus, Status: 503, Count: 1})
	_, err = m.AppAPIFieldQuery(ctx, nil)
	fmt.Println("typed query:", err)

	// Call does not know what a method does: without the mark it tries once.
	gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultHTTPStatus, Status: 503, Count: 1})
	_, err = m.Call(ctx, "alipay.open.app.api.field.query", nil)
	fmt.Println("unmarked Call:", alipay.IsTransient(err))
	gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultHTTPStatus, Status: 503, Count: 1})
	_, err = m.Call(alipay.ContextWithRetry(ctx, alipay.CallRetry{Safe: true}), "alipay.open.app.api.field.query", nil)
	fmt.Println("Call marked safe:", err)

	// One call with retries off.
	gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultHTTPStatus, Status: 503, Count: 1})
	_, err = m.AppAPIQuery(alipay.ContextWithRetry(ctx, alipay.CallRetry{Attempts: 1}), nil)
	var re *alipay.ResponseError
	fmt.Println("retries off:", errors.As(err, &re) && re.StatusCode == 503)
	// Output:
	// typed query: <nil>
	// unmarked Call: true
	// Call marked safe: <nil>
	// retries off: true
}

// A write whose answer is lost is never sent again by the SDK: the error
// says the outcome is unknown.
func ExampleIsTransient() {
	gw, err := alipaytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	isv, err := gw.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	m := isv.WithAppAuthToken(alipaytest.DefaultMerchantToken)

	gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultUnsignedError, Count: 1}) // 20000 isp.unknow-error
	_, err = m.AppAPIFieldApply(context.Background(), phoneApplication())
	fmt.Println("transient:", alipay.IsTransient(err))
	fmt.Println("outcome unknown:", errors.Is(err, alipay.ErrOutcomeUnknown))
	fmt.Println("requests:", gw.RequestCount("alipay.open.app.api.field.apply"))
	// Output:
	// transient: true
	// outcome unknown: true
	// requests: 1
}
