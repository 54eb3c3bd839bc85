// Command call invokes one Alipay gateway method and prints the verified
// response node as JSON.
//
//	go run ./examples/call -method alipay.open.app.api.query [-biz '{...}']
//
// Configuration comes from the environment (read by alipay.LoadEnv, which
// also takes the certificate-mode and AES variables):
//
//	ALIPAY_GATEWAY_URL          gateway (default: production)
//	ALIPAY_APP_ID               the ISV app id
//	ALIPAY_APP_PRIVATE_KEY      app private key (PEM or Base64), or
//	ALIPAY_APP_PRIVATE_KEY_FILE a file holding it
//	ALIPAY_PUBLIC_KEY           Alipay public key (PEM or Base64), or
//	ALIPAY_PUBLIC_KEY_FILE      a file holding it
//	ALIPAY_APP_AUTH_TOKEN       the merchant's app_auth_token (optional)
//
// A method whose name ends in .query only reads, so it is marked safe to
// repeat (alipay.ContextWithRetry) and retried on transient failures (a
// lost connection, HTTP 502/503/504, 20000 isp.unknow-error, rate
// limiting); nothing else is retried, and a failure that may hide an
// applied change says "outcome unknown".
//
// Exit status: 0 on success; 1 when the gateway answered an error (an
// *alipay.APIError); 2 for a signature, configuration or transport problem.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/isvkit/alipay"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK       = 0
	exitAPIError = 1
	exitProblem  = 2
)

// run is main without the process: testable with any environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	method := fs.String("method", "", "Alipay method, e.g. alipay.open.app.api.query (required)")
	biz := fs.String("biz", "", "biz_content as a JSON object (optional)")
	if err := fs.Parse(args); err != nil {
		return exitProblem
	}
	if *method == "" {
		fmt.Fprintln(stderr, "call: -method is required")
		return exitProblem
	}
	var bizContent any
	if *biz != "" {
		if !json.Valid([]byte(*biz)) {
			fmt.Fprintln(stderr, "call: -biz is not valid JSON")
			return exitProblem
		}
		bizContent = json.RawMessage(*biz)
	}
	c, err := merchantClient(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "call:", err)
		return exitProblem
	}
	if strings.HasSuffix(*method, ".query") {
		ctx = alipay.ContextWithRetry(ctx, alipay.CallRetry{Safe: true})
	}
	out, err := c.Call(ctx, *method, bizContent)
	if err != nil {
		fmt.Fprintln(stderr, "call:", err)
		var apiErr *alipay.APIError
		if errors.As(err, &apiErr) {
			return exitAPIError
		}
		return exitProblem
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return exitOK
}

// merchantClient builds the client of the environment (alipay.LoadEnv),
// acting for ALIPAY_APP_AUTH_TOKEN when it is set.
func merchantClient(getenv func(string) string) (*alipay.Client, error) {
	env, err := alipay.LoadEnv(getenv)
	if err != nil {
		return nil, err
	}
	c, err := env.NewClient()
	if err != nil || env.AppAuthToken.IsZero() {
		return c, err
	}
	return c.WithAppAuthToken(env.AppAuthToken.Reveal()), nil
}
