// Command notify is an app gateway (应用网关) that receives Alipay's
// notifications, verifies them, and prints each verified one as a JSON line
// on stdout; the messages it knows also carry their decoded payload:
// alipay.open.app.api.field.changed under "field_changed", the
// authorization notify (open_app_auth_notify) under "app_auth" (its tokens
// and code printed as "[redacted]"), alipay.open.auth.appauth.cancelled
// under "app_auth_cancelled" and alipay.open.auth.userauth.cancelled under
// "user_auth_cancelled". It holds no app private key: verifying needs only
// the app id and Alipay's public key.
//
//	go run ./examples/notify
//
// Configuration comes from the environment:
//
//	ALIPAY_NOTIFY_ADDR          listen address (default 127.0.0.1:8080)
//	ALIPAY_APP_ID               the app id the messages are addressed to
//	ALIPAY_PUBLIC_KEY           Alipay public key (PEM or Base64), or
//	ALIPAY_PUBLIC_KEY_FILE      a file holding it (or the certificate-mode
//	                            variables of alipay.LoadEnv)
//	ALIPAY_NOTIFY_REDIS_ADDR    Redis host:port shared by every replica for
//	                            notify_id dedupe (optional; default in memory)
//	ALIPAY_NOTIFY_REDIS_PASSWORD its password (optional)
//
// It answers "success" once a message is printed, so Alipay stops
// retrying; a repeated notify_id is answered "success" without printing it
// again. Logs go to stderr, starting with "listening on ADDR". SIGINT or
// SIGTERM stops it. Exit status: 0 after a clean stop, 1 when serving
// failed, 2 for a configuration problem.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/isvkit/alipay"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitServe   = 1
	exitProblem = 2
)

// defaultAddr is the listen address when ALIPAY_NOTIFY_ADDR is unset:
// loopback only; put a TLS-terminating proxy in front for Alipay.
const defaultAddr = "127.0.0.1:8080"

// run is main without the process: testable with any environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return exitProblem
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "notify: no arguments expected; configure with ALIPAY_* variables")
		return exitProblem
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	v, err := newVerifier(getenv, logger)
	if err != nil {
		fmt.Fprintln(stderr, "notify:", err)
		return exitProblem
	}
	addr := getenv("ALIPAY_NOTIFY_ADDR")
	if addr == "" {
		addr = defaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(stderr, "notify:", err)
		return exitProblem
	}
	notifyOpts, closeStore := dedupeOptions(ctx, getenv, logger)
	defer closeStore()
	p := &printer{w: json.NewEncoder(stdout), log: logger}
	h, err := v.NewNotifyHandler(alipay.NotifyRoutes{Other: p.print}, notifyOpts...)
	if err != nil {
		fmt.Fprintln(stderr, "notify:", err)
		return exitProblem
	}
	srv := &http.Server{
		Handler: h,
		// The handler cannot bound how slowly a request arrives: without
		// these, a client trickling bytes holds a connection forever.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // beyond the claim lease
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stderr, "listening on %s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintln(stderr, "notify:", err)
		return exitServe
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintln(stderr, "notify: shutdown:", err)
		return exitServe
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "notify:", err)
		return exitServe
	}
	return exitOK
}

// newVerifier builds the verifier from the app id and Alipay's public key
// (or certificates), read by alipay.LoadEnv: a notification receiver signs
// nothing, so it needs no app private key (ALIPAY_APP_PRIVATE_KEY… is not
// used).
func newVerifier(getenv func(string) string, logger *slog.Logger) (*alipay.NotifyVerifier, error) {
	env, err := alipay.LoadEnv(getenv)
	if err != nil {
		return nil, err
	}
	return env.NewNotifyVerifier(alipay.WithLogger(logger))
}

// printer writes one JSON line per verified notification.
type printer struct {
	mu  sync.Mutex
	w   *json.Encoder
	log *slog.Logger
}

// line is what is printed: the notification, plus the decoded payload of
// the messages this command knows.
type line struct {
	*alipay.Notification
	FieldChanged      *alipay.AppAPIFieldChanged    `json:"field_changed,omitempty"`
	AppAuth           *alipay.AppAuthNotify         `json:"app_auth,omitempty"`
	AppAuthCancelled  *alipay.AuthAppAuthCancelled  `json:"app_auth_cancelled,omitempty"`
	UserAuthCancelled *alipay.AuthUserAuthCancelled `json:"user_auth_cancelled,omitempty"`
}

// print is the handler's function. A write failure is returned, so the
// handler answers "fail" and Alipay delivers the message again. A payload
// that does not decode is printed raw and logged: retrying cannot fix it.
func (p *printer) print(ctx context.Context, n *alipay.Notification) error {
	out := line{Notification: n}
	var err error
	switch {
	case n.NotifyType == "open_app_auth_notify":
		out.AppAuth, err = n.AppAuthNotify()
	case n.MsgMethod == "alipay.open.app.api.field.changed":
		out.FieldChanged, err = n.AppAPIFieldChanged()
	case n.MsgMethod == "alipay.open.auth.appauth.cancelled":
		out.AppAuthCancelled, err = n.AuthAppAuthCancelled()
	case n.MsgMethod == "alipay.open.auth.userauth.cancelled":
		out.UserAuthCancelled, err = n.AuthUserAuthCancelled()
	}
	if err != nil {
		p.log.WarnContext(ctx, "payload not decoded", "notify_id", n.NotifyID, "error", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Encode(out)
}
