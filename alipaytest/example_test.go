package alipaytest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
)

// A test of an ISV backend: the fake gateway hands out its keys, the client
// under test talks to it, and the test decides the audit.
func ExampleNewServer() {
	s, err := alipaytest.NewServer()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()

	c, err := alipay.NewClient(alipaytest.DefaultAppID,
		alipay.WithGatewayURL(s.URL),
		alipay.WithPrivateKey(s.AppPrivateKeyPEM()),
		alipay.WithAlipayPublicKey(s.AlipayPublicKeyPEM()))
	if err != nil {
		fmt.Println(err)
		return
	}
	m := c.WithAppAuthToken(alipaytest.DefaultMerchantToken)

	apis, err := m.AppAPIQuery(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	f := apis.APIs[0]
	fmt.Println("may apply for:", f.APIName, f.FieldName)

	_, err = m.AppAPIFieldApply(ctx, &alipay.AppAPIFieldApplyRequest{
		AuthFieldApply: alipay.AuthFieldApply{
			APIName: f.APIName, FieldName: f.FieldName, PackageCode: f.PackageCode, SceneCode: "14",
			QPSAnswer: "200 QPS", CustomerAnswer: "客服团队3人",
		},
		Pictures: []alipay.File{alipay.FileFromBytes("flow.png", []byte("\x89PNG\r\n\x1a\n demo"))},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Approve(alipaytest.DefaultMerchantToken, f.APIName, f.FieldName, f.PackageCode); err != nil {
		fmt.Println(err)
		return
	}
	recs, err := m.AppAPIFieldQuery(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status:", recs.Records(f.APIName, f.FieldName, f.PackageCode)[0].Status)

	// Resilience: the next answer carries a tampered signature.
	s.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultTamperSignature, Count: 1})
	_, err = m.AppAPIFieldQuery(ctx, nil)
	fmt.Println("tampered answer refused:", errors.Is(err, alipay.ErrSignature))
	// Output:
	// may apply for: getPhoneNumber mobile
	// status: AGREE
	// tampered answer refused: true
}
