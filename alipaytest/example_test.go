package alipaytest_test

import (
	"context"
	"encoding/json"
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
	f, ok := apis.Find("getPhoneNumber", "mobile")
	if !ok {
		fmt.Println("getPhoneNumber/mobile is not applicable")
		return
	}
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
	if err := s.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultTamperSignature, Count: 1}); err != nil {
		fmt.Println(err) // an invalid fault
		return
	}
	_, err = m.AppAPIFieldQuery(ctx, nil)
	fmt.Println("tampered answer refused:", errors.Is(err, alipay.ErrSignature))
	// Output:
	// may apply for: getPhoneNumber mobile
	// status: AGREE
	// tampered answer refused: true
}

// A merchant authorises the ISV; the ISV exchanges the code for the
// merchant's token, keeps it in the registry, acts for the merchant with a
// client from the registry, and sees the merchant refused once it cancels.
func ExampleServer_Authorize() {
	s, err := alipaytest.NewServer()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()
	isv, err := s.NewClient()
	if err != nil {
		fmt.Println(err)
		return
	}

	code, err := s.Authorize("2021004000000010") // the code of the ISV's redirect URL
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := isv.AuthTokenApp(ctx, &alipay.AuthTokenAppRequest{GrantType: alipay.GrantAuthorizationCode, Code: code})
	if err != nil {
		fmt.Println(err)
		return
	}
	store := alipay.NewMemoryMerchantStore() // redisstore.NewMerchantStore in production
	for _, tok := range res.Tokens {
		if _, err := isv.RecordAuthorization(ctx, store, alipay.Authorization{Token: tok, Source: "redirect", Code: code}); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("authorised:", tok.AuthAppID)
	}
	merchant, err := isv.ForMerchant(ctx, store, "2021004000000010")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = merchant.AppAPIFieldQuery(ctx, nil)
	fmt.Println("call with its token:", err == nil)

	_, err = isv.AuthTokenApp(ctx, &alipay.AuthTokenAppRequest{GrantType: alipay.GrantAuthorizationCode, Code: code})
	var apiErr *alipay.APIError
	fmt.Println("code used twice:", errors.As(err, &apiErr) && apiErr.SubCode == alipay.SubCodeAuthCodeNotValid)

	if err := s.CancelAuthorization("2021004000000010"); err != nil {
		fmt.Println(err)
		return
	}
	_, err = merchant.AppAPIFieldQuery(ctx, nil) // the token died: the registry marks the merchant
	fmt.Println("after cancellation:", alipay.IsReauthorizationNeeded(err))
	_, err = isv.ForMerchant(ctx, store, "2021004000000010")
	var se *alipay.MerchantStateError
	if errors.As(err, &se) {
		fmt.Println("ForMerchant:", se.AppID, se.State)
	}
	// Output:
	// authorised: 2021004000000010
	// call with its token: true
	// code used twice: true
	// after cancellation: true
	// ForMerchant: 2021004000000010 needs_reauthorization
}

// The ISV sets a merchant's AES key (an encrypted, self-invoked call); a
// user of the merchant's mini-program then shares a phone number, and the
// front end posts the envelope to the ISV's backend.
func ExampleServer_PhoneNumberEnvelope() {
	const isvAESKey = "aYA0GP8JEW+D7/UFaskCWA==" // the ISV app's own content-encryption key
	s, err := alipaytest.NewServer(alipaytest.WithAppAESKey(alipaytest.DefaultAppID, isvAESKey))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	isv, err := s.NewClient() // with alipay.WithAESKey(isvAESKey), from WithAppAESKey
	if err != nil {
		fmt.Println(err)
		return
	}
	raw, err := isv.Call(context.Background(), "alipay.open.auth.app.aes.set",
		map[string]string{"merchant_app_id": alipaytest.DefaultMerchantAppID})
	if err != nil {
		fmt.Println(err)
		return
	}
	var set struct {
		AESKey string `json:"aes_key"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		fmt.Println(err)
		return
	}
	current, _ := s.MerchantAESKey(alipaytest.DefaultMerchantAppID)
	fmt.Println("the ISV holds the merchant's key:", set.AESKey == current)

	envelope, err := s.PhoneNumberEnvelope(alipaytest.DefaultMerchantAppID, "13800000000")
	if err != nil {
		fmt.Println(err)
		return
	}
	var e map[string]string
	if err := json.Unmarshal(envelope, &e); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e["sign_type"], e["encrypt_type"], e["charset"], e["sign"] != "", e["response"] != "")
	// Output:
	// the ISV holds the merchant's key: true
	// RSA2 AES UTF-8 true true
}

// A fifth of the calls fail as the gateway's rate limiter would; the seed
// makes them the same calls on every run.
func ExampleServer_InjectFault() {
	s, err := alipaytest.NewServer(alipaytest.WithFaultSeed(42))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	c, err := s.NewClient()
	if err != nil {
		fmt.Println(err)
		return
	}
	m := c.WithAppAuthToken(alipaytest.DefaultMerchantToken)
	if err := s.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultCallLimited, Rate: 0.2}); err != nil {
		fmt.Println(err)
		return
	}
	limited := 0
	for i := 0; i < 20; i++ {
		// Call is never retried by the client, so each fault shows.
		if _, err := m.Call(context.Background(), "alipay.open.app.api.field.query", nil); alipay.IsRateLimited(err) {
			limited++
		}
	}
	fmt.Println("rate-limited calls:", limited, "of 20")
	// Output:
	// rate-limited calls: 4 of 20
}
