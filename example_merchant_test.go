package alipay_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
)

// exampleISV returns the ISV's client of a fake gateway (a real gateway
// in production) and the function that stops the gateway.
func exampleISV() (*alipay.Client, func()) {
	gw, err := alipaytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	isv, err := alipay.NewClient(alipaytest.DefaultAppID, alipay.WithGatewayURL(gw.URL),
		alipay.WithPrivateKey(gw.AppPrivateKeyPEM()), alipay.WithAlipayPublicKey(gw.AlipayPublicKeyPEM()))
	if err != nil {
		log.Fatal(err)
	}
	return isv, gw.Close
}

// A client for a merchant comes from the registry in one call. Here the
// registry is in memory and already holds the merchant's authorization; in
// production it is redisstore's MerchantStore and the authorization comes
// from the redirect handler or the authorization notify.
func ExampleClient_ForMerchant() {
	isv, closeGateway := exampleISV()
	defer closeGateway()
	ctx := context.Background()
	store := alipay.NewMemoryMerchantStore()
	_, err := isv.RecordAuthorization(ctx, store, alipay.Authorization{
		Token: alipay.AppToken{
			AppAuthToken: alipay.NewSecret(alipaytest.DefaultMerchantToken),
			AuthAppID:    alipaytest.DefaultMerchantAppID,
		},
		Source: "notify",
	})
	if err != nil {
		log.Fatal(err)
	}

	m, err := isv.ForMerchant(ctx, store, alipaytest.DefaultMerchantAppID)
	if err != nil {
		log.Fatal(err)
	}
	info, err := m.MiniBaseInfoQuery(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.AppName != "")
	// Output: true
}

// A merchant who withdrew the authorization is refused before anything is
// sent, and the error says why.
func ExampleIsReauthorizationNeeded() {
	isv, closeGateway := exampleISV()
	defer closeGateway()
	ctx := context.Background()
	store := alipay.NewMemoryMerchantStore()
	_, err := isv.RecordAuthorization(ctx, store, alipay.Authorization{Token: alipay.AppToken{
		AppAuthToken: alipay.NewSecret("202405BBexampleAppAuthToken0001"), AuthAppID: "2021004000000002",
	}})
	if err != nil {
		log.Fatal(err)
	}
	_, err = isv.SetMerchantState(ctx, store, "2021004000000002", alipay.MerchantCancelled, "alipay.open.auth.appauth.cancelled")
	if err != nil {
		log.Fatal(err)
	}

	_, err = isv.ForMerchant(ctx, store, "2021004000000002")
	var se *alipay.MerchantStateError
	fmt.Println(alipay.IsReauthorizationNeeded(err), errors.As(err, &se) && se.State == alipay.MerchantCancelled)
	fmt.Println(err)
	// Output:
	// true true
	// alipay: merchant 2021004000000002 is cancelled (alipay.open.auth.appauth.cancelled): the merchant must authorise the ISV again
}

// Tokens never print: not with %v, %+v or %#v, not in a struct, not in a
// log record or JSON.
func ExampleSecret() {
	tok := alipay.AppToken{AppAuthToken: alipay.NewSecret("202405BBexampleAppAuthToken0001"), AuthAppID: "2021004000000002"}
	fmt.Printf("%v\n%+v\n", tok.AppAuthToken, tok)
	fmt.Println(len(tok.AppAuthToken.Reveal()))
	// Output:
	// [redacted]
	// {AppAuthToken:[redacted] AppRefreshToken:[redacted] AuthAppID:2021004000000002 UserID: ExpiresIn: ReExpiresIn:}
	// 31
}

// expires_in arrives as a number or as a string; both decode.
func ExampleFlexInt() {
	for _, in := range []string{`31536000`, `"31536000"`, `""`} {
		var f alipay.FlexInt
		if err := f.UnmarshalJSON([]byte(in)); err != nil {
			log.Fatal(err)
		}
		n, ok := f.Int64()
		fmt.Println(n, ok)
	}
	// Output:
	// 31536000 true
	// 31536000 true
	// 0 false
}
