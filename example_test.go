package alipay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log"
	"net/http/httptest"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
)

// The examples run offline against alipaytest, the in-process fake
// gateway: it hands out its public test keys, so no key file is needed.

// demoPNG returns a small real PNG, as field.apply checks the format.
func demoPNG() []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 90, 160))); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// phoneApplication is the application the examples file.
func phoneApplication() *alipay.AppAPIFieldApplyRequest {
	return &alipay.AppAPIFieldApplyRequest{
		AuthFieldApply: alipay.AuthFieldApply{
			APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444",
			SceneCode: "14", QPSAnswer: "峰值 10 QPS", CustomerAnswer: "自有客服热线，3 人团队",
		},
		Pictures: []alipay.File{alipay.FileFromBytes("login.png", demoPNG())},
	}
}

// The whole flow for one merchant: check the category, list what may be
// applied for and in which scenes, apply, then read the audit status.
func Example() {
	gw, err := alipaytest.NewServer() // a real gateway in production
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	ctx := context.Background()

	isv, err := alipay.NewClient(alipaytest.DefaultAppID,
		alipay.WithGatewayURL(gw.URL),
		alipay.WithPrivateKey(gw.AppPrivateKeyPEM()),
		alipay.WithAlipayPublicKey(gw.AlipayPublicKeyPEM()))
	if err != nil {
		log.Fatal(err)
	}
	m := isv.WithAppAuthToken(alipaytest.DefaultMerchantToken)

	info, err := m.MiniBaseInfoQuery(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if !info.HasCategory("交通出行", "物流快递") {
		_, err := m.MiniBaseInfoModify(ctx, &alipay.MiniBaseInfoModifyRequest{MiniCategoryIDs: "XS1011_XS2089"})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("category set")
	}
	apis, err := m.AppAPIQuery(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	f, ok := apis.Find("getPhoneNumber", "mobile")
	if !ok {
		log.Fatal("getPhoneNumber/mobile is not applicable")
	}
	scenes, err := m.AppAPISceneQuery(ctx, &alipay.AppAPISceneQueryRequest{APIName: f.APIName, FieldName: f.FieldName})
	if err != nil {
		log.Fatal(err)
	}
	sc := scenes.AuthFieldScene[0]
	fmt.Println("applying for", f.APIName, f.FieldName, "in scene", sc.SceneCode, sc.SceneDesc)

	_, err = m.AppAPIFieldApply(ctx, &alipay.AppAPIFieldApplyRequest{
		AuthFieldApply: alipay.AuthFieldApply{
			APIName: f.APIName, FieldName: f.FieldName, PackageCode: f.PackageCode, SceneCode: sc.SceneCode,
			QPSAnswer: "峰值 10 QPS", CustomerAnswer: "自有客服热线，3 人团队",
		},
		Pictures: []alipay.File{alipay.FileFromBytes("login.png", demoPNG())},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Alipay's reviewers take days; the fake gateway decides when told.
	if err := gw.Approve(alipaytest.DefaultMerchantToken, f.APIName, f.FieldName, f.PackageCode); err != nil {
		log.Fatal(err)
	}
	recs, err := m.AppAPIFieldQuery(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs.Records(f.APIName, f.FieldName, f.PackageCode) {
		fmt.Println(r.UserAppID, r.Status)
	}
	// Output:
	// category set
	// applying for getPhoneNumber mobile in scene 14 物流快递
	// 2021004000000002 AGREE
}

func ExampleNewClient() {
	gw, err := alipaytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()

	// In production: WithPrivateKeyFile and WithAlipayPublicKeyFile, and
	// the default gateway.
	c, err := alipay.NewClient(alipaytest.DefaultAppID,
		alipay.WithGatewayURL(gw.URL),
		alipay.WithPrivateKey(gw.AppPrivateKeyPEM()),
		alipay.WithAlipayPublicKey(gw.AlipayPublicKeyPEM()),
		alipay.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("client for app", c.AppID())

	// A client that could not verify responses is never built.
	_, err = alipay.NewClient(alipaytest.DefaultAppID, alipay.WithPrivateKey(gw.AppPrivateKeyPEM()))
	fmt.Println("refused without the Alipay public key:", err != nil)
	// Output:
	// client for app 2021000000000001
	// refused without the Alipay public key: true
}

// One ISV client serves every merchant: each derived client carries one
// merchant's app_auth_token and sees only that merchant's mini-program.
func ExampleClient_WithAppAuthToken() {
	gw, err := alipaytest.NewServer(alipaytest.WithMerchant(alipaytest.Merchant{
		Token: "202405BBsecondMerchant0002", AppID: "2021004000000003",
		BaseInfo: alipaytest.BaseInfo{AppName: "第二家小程序", ServicePhone: "13110101010"},
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	isv, err := gw.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	for _, token := range []string{alipaytest.DefaultMerchantToken, "202405BBsecondMerchant0002"} {
		m := isv.WithAppAuthToken(token) // cheap; isv is unchanged
		info, err := m.MiniBaseInfoQuery(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(info.AppName)
	}
	_, err = isv.WithAppAuthToken("202405BBrevoked").MiniBaseInfoQuery(ctx, nil)
	fmt.Println("ask the merchant to authorise again:", alipay.IsAppAuthTokenInvalid(err))
	// Output:
	// 小程序示例
	// 第二家小程序
	// ask the merchant to authorise again: true
}

// An application is not idempotent: a resend after a timeout can meet the
// application it already filed. Treat those sub_codes as "submitted".
func ExampleClient_AppAPIFieldApply() {
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
	ctx := context.Background()

	for i := 0; i < 2; i++ {
		_, err := m.AppAPIFieldApply(ctx, phoneApplication())
		var apiErr *alipay.APIError
		switch {
		case err == nil:
			fmt.Println("submitted")
		case errors.As(err, &apiErr) && (apiErr.SubCode == alipay.SubCodeAuthAPIFieldIsAuditing ||
			apiErr.SubCode == alipay.SubCodeAuthAPIApplyIsPass):
			fmt.Println("already submitted:", apiErr.SubCode)
		default:
			log.Fatal(err)
		}
	}
	// Output:
	// submitted
	// already submitted: AUTH_API_FIELD_IS_AUDITING
}

// The app gateway (应用网关) with one function for every message (Other):
// the handler verifies each message, answers "success" only after the
// function returned nil, and passes a redelivered message to the function
// once.
func ExampleClient_NewNotifyHandler_other() {
	gw, err := alipaytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	isv, err := gw.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	events := make(chan *alipay.AppAPIFieldChanged, 4)
	gateway, err := isv.NewNotifyHandler(alipay.NotifyRoutes{Other: func(ctx context.Context, n *alipay.Notification) error {
		ev, err := n.AppAPIFieldChanged()
		if err != nil {
			return nil // another message: acknowledge it
		}
		events <- ev // in production: update the merchant's record
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	app := httptest.NewUnstartedServer(gateway)
	// The handler cannot bound how slowly a request arrives: the server must.
	app.Config.ReadHeaderTimeout, app.Config.ReadTimeout = 10*time.Second, 30*time.Second
	app.Start()
	defer app.Close()
	if err := gw.SetNotifyURL(app.URL + "/alipay/notify"); err != nil {
		log.Fatal(err)
	}

	m := isv.WithAppAuthToken(alipaytest.DefaultMerchantToken)
	if _, err := m.AppAPIFieldApply(ctx, phoneApplication()); err != nil {
		log.Fatal(err)
	}
	if err := gw.Reject(alipaytest.DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444", "演示材料不清晰"); err != nil {
		log.Fatal(err)
	}
	ev := <-events
	fmt.Println(ev.UserAppID, ev.APIName, ev.FieldName, ev.Status, ev.Reason)

	// Alipay delivers at least once; the duplicate is acknowledged only.
	if err := gw.WaitNotifications(ctx); err != nil { // the first delivery is done
		log.Fatal(err)
	}
	if err := gw.Redeliver(); err != nil {
		log.Fatal(err)
	}
	if err := gw.WaitNotifications(ctx); err != nil {
		log.Fatal(err)
	}
	n := gw.Notifications()[0]
	fmt.Println("deliveries:", n.Attempts, "acknowledged:", n.Delivered, "passed on:", 1+len(events))
	// Output:
	// 2021004000000002 getPhoneNumber mobile REJECT 演示材料不清晰
	// deliveries: 2 acknowledged: true passed on: 1
}

// WaitFieldAudit polls field.query, and the app gateway's field.changed
// messages wake it at once through Updates: a FieldChangedHub hands each
// message to every wait of its merchant. Only this merchant's own record
// ends the wait: its field.query, or a message whose user_app_id is
// UserAppID (the merchant's mini-program).
func ExampleClient_WaitFieldAudit() {
	gw, err := alipaytest.NewServer(alipaytest.WithAutoAudit(20*time.Millisecond, nil))
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	isv, err := gw.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var hub alipay.FieldChangedHub // one per process, shared by the app gateway and the waits
	gateway, err := isv.NewNotifyHandler(alipay.NotifyRoutes{
		AppAPIFieldChanged: func(ctx context.Context, n *alipay.Notification, ev *alipay.AppAPIFieldChanged) error {
			hub.Publish(ev)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	app := httptest.NewUnstartedServer(gateway)
	app.Config.ReadHeaderTimeout, app.Config.ReadTimeout = 10*time.Second, 30*time.Second
	app.Start()
	defer app.Close()
	if err := gw.SetNotifyURL(app.URL); err != nil {
		log.Fatal(err)
	}

	m := isv.WithAppAuthToken(alipaytest.DefaultMerchantToken)      // in production: isv.ForMerchant(ctx, store, appID)
	updates, stop := hub.Subscribe(alipaytest.DefaultMerchantAppID) // before applying: no message is missed
	defer stop()
	if _, err := m.AppAPIFieldApply(ctx, phoneApplication()); err != nil {
		log.Fatal(err)
	}
	rec, err := m.WaitFieldAudit(ctx, &alipay.WaitFieldAuditRequest{
		APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444",
		UserAppID: alipaytest.DefaultMerchantAppID, // this merchant's mini-program
		Interval:  time.Hour,                       // a real audit takes days; the message ends the wait
		Updates:   updates,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.UserAppID, rec.APIName, rec.FieldName, rec.Status)
	// Output:
	// 2021004000000002 getPhoneNumber mobile AGREE
}

// registerPhoneField is an ISV backend's code under test: it applies for
// the merchant's phone-number field; an application that exists already
// counts as done, so the function is safe to retry.
func registerPhoneField(ctx context.Context, m *alipay.Client, picture []byte) error {
	_, err := m.AppAPIFieldApply(ctx, &alipay.AppAPIFieldApplyRequest{
		AuthFieldApply: alipay.AuthFieldApply{
			APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444",
			SceneCode: "14", QPSAnswer: "峰值 10 QPS", CustomerAnswer: "自有客服热线，3 人团队",
		},
		Pictures: []alipay.File{alipay.FileFromBytes("login.png", picture)},
	})
	var apiErr *alipay.APIError
	if errors.As(err, &apiErr) && (apiErr.SubCode == alipay.SubCodeAuthAPIFieldIsAuditing ||
		apiErr.SubCode == alipay.SubCodeAuthAPIApplyIsPass) {
		return nil
	}
	return err
}

// A user's own test of registerPhoneField, written as an example: the fake
// gateway checks the request as Alipay would, shows what it received,
// decides the audit, and misbehaves on demand. In a test, build it with
// alipaytest.NewServer and t.Cleanup(gw.Close).
func Example_testingWithAlipaytest() {
	gw, err := alipaytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer gw.Close()
	isv, err := gw.NewClient() // the code under test would take this client
	if err != nil {
		log.Fatal(err)
	}
	m := isv.WithAppAuthToken(alipaytest.DefaultMerchantToken)
	ctx := context.Background()

	fmt.Println("first call:", registerPhoneField(ctx, m, demoPNG()))
	apps := gw.Applications(alipaytest.DefaultMerchantToken)
	fmt.Println("received:", len(apps), "application, scene", apps[0].SceneCode, apps[0].Files[0].Part, apps[0].Files[0].Detected)
	fmt.Println("retry:", registerPhoneField(ctx, m, demoPNG()), "applications:", len(gw.Applications(alipaytest.DefaultMerchantToken)))

	// Resilience: a tampered answer and a failing front proxy.
	gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultTamperSignature, Count: 1})
	_, err = m.AppAPIFieldQuery(ctx, nil)
	fmt.Println("tampered answer refused:", errors.Is(err, alipay.ErrSignature))
	gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultHTTPStatus, Status: 503, Count: 1})
	_, err = m.AppAPIFieldQuery(ctx, nil)
	fmt.Println("one HTTP 503, the query is retried:", err)
	gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultHTTPStatus, Status: 503})
	_, err = m.AppAPIFieldQuery(ctx, nil)
	gw.ClearFaults()
	fmt.Println("HTTP 503 every time is a bad response:", errors.Is(err, alipay.ErrBadResponse), alipay.IsTransient(err))
	// Output:
	// first call: <nil>
	// received: 1 application, scene 14 picture_1 image/png
	// retry: <nil> applications: 1
	// tampered answer refused: true
	// one HTTP 503, the query is retried: <nil>
	// HTTP 503 every time is a bad response: true true
}
