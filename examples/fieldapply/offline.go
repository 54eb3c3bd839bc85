package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
)

// notifyPath is where the loopback app gateway listens.
const notifyPath = "/alipay/notify"

// offline is the embedded world of the offline run: the fake gateway and
// this program's own app gateway on a loopback port.
type offline struct {
	flow   *flow
	gw     *alipaytest.Server
	srv    *http.Server
	served chan error
}

// startOffline starts the fake gateway, which audits after -audit-delay and
// notifies the loopback app gateway, and that app gateway: a
// Client.NotifyHandler that verifies each message and passes field.changed
// on to the flow.
func startOffline(st *settings, stdout io.Writer) (*offline, error) {
	picture, err := loginPNG()
	if err != nil {
		return nil, fmt.Errorf("generating the demo picture: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("app gateway: %w", err)
	}
	notifyURL := "http://" + ln.Addr().String() + notifyPath
	gw, err := alipaytest.NewServer(
		alipaytest.WithNotifyURL(notifyURL),
		alipaytest.WithAutoAudit(st.auditDelay, decide(st.audit)),
	)
	if err != nil {
		ln.Close()
		return nil, err
	}
	c, err := gw.NewClient() // the server's public test keys; no key files
	if err != nil {
		gw.Close()
		ln.Close()
		return nil, err
	}
	events := make(chan notified, 8)
	mux := http.NewServeMux()
	mux.Handle(notifyPath, c.NotifyHandler(func(_ context.Context, n *alipay.Notification) error {
		ev, err := n.AppAPIFieldChanged()
		if err != nil {
			return nil // another msg_method: acknowledged and ignored
		}
		select {
		case events <- notified{notifyID: n.NotifyID, rec: ev.AuthFieldDTO}:
		default: // nobody is waiting any more
		}
		return nil
	}))
	srv := &http.Server{
		Handler: mux,
		// NotifyHandler cannot bound how slowly a request arrives: the server must.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	o := &offline{
		gw:     gw,
		srv:    srv,
		served: make(chan error, 1),
		flow: &flow{
			st: st, m: c.WithAppAuthToken(alipaytest.DefaultMerchantToken), out: stdout,
			picture: picture, notifyURL: notifyURL, events: events,
		},
	}
	go func() { o.served <- o.srv.Serve(ln) }()
	fmt.Fprintf(stdout, "offline: fake gateway %s (alipaytest), ISV app %s, merchant mini-program %s\n",
		gw.URL, c.AppID(), alipaytest.DefaultMerchantAppID)
	fmt.Fprintf(stdout, "app gateway for notifications: %s\n", notifyURL)
	return o, nil
}

// close stops the fake gateway (which waits for its deliveries), then the
// app gateway.
func (o *offline) close() {
	o.gw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.srv.Shutdown(ctx); err != nil {
		o.srv.Close() // the deadline passed: drop what is left
	}
	if err := <-o.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(o.flow.out, "app gateway: %v\n", err)
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
