package alipay_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/isvkit/alipay"
)

// The app gateway with the registry: the authorization notify stores the
// merchant's token before the handler answers "success", and a client for
// the merchant comes from the registry at once. The handler is built once;
// its configuration errors come back here, not as failing requests.
func ExampleClient_NewNotifyHandler() {
	isv := exampleClient("http://127.0.0.1:1/gateway.do") // no gateway call in this example
	store := alipay.NewMemoryMerchantStore()              // redisstore.NewMerchantStore for replicas

	h, err := isv.NewNotifyHandler(alipay.NotifyRoutes{
		AppAuthNotify: func(ctx context.Context, n *alipay.Notification, ev *alipay.AppAuthNotify) error {
			fmt.Println("authorized:", ev.Token.AuthAppID, ev.Trigger, ev.OutBizNo, ev.Merchant.State)
			return nil
		},
		AppAPIFieldChanged: func(ctx context.Context, n *alipay.Notification, ev *alipay.AppAPIFieldChanged) error {
			fmt.Println("audit:", ev.UserAppID, ev.Status)
			return nil
		},
	}, alipay.WithNotifyMerchantStore(store))
	if err != nil {
		log.Fatal(err) // a bad option, or no route at all
	}
	app := httptest.NewUnstartedServer(h)
	app.Config.ReadHeaderTimeout, app.Config.ReadTimeout = 10*time.Second, 30*time.Second
	app.Start()
	defer app.Close()

	// Alipay delivers the authorization notify, twice.
	notify := signedForm(authNotifyParams("2024052000222205656083451410597730"))
	for i := 0; i < 2; i++ {
		fmt.Println(postForm(app.URL, notify))
	}
	m, err := isv.ForMerchant(context.Background(), store, merchantAppID)
	fmt.Println(m.AppID(), err)
	// Output:
	// authorized: 2021004000000002 mrchiscore ISV-20240520-0001 authorized
	// 200 success
	// 200 success
	// 2021000000000001 <nil>
}

// A process that only receives notifications needs no app private key: a
// verifier holds the app id and Alipay's public key (or certificate).
func ExampleNewNotifyVerifier() {
	v, err := alipay.NewNotifyVerifier("2021000000000001",
		alipay.WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem"))
	if err != nil {
		log.Fatal(err)
	}
	h, err := v.NewNotifyHandler(alipay.NotifyRoutes{
		AuthUserAuthCancelled: func(ctx context.Context, n *alipay.Notification, ev *alipay.AuthUserAuthCancelled) error {
			at, _ := ev.CancelTime.Time()
			fmt.Println("user", ev.UserID, "cancelled app", ev.AppID, "at", at.UTC().Format(time.RFC3339))
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	app := httptest.NewServer(h)
	defer app.Close()
	msg := signedForm(map[string]string{
		"notify_id": "2024052000262171013056307524600406", "msg_method": "alipay.open.auth.userauth.cancelled",
		"utc_timestamp": strconv.FormatInt(time.Now().UnixMilli(), 10), "app_id": "2021000000000001",
		"version": "1.1", "charset": "UTF-8",
		"biz_content": `{"cancel_time":1716182055000,"user_id":"2088000000000003","app_id":"2021000000000001"}`,
	})
	fmt.Println(postForm(app.URL, msg))
	msg.Set("app_id", "2021000000000099") // altered after signing
	fmt.Println(postForm(app.URL, msg))
	// Output:
	// user 2088000000000003 cancelled app 2021000000000001 at 2024-05-20T05:14:15Z
	// 200 success
	// 400 fail
}

// The merchant's AES key goes into the registry's sealed slot, and the
// registry is the key source of open data: the current key first, then
// the previous one after a change.
func ExampleClient_SyncMerchantAESKey() {
	gw := fakeGateway(map[string]func(string) string{
		"alipay.open.auth.app.aes.get": func(string) string {
			return `{"code":"10000","msg":"Success","aes_key":"` + merchantAESKey + `"}`
		},
	})
	defer gw.Close()
	store := alipay.NewMemoryMerchantStore()
	isv := exampleClient(gw.URL, alipay.WithAESKey(isvAESKey), alipay.WithAESKeySource(alipay.MerchantAESKeys(store)))
	ctx := context.Background()
	_, err := isv.RecordAuthorization(ctx, store, alipay.Authorization{Token: alipay.AppToken{
		AppAuthToken: alipay.NewSecret("202405BBexampleAppAuthToken0001"), AuthAppID: merchantAppID}, Source: "redirect"})
	if err != nil {
		log.Fatal(err)
	}

	// Get; set only when Alipay has no key and you ask for it (never retried).
	m, err := isv.SyncMerchantAESKey(ctx, store, merchantAppID, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored:", m.AESKey) // never prints the key
	p, err := isv.PhoneNumber(ctx, merchantAppID, shareOpenData(`{"code":"10000","msg":"Success","mobile":"13800000000"}`))
	fmt.Println(p, err)
	// Output:
	// stored: [redacted]
	// 138****0000 <nil>
}

// authNotifyParams is an authorization notify as Alipay sends it (tokens
// invented), sent now.
func authNotifyParams(notifyID string) map[string]string {
	return map[string]string{
		"notify_id": notifyID, "notify_type": "open_app_auth_notify", "status": "execute_auth",
		"notify_time": time.Now().In(time.FixedZone("UTC+8", 8*3600)).Format(time.DateTime),
		"charset":     "UTF-8", "version": "1.0", "app_id": "2021000000000001", "auth_app_id": merchantAppID,
		"biz_content": `{"notify_context":{"trigger":"mrchiscore","trigger_context":{"out_biz_no":"ISV-20240520-0001"}},` +
			`"detail":{"app_auth_token":"202405BBexampleAppAuthToken0001","user_id":"2088000000000001","re_expires_in":32140800,` +
			`"auth_time":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `,"app_refresh_token":"202405BBexampleRefreshToken00001",` +
			`"auth_app_id":"` + merchantAppID + `","app_id":"2021000000000001","expires_in":31536000,"app_auth_code":"aae0477c3c014c44b11b240fbebbbX09"},"error":{}}`,
	}
}

// signedForm plays Alipay's part: it signs params (V1: all but sign and
// sign_type, sorted, k=v joined by '&') with the test Alipay key.
func signedForm(params map[string]string) url.Values {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	form, parts := url.Values{}, make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
		form.Set(k, params[k])
	}
	form.Set("sign_type", "RSA2")
	form.Set("sign", alipaySign(strings.Join(parts, "&")))
	return form
}

// postForm posts form to u and returns the status and the answer.
func postForm(u string, form url.Values) (int, string) {
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Two waits for one merchant (two requests of the same ISV user, say) both
// see the one field.changed message; another merchant's wait does not.
func ExampleFieldChangedHub() {
	var hub alipay.FieldChangedHub
	first, stop1 := hub.Subscribe("2021004000000002")
	defer stop1()
	second, stop2 := hub.Subscribe("2021004000000002")
	defer stop2()
	other, stop3 := hub.Subscribe("2021004000000003")
	defer stop3()

	// The body of NotifyRoutes.AppAPIFieldChanged:
	hub.Publish(&alipay.AppAPIFieldChanged{AuthFieldDTO: alipay.AuthFieldDTO{
		UserAppID: "2021004000000002", APIName: "getPhoneNumber", FieldName: "mobile", Status: alipay.AuthFieldStatusAgree,
	}})
	fmt.Println((<-first).Status, (<-second).Status, len(other))
	// Output:
	// AGREE AGREE 0
}
