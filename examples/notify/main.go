// Command notify is an app gateway (应用网关) that receives Alipay's
// message-service notifications, verifies them, and prints each verified one
// as a JSON line on stdout; alipay.open.app.api.field.changed messages also
// carry their decoded payload under "field_changed".
//
//	go run ./examples/notify
//
// Configuration comes from the environment:
//
//	ALIPAY_NOTIFY_ADDR          listen address (default 127.0.0.1:8080)
//	ALIPAY_APP_ID               the app id the messages are addressed to
//	ALIPAY_PUBLIC_KEY           Alipay public key (PEM or Base64), or
//	ALIPAY_PUBLIC_KEY_FILE      a file holding it
//	ALIPAY_APP_PRIVATE_KEY      app private key (PEM or Base64), or
//	ALIPAY_APP_PRIVATE_KEY_FILE a file holding it (optional, see below)
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
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
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
	"github.com/isvkit/alipay/internal/envconfig"
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
	c, err := newClient(getenv, logger)
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
	srv := &http.Server{
		Handler: c.NotifyHandler(p.print, notifyOpts...),
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

// newClient builds the verifying client. alipay.NewClient insists on an app
// private key because the same client also signs gateway calls, but a
// notification receiver never signs anything: when no app key is configured
// an ephemeral RSA-2048 key is generated, used for nothing, and forgotten.
func newClient(getenv func(string) string, logger *slog.Logger) (*alipay.Client, error) {
	appID := getenv("ALIPAY_APP_ID")
	if appID == "" {
		return nil, errors.New("ALIPAY_APP_ID is not set")
	}
	pub, err := envconfig.KeyOption(getenv, "ALIPAY_PUBLIC_KEY", alipay.WithAlipayPublicKey, alipay.WithAlipayPublicKeyFile)
	if err != nil {
		return nil, err
	}
	key, err := envconfig.KeyOption(getenv, "ALIPAY_APP_PRIVATE_KEY", alipay.WithPrivateKey, alipay.WithPrivateKeyFile)
	if err != nil {
		k, gerr := rsa.GenerateKey(rand.Reader, 2048)
		if gerr != nil {
			return nil, fmt.Errorf("generating the ephemeral app key: %w", gerr)
		}
		der, merr := x509.MarshalPKCS8PrivateKey(k)
		if merr != nil {
			return nil, fmt.Errorf("encoding the ephemeral app key: %w", merr)
		}
		key = alipay.WithPrivateKey(pemBlock(der))
	}
	return alipay.NewClient(appID, pub, key, alipay.WithLogger(logger))
}

// printer writes one JSON line per verified notification.
type printer struct {
	mu  sync.Mutex
	w   *json.Encoder
	log *slog.Logger
}

// line is what is printed: the notification, plus the decoded field.changed
// payload when there is one.
type line struct {
	*alipay.Notification
	FieldChanged *alipay.AppAPIFieldChanged `json:"field_changed,omitempty"`
}

// print is the handler's function. A write failure is returned, so the
// handler answers "fail" and Alipay delivers the message again.
func (p *printer) print(ctx context.Context, n *alipay.Notification) error {
	out := line{Notification: n}
	if n.MsgMethod == "alipay.open.app.api.field.changed" {
		ev, err := n.AppAPIFieldChanged()
		if err != nil {
			// Retrying cannot fix a payload: print it raw and log why.
			p.log.WarnContext(ctx, "field.changed payload not decoded", "notify_id", n.NotifyID, "error", err)
		}
		out.FieldChanged = ev
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Encode(out)
}

// pemBlock wraps PKCS#8 DER in PEM armour, as WithPrivateKey expects.
func pemBlock(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
