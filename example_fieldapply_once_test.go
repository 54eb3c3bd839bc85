package alipay_test

import (
	"context"
	"fmt"
	"log"

	"github.com/isvkit/alipay/alipaytest"
)

// ApplyFieldOnce looks before it applies, and again when the answer is
// lost: the application is recorded once.
func ExampleClient_ApplyFieldOnce() {
	gw, err := alipaytest.NewServer(alipaytest.WithAutoAudit(0, func(alipaytest.Application) (alipaytest.Status, string) {
		return alipaytest.StatusAudit, "" // the audit takes days
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	isv, err := gw.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	m := isv.WithAppAuthToken(alipaytest.DefaultMerchantToken)
	ctx := context.Background()

	// The gateway records the application, then the connection drops.
	gw.InjectFault(alipaytest.Fault{Method: "alipay.open.app.api.field.apply", Kind: alipaytest.FaultDisconnect, Count: 1})
	res, err := m.ApplyFieldOnce(ctx, phoneApplication())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Outcome, res.Record.Status)

	// Running it again finds the application and sends nothing.
	res, err = m.ApplyFieldOnce(ctx, phoneApplication())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Outcome, res.Record.Status)
	fmt.Println("applications:", len(gw.Applications(alipaytest.DefaultMerchantToken)))
	// Output:
	// confirmed AUDIT
	// existing AUDIT
	// applications: 1
}
