package alipay_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
)

// A merchant authorised the ISV, and its app_auth_code reached the
// redirect URL: exchange the code, store every authorised app in the
// registry, then take the merchant's client from the registry. Offline,
// alipaytest plays Alipay and the merchant.
func ExampleClient_AuthTokenApp() {
	gw, isv := authorizationExample() // Alipay's side, and the ISV's client of it
	defer gw.Close()
	// The merchant authorises two mini-programs at once (批量授权).
	code, err := gw.Authorize("2021004000000003", alipaytest.AuthBatch("2021004000000004"), alipaytest.AuthNoNotify())
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	res, err := isv.AuthTokenApp(ctx, &alipay.AuthTokenAppRequest{GrantType: alipay.GrantAuthorizationCode, Code: code})
	if err != nil {
		log.Fatal(err) // never exchange the code again: it is single-use
	}
	store := alipay.NewMemoryMerchantStore() // redisstore.NewMerchantStore (sealed) in production
	for _, tok := range res.Tokens {
		m, err := isv.RecordAuthorization(ctx, store, alipay.Authorization{Token: tok, Source: "redirect", Code: code})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(m.AppID, m.State, m.AppAuthToken) // tokens never print
	}

	m, err := isv.ForMerchant(ctx, store, "2021004000000003") // per request: a cheap derived client
	if err != nil {
		log.Fatal(err) // alipay.IsReauthorizationNeeded(err): cancelled, or the token stopped working
	}
	info, err := m.MiniBaseInfoQuery(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.AppName)
	// Output:
	// 2021004000000003 authorized [redacted]
	// 2021004000000004 authorized [redacted]
	// 小程序示例
}

// The redirect URL's handler checks the state the ISV put in the
// authorization link, exchanges the code and stores the tokens; a
// replayed or forged redirect is refused.
func ExampleClient_AuthRedirectHandler() {
	gw, isv := authorizationExample() // Alipay's side, and the ISV's client of it
	defer gw.Close()
	store := alipay.NewMemoryMerchantStore()
	states, err := alipay.NewStateSigner(bytes.Repeat([]byte("k"), 32), 30*time.Minute) // 32 random bytes, shared by replicas
	if err != nil {
		log.Fatal(err)
	}
	h, err := isv.AuthRedirectHandler(store, states, func(w http.ResponseWriter, r *http.Request, a *alipay.AuthRedirect) {
		fmt.Fprintf(w, "account %s: %d merchant(s) linked", a.State.Data, len(a.Merchants))
	})
	if err != nil {
		log.Fatal(err)
	}

	state, err := states.Issue("isv-account-42") // goes into the authorization link
	if err != nil {
		log.Fatal(err)
	}
	code, err := gw.Authorize("2021004000000003", alipaytest.AuthNoNotify())
	if err != nil {
		log.Fatal(err)
	}
	target := "/alipay/authorized?" + url.Values{"app_auth_code": {code}, "state": {state}}.Encode()
	for range 2 { // the merchant's browser arrives, then the same URL is replayed
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 account isv-account-42: 1 merchant(s) linked
	// 400 authorization link used already
}

// authorizationExample starts alipaytest and returns it with the ISV's
// client: alipay.NewClient with the server's gateway URL and the package's
// public test keys (in production: your app id, keys and the real gateway).
func authorizationExample() (*alipaytest.Server, *alipay.Client) {
	gw, err := alipaytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	isv, err := gw.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	return gw, isv
}
