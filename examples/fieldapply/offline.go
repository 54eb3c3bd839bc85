package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
)

// Paths of this program's loopback web server, which plays the ISV's
// backend: the app gateway (应用网关) receiving Alipay's notifications, the
// redirect URL of the authorization link, and the endpoint that a
// mini-program's front end posts the phone-number envelope to.
const (
	notifyPath   = "/alipay/notify"
	redirectPath = "/alipay/authorized"
	phonePattern = "POST /mini/{appID}/phone"
)

// offline is the embedded world of the offline run: the fake gateway (and
// the merchant authorising the ISV, the audit, the mini-program user) and
// this program's own backend on a loopback port, with its registry.
type offline struct {
	gw       *alipaytest.Server
	isv      *alipay.Client // the ISV's own client: its AES key, the registry as key source
	store    *alipay.MemoryMerchantStore
	states   *alipay.StateSigner
	merchant string // the merchant mini-program's app id
	baseURL  string // http://127.0.0.1:port of the backend
	picture  []byte // the generated demo picture
	aesKey   string // the ISV app's own AES key (接口内容加密), Base64

	authNotified chan string               // auth_app_id of each authorization notify stored
	redirected   chan *alipay.AuthRedirect // what the redirect handler stored
	hub          alipay.FieldChangedHub    // field.changed, for WaitFieldAudit
	events       chan notified             // field.changed, for the printout

	srv    *http.Server
	served chan error
}

// startOffline starts the fake gateway, which audits after -audit-delay and
// notifies the loopback backend, and that backend: the registry-aware
// notification handler, the redirect handler and the phone-number endpoint.
func startOffline(st *settings, stdout io.Writer) (o *offline, err error) {
	o = &offline{
		merchant:     alipaytest.DefaultMerchantAppID,
		store:        alipay.NewMemoryMerchantStore(),
		authNotified: make(chan string, 8),
		redirected:   make(chan *alipay.AuthRedirect, 1),
		events:       make(chan notified, 8),
		served:       make(chan error, 1),
	}
	if o.picture, err = loginPNG(); err != nil {
		return nil, fmt.Errorf("generating the demo picture: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	defer func() {
		if err != nil {
			ln.Close()
			o.gw.Close()
		}
	}()
	o.baseURL = "http://" + ln.Addr().String()
	isvAESKey, stateKey := make([]byte, 16), make([]byte, 32)
	if _, err = rand.Read(isvAESKey); err == nil {
		_, err = rand.Read(stateKey)
	}
	if err != nil {
		return nil, err
	}
	o.aesKey = base64.StdEncoding.EncodeToString(isvAESKey)
	if o.gw, err = alipaytest.NewServer(
		alipaytest.WithNotifyURL(o.baseURL+notifyPath),
		alipaytest.WithAutoAudit(st.auditDelay, decide(st.audit)),
		alipaytest.WithAppAESKey(alipaytest.DefaultAppID, o.aesKey),
	); err != nil {
		return nil, err
	}
	// The server's public test keys and its AES key for the ISV app; no key
	// files. The registry is where the phone-number decryption finds each
	// merchant's AES key.
	if o.isv, err = o.gw.NewClient(alipay.WithAESKeySource(alipay.MerchantAESKeys(o.store))); err != nil {
		return nil, err
	}
	if o.states, err = alipay.NewStateSigner(stateKey, 30*time.Minute); err != nil {
		return nil, err
	}
	mux, err := o.routes(stdout)
	if err != nil {
		return nil, err
	}
	o.srv = &http.Server{
		Handler: mux,
		// The handlers cannot bound how slowly a request arrives: the server must.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	go func() { o.served <- o.srv.Serve(ln) }()
	fmt.Fprintf(stdout, "offline: fake gateway %s (alipaytest), ISV app %s, merchant mini-program %s\n",
		o.gw.URL, o.isv.AppID(), o.merchant)
	fmt.Fprintf(stdout, "ISV backend %s: app gateway %s, redirect URL %s, phone endpoint %s\n",
		o.baseURL, notifyPath, redirectPath, strings.TrimPrefix(phonePattern, "POST "))
	return o, nil
}

// routes builds the backend's handlers. Configuration errors of the
// notification and redirect handlers come back here.
func (o *offline) routes(stdout io.Writer) (*http.ServeMux, error) {
	notify, err := o.isv.NewNotifyHandler(alipay.NotifyRoutes{
		// Called after the registry stored the token.
		AppAuthNotify: func(_ context.Context, _ *alipay.Notification, ev *alipay.AppAuthNotify) error {
			trySend(o.authNotified, ev.Token.AuthAppID)
			return nil
		},
		AppAPIFieldChanged: func(_ context.Context, n *alipay.Notification, ev *alipay.AppAPIFieldChanged) error {
			o.hub.Publish(ev) // wakes the merchant's WaitFieldAudit
			trySend(o.events, notified{notifyID: n.NotifyID, rec: ev.AuthFieldDTO})
			return nil
		},
	}, alipay.WithNotifyMerchantStore(o.store))
	if err != nil {
		return nil, err
	}
	redirect, err := o.isv.AuthRedirectHandler(o.store, o.states,
		func(w http.ResponseWriter, _ *http.Request, a *alipay.AuthRedirect) {
			trySend(o.redirected, a)
			fmt.Fprintln(w, "authorized: you can close this page")
		})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(notifyPath, notify)
	mux.Handle(redirectPath, redirect)
	mux.Handle(phonePattern, phoneHandler(o.isv, log.New(stdout, "   backend: ", 0)))
	return mux, nil
}

// trySend hands v on without blocking: nobody waiting means nobody needs it.
func trySend[T any](ch chan<- T, v T) {
	select {
	case ch <- v:
	default:
	}
}

// close stops the fake gateway (which waits for its deliveries), then the
// backend.
func (o *offline) close(stdout io.Writer) {
	o.gw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.srv.Shutdown(ctx); err != nil {
		o.srv.Close() // the deadline passed: drop what is left
	}
	if err := <-o.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stdout, "backend: %v\n", err)
	}
}

// decide is the fake gateway's audit for -audit.
func decide(outcome string) alipaytest.AuditFunc {
	return func(alipaytest.Application) (alipaytest.Status, string) {
		switch outcome {
		case "reject":
			return alipaytest.StatusReject, "演示材料未展示用户授权手机号的页面"
		case "invalid":
			return alipaytest.StatusInvalid, ""
		}
		return alipaytest.StatusAgree, ""
	}
}

// loginPNG draws a small mock-up of a login page with its authorisation
// button: a real PNG, so the gateway's format check (magic bytes and
// extension) passes.
func loginPNG() ([]byte, error) {
	var (
		white = color.RGBA{0xff, 0xff, 0xff, 0xff}
		blue  = color.RGBA{0x16, 0x77, 0xff, 0xff}
		grey  = color.RGBA{0xe5, 0xe5, 0xe5, 0xff}
	)
	img := image.NewPaletted(image.Rect(0, 0, 180, 320), color.Palette{white, blue, grey})
	fill := func(r image.Rectangle, c color.Color) {
		draw.Draw(img, r, &image.Uniform{C: c}, image.Point{}, draw.Src)
	}
	fill(img.Bounds(), white)
	fill(image.Rect(0, 0, 180, 36), blue)     // title bar
	fill(image.Rect(60, 70, 120, 130), grey)  // logo
	fill(image.Rect(20, 160, 160, 176), grey) // "授权获取手机号" text
	fill(image.Rect(20, 230, 160, 262), blue) // the authorise button
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
