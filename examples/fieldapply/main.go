// Command fieldapply runs the whole story of an ISV (服务商) applying, on a
// merchant's behalf, for a user-information field of the merchant's
// mini-program, and prints each step:
//
//  0. offline: the merchant authorises the ISV; the authorization notify
//     and the redirect (its app_auth_code exchanged with
//     alipay.open.auth.token.app) put the token in the ISV's registry, and
//     the client of the next steps comes from it (Client.ForMerchant);
//  1. alipay.open.mini.baseinfo.query: check the category; when it is
//     missing, find it with alipay.open.mini.category.query and set it with
//     alipay.open.mini.baseinfo.modify, then query again;
//  2. alipay.open.app.api.query: list the applicable fields and pick one;
//  3. alipay.open.app.api.scene.query: list its usage scenes and pick one;
//  4. alipay.open.app.api.field.apply: apply, with a picture (and a video);
//  5. receive the alipay.open.app.api.field.changed notification, which
//     wakes Client.WaitFieldAudit;
//  6. alipay.open.app.api.field.query: confirm the audit status;
//  7. offline, once approved: the merchant's AES key goes into the
//     registry (Client.SyncMerchantAESKey: aes.get, aes.set when none);
//  8. offline: a user of the mini-program shares a phone number; the
//     backend verifies and decrypts the envelope with the merchant's key
//     from the registry and logs the number masked (138****0000).
//
// With ALIPAY_GATEWAY_URL unset it runs offline, in about a second, against
// an embedded fake gateway (package alipaytest) that plays the merchant,
// Alipay and the mini-program user, and notifies this program's own
// loopback backend (the registry-aware Client.NewNotifyHandler, the
// Client.AuthRedirectHandler and a phone-number endpoint on 127.0.0.1):
//
//	go run ./examples/fieldapply
//
// With ALIPAY_GATEWAY_URL set it runs steps 1 to 6 against that gateway for
// the merchant of ALIPAY_APP_AUTH_TOKEN, configured like examples/call (see
// alipay.LoadEnv):
//
//	ALIPAY_GATEWAY_URL          gateway, e.g. https://openapi.alipay.com/gateway.do
//	ALIPAY_APP_ID               the ISV app id
//	ALIPAY_APP_PRIVATE_KEY      app private key (PEM or Base64), or
//	ALIPAY_APP_PRIVATE_KEY_FILE a file holding it
//	ALIPAY_PUBLIC_KEY           Alipay public key (PEM or Base64), or
//	ALIPAY_PUBLIC_KEY_FILE      a file holding it
//	ALIPAY_APP_AUTH_TOKEN       the merchant's app_auth_token (required)
//	ALIPAY_FIELD_PICTURE        demo pictures (png/jpg), up to 5 paths joined
//	                            by the OS list separator (':' on Unix)
//	ALIPAY_FIELD_VIDEO          a demo video (mp4); a picture or the video is required
//
// Offline, ALIPAY_FIELD_PICTURE and ALIPAY_FIELD_VIDEO are optional and
// join the generated picture. Against a real gateway the audit takes days
// and the notification goes to the app gateway (应用网关) configured in the
// console (see examples/notify), so after applying the program queries the
// status once, or polls for up to -wait. The application is filed with
// Client.ApplyFieldOnce: field.query is asked first (an application
// already under audit or approved counts as submitted and nothing is
// sent), and again when the answer to field.apply is lost, so an
// application is never filed twice.
//
// Flags:
//
//	-api NAME          API of the field to apply for (default getPhoneNumber)
//	-field NAME        the field (default mobile); when the pair is not
//	                   applicable, the first applicable field is used
//	-scene CODE        usage scene code (default: the first listed)
//	-category LEVELS   the category the mini-program needs, levels joined by
//	                   '_' (offline default 交通出行_物流快递; against a
//	                   gateway the default is any category)
//	-set-category CAT  the category to set when it is missing, by its names
//	                   (交通出行_物流快递) or its ids (XS1011_XS2089), several
//	                   joined by ';'; looked up with category.query, among the
//	                   categories the mini-program may use (offline default:
//	                   -category; against a gateway none: the flow stops
//	                   rather than change a live mini-program's categories
//	                   unasked, and makes no category.query)
//	-qps TEXT          answer to the peak-QPS question of the application
//	-customer TEXT     answer to the customer-service question
//	-memo TEXT         remark: what the field is used for
//	-wait DURATION     against a gateway: wait up to this long for the audit
//	                   (default 0: query once)
//	-interval DURATION first pause between two status queries while waiting
//	                   (default 30s)
//	-audit OUTCOME     offline: the fake gateway's decision, agree, reject
//	                   or invalid (default agree)
//	-audit-delay D     offline: how long the fake audit takes (default 300ms)
//
// Exit status: 0 when the flow ran to the end (whatever the audit decided);
// 1 when the gateway answered an error (an *alipay.APIError) or left
// nothing to apply for; 2 for a configuration, signature or transport
// problem.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

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

// offlineCategory is the offline default of -category (and of
// -set-category): a category matching the fake gateway's logistics scene
// (14 物流快递), found by its names with category.query.
const offlineCategory = "交通出行_物流快递"

// settings are the parsed flags and files.
type settings struct {
	api, field, scene     string
	category, setCategory string
	qps, customer, memo   string
	wait, interval        time.Duration
	audit                 string
	auditDelay            time.Duration
	pictures              []string // paths
	video                 string   // path
}

// run is main without the process: testable with any environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	st, err := parseFlags(args, stderr)
	if err != nil {
		return exitProblem
	}
	if err := st.readFiles(getenv); err != nil {
		fmt.Fprintln(stderr, "fieldapply:", err)
		return exitProblem
	}
	var f *flow
	if getenv("ALIPAY_GATEWAY_URL") == "" {
		if f, err = offlineFlow(st, stdout); err != nil {
			fmt.Fprintln(stderr, "fieldapply:", err)
			return exitProblem
		}
		defer f.off.close(f.out)
	} else {
		if f, err = gatewayFlow(st, getenv, stdout); err != nil {
			fmt.Fprintln(stderr, "fieldapply:", err)
			return exitProblem
		}
	}
	if err := f.run(ctx); err != nil {
		fmt.Fprintln(stderr, "fieldapply:", err)
		return exitCode(err)
	}
	return exitOK
}

// parseFlags reads the command line; errors are printed by the flag set.
func parseFlags(args []string, stderr io.Writer) (*settings, error) {
	st := &settings{}
	fs := flag.NewFlagSet("fieldapply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&st.api, "api", "getPhoneNumber", "API of the field to apply for")
	fs.StringVar(&st.field, "field", "mobile", "the field to apply for")
	fs.StringVar(&st.scene, "scene", "", "usage scene code (default: the first listed)")
	fs.StringVar(&st.category, "category", "", "category the mini-program needs, levels joined by '_' (offline default "+offlineCategory+"; gateway: any)")
	fs.StringVar(&st.setCategory, "set-category", "", "category to set when it is missing, by names (交通出行_物流快递) or ids (XS1011_XS2089), paths joined by ';'; found with category.query (offline default: -category; gateway: none)")
	fs.StringVar(&st.qps, "qps", "上线一年内预计峰值 10 QPS", "answer to the peak-QPS question")
	fs.StringVar(&st.customer, "customer", "自有客服热线与在线客服，3 人团队可及时处理舆情", "answer to the customer-service question")
	fs.StringVar(&st.memo, "memo", "用户授权后用于物流下单时填写联系手机号", "remark: what the field is used for")
	fs.DurationVar(&st.wait, "wait", 0, "gateway mode: wait up to this long for the audit (0: query once)")
	fs.DurationVar(&st.interval, "interval", alipay.DefaultWaitInterval, "first pause between two status queries while waiting")
	fs.StringVar(&st.audit, "audit", "agree", "offline: the fake audit's decision: agree, reject or invalid")
	fs.DurationVar(&st.auditDelay, "audit-delay", 300*time.Millisecond, "offline: how long the fake audit takes")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	problem := ""
	switch {
	case fs.NArg() > 0:
		problem = "no arguments expected; see -h"
	case st.wait < 0 || st.interval <= 0 || st.auditDelay < 0:
		problem = "-wait and -audit-delay must not be negative, -interval must be positive"
	case st.audit != "agree" && st.audit != "reject" && st.audit != "invalid":
		problem = "-audit must be agree, reject or invalid"
	case st.api == "" || st.field == "":
		problem = "-api and -field must not be empty"
	}
	if problem != "" {
		fmt.Fprintln(stderr, "fieldapply:", problem)
		return nil, errors.New(problem)
	}
	return st, nil
}

// readFiles takes the demo material from ALIPAY_FIELD_PICTURE and
// ALIPAY_FIELD_VIDEO and checks that each path is a regular file, so a typo
// is a configuration problem and not a half-sent upload.
func (st *settings) readFiles(getenv func(string) string) error {
	if v := getenv("ALIPAY_FIELD_PICTURE"); v != "" {
		st.pictures = filepath.SplitList(v)
	}
	st.video = getenv("ALIPAY_FIELD_VIDEO")
	if len(st.pictures) > 5 {
		return fmt.Errorf("ALIPAY_FIELD_PICTURE lists %d pictures; at most 5", len(st.pictures))
	}
	paths := append([]string(nil), st.pictures...)
	if st.video != "" {
		paths = append(paths, st.video)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("demo material: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("demo material: %s is not a regular file", p)
		}
	}
	return nil
}

// offlineFlow builds the flow against the embedded fake gateway, with the
// offline defaults. Stop it with f.off.close.
func offlineFlow(st *settings, stdout io.Writer) (*flow, error) {
	if st.category == "" {
		st.category = offlineCategory
	}
	if st.setCategory == "" {
		st.setCategory = st.category
	}
	stdout = &lockedWriter{w: stdout} // the backend's handlers print too, from their own goroutines
	off, err := startOffline(st, stdout)
	if err != nil {
		return nil, err
	}
	return &flow{st: st, out: stdout, off: off}, nil
}

// gatewayFlow builds the flow against the gateway of ALIPAY_GATEWAY_URL.
func gatewayFlow(st *settings, getenv func(string) string, stdout io.Writer) (*flow, error) {
	env, err := alipay.LoadEnv(getenv)
	if err != nil {
		return nil, err
	}
	if env.AppAuthToken.IsZero() {
		return nil, errors.New("ALIPAY_APP_AUTH_TOKEN is not set: the flow acts for a merchant")
	}
	if len(st.pictures) == 0 && st.video == "" {
		return nil, errors.New("set ALIPAY_FIELD_PICTURE or ALIPAY_FIELD_VIDEO: a real audit needs real demo material")
	}
	c, err := env.NewClient()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "gateway %s, app %s\n", env.GatewayURL, c.AppID())
	return &flow{st: st, m: c.WithAppAuthToken(env.AppAuthToken.Reveal()), out: stdout}, nil
}

// stopError ends the flow with a message and an exit code of its own.
type stopError struct {
	msg  string
	code int
}

func (e *stopError) Error() string { return e.msg }

// exitCode maps a flow error to the exit status.
func exitCode(err error) int {
	var se *stopError
	var apiErr *alipay.APIError
	switch {
	case errors.As(err, &se):
		return se.code
	case errors.As(err, &apiErr):
		return exitAPIError
	default:
		return exitProblem
	}
}
