package alipay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"
)

// Defaults of the retry policy (see [WithRetry]).
const (
	DefaultRetryAttempts = 3
	DefaultRetryBase     = 100 * time.Millisecond
	DefaultRetryMaxDelay = 2 * time.Second
	// throttleDelay is added to every pause after a rate-limit answer:
	// waiting longer is the point.
	throttleDelay    = time.Second
	maxRetryAttempts = 10
)

// retryPolicy is how many attempts a read gets and how long to pause.
type retryPolicy struct {
	attempts int
	base     time.Duration
	maxDelay time.Duration
}

var defaultRetry = retryPolicy{attempts: DefaultRetryAttempts, base: DefaultRetryBase, maxDelay: DefaultRetryMaxDelay}

// WithRetry sets how reads are retried (default: 3 attempts, base 100 ms,
// pauses of at most 2 s). attempts 1 turns retries off; at most 10.
//
// Only reads are retried: every typed …Query call, any method whose name
// ends in .query or .get, and [Client.Call] when ctx says the method is
// safe to repeat ([ContextWithRetry]). Writes (field.apply,
// baseinfo.modify, the AES key set, the token exchange, the authorization
// invitation) never are: Alipay v1 has no idempotency key. A read is
// retried when [IsTransient] says so; each attempt is signed afresh (new
// timestamp). Pauses use full jitter: a random duration up to base·2ⁿ⁻¹,
// at most maxDelay, plus 1 s after a rate-limit answer. The client's
// timeout ([WithTimeout]) bounds the whole call: no pause runs past the
// ctx's deadline, and the call then fails with the last attempt's error.
func WithRetry(attempts int, base, maxDelay time.Duration) Option {
	return func(c *config) error {
		switch {
		case attempts < 1 || attempts > maxRetryAttempts:
			return fmt.Errorf("alipay: WithRetry: attempts %d is not between 1 and %d", attempts, maxRetryAttempts)
		case base < 0 || maxDelay < 0:
			return fmt.Errorf("alipay: WithRetry: negative delay")
		case maxDelay < base:
			return fmt.Errorf("alipay: WithRetry: maxDelay %v is below base %v", maxDelay, base)
		}
		c.retry = retryPolicy{attempts: attempts, base: base, maxDelay: maxDelay}
		return nil
	}
}

// CallRetry changes, for the calls made with one ctx, what the client's
// retry policy says. See [ContextWithRetry].
type CallRetry struct {
	// Attempts, when above 0, is the number of attempts a read gets
	// (1: no retry), at most 10.
	Attempts int
	// Safe says that the method given to [Client.Call] only reads, so Call
	// retries it like a typed query. Known writes are never retried, Safe
	// or not; typed calls ignore Safe (their method decides).
	Safe bool
}

type callRetryKey struct{}

// ContextWithRetry returns a copy of ctx under which calls follow r.
//
//	ctx = alipay.ContextWithRetry(ctx, alipay.CallRetry{Safe: true})
//	out, err := c.Call(ctx, "alipay.open.mini.version.list.query", nil)
func ContextWithRetry(ctx context.Context, r CallRetry) context.Context {
	return context.WithValue(ctx, callRetryKey{}, r)
}

func callRetry(ctx context.Context) (CallRetry, bool) {
	r, ok := ctx.Value(callRetryKey{}).(CallRetry)
	return r, ok
}

// retrySafe reports whether ctx marks a Call as safe to repeat.
func retrySafe(ctx context.Context) bool {
	r, _ := callRetry(ctx)
	return r.Safe
}

// policyFor returns the retry policy of one call: one attempt for anything but
// a read; the client's policy, or ctx's attempts, for a read.
func (c *Client) policyFor(ctx context.Context, r *request) retryPolicy {
	if !r.retry {
		return retryPolicy{attempts: 1}
	}
	p := c.core.retry
	if cr, ok := callRetry(ctx); ok && cr.Attempts > 0 {
		p.attempts = min(cr.Attempts, maxRetryAttempts)
	}
	return p
}

// delay returns the pause after attempt n failed with a failure of kind.
func (p retryPolicy) delay(n int, kind retryKind) time.Duration {
	step := p.maxDelay
	if n-1 < 30 && p.base<<(n-1) < step && p.base<<(n-1) > 0 {
		step = p.base << (n - 1)
	}
	var d time.Duration
	if step > 0 {
		d = rand.N(step + 1) // full jitter
	}
	if kind == throttled {
		d += throttleDelay
	}
	return d
}

// fitsDeadline reports whether a pause of d leaves ctx's deadline ahead.
func fitsDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}

// sleepCtx pauses for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isReadMethod reports whether an Alipay method only reads, by its name.
func isReadMethod(method string) bool {
	return strings.HasSuffix(method, ".query") || strings.HasSuffix(method, ".get")
}

// knownWrite reports whether method is one of the SDK's writes, never
// retried whatever a ctx says: a Call marking one safe does not make a
// second application, key, token exchange or invitation harmless.
func knownWrite(method string) bool {
	switch method {
	case methodAppAPIFieldApply, methodMiniBaseInfoModify, methodAuthAppAESSet, methodAuthTokenApp, methodAuthAppAuthInviteCreate:
		return true
	}
	return false
}

// retryKind is the class of a failure for the retry rule.
type retryKind uint8

const (
	notTransient retryKind = iota
	transient              // retried after a short pause
	throttled              // rate limited: retried after a longer pause
)

// neverRetriedCodes are gateway codes whose answer is final: missing or
// invalid parameters (a bad timestamp means a wrong clock), a business
// refusal, missing permission, an invalid token.
var neverRetriedCodes = []string{"40001", "40002", "40004", "40006", "20001"}

// classify is the retry rule: which failures may pass when the call is made
// again.
func classify(err error) retryKind {
	if err == nil || errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrSignature) {
		return notTransient
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return classifyAPIError(apiErr)
	}
	var re *ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == 502 || re.StatusCode == 503 || re.StatusCode == 504:
			return transient
		case (re.StatusCode == 200 || re.StatusCode >= 500) && looksLikeHTML(re.Body):
			return transient // a proxy's or the access layer's error page
		}
		return notTransient
	}
	var te *transportError
	if errors.As(err, &te) {
		if te.ctxErr != nil || errors.Is(te.err, context.Canceled) || errors.Is(te.err, context.DeadlineExceeded) ||
			isCertificateError(te.err) {
			return notTransient
		}
		return transient // no answer: refused, reset, dropped before or while answering
	}
	return notTransient
}

func classifyAPIError(e *APIError) retryKind {
	for _, c := range neverRetriedCodes {
		if e.Code == c {
			return notTransient
		}
	}
	sub := e.SubCode
	switch {
	case strings.HasSuffix(sub, "exceed-api-balance") || strings.HasSuffix(sub, "app-api-punished"):
		return notTransient // a quota or a penalty: waiting does not lift it
	case e.Code == "40005" || strings.HasSuffix(sub, "app-call-limited") || strings.HasSuffix(sub, "method-call-limited"):
		return throttled
	case e.Code == "20000" && (sub == "isp.unknow-error" || sub == "aop.unknow-error"):
		return transient
	case sub == "SYSTEM_ERROR" || strings.HasSuffix(sub, ".SYSTEM_ERROR"):
		return transient
	}
	return notTransient
}

// IsTransient reports whether err is a failure that may pass when the call
// is made again: the rule the client's retries follow ([WithRetry]).
// Transient are: no answer at all (connection refused, reset or dropped;
// not a cancelled or expired ctx, not a certificate error), HTTP 502, 503
// and 504, an HTML error page instead of JSON, code 20000 with sub_code
// isp.unknow-error or aop.unknow-error, a SYSTEM_ERROR sub_code, and rate
// limiting (code 40005, *-call-limited sub_codes). Never transient: codes
// 40001, 40002, 40004, 40006 and 20001, quota and penalty sub_codes
// (exceed-api-balance, app-api-punished), verification failures
// ([ErrSignature]) and requests refused before sending
// ([ErrInvalidRequest]).
//
// A transient failure of a write may still have been applied: the SDK
// never retries writes, and marks such failures [ErrOutcomeUnknown].
func IsTransient(err error) bool { return classify(err) != notTransient }

// looksLikeHTML reports whether a body snippet is an HTML page.
func looksLikeHTML(body string) bool {
	b := strings.TrimLeft(body, " \t\r\n")
	return strings.HasPrefix(b, "<")
}

// isCertificateError reports whether err is a TLS certificate failure:
// trying again reaches the same certificate.
func isCertificateError(err error) bool {
	var (
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		inv x509.CertificateInvalidError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &inv)
}

// neverSent reports whether a transport failure certainly happened before
// the request left: the connection was never made (dial, proxy connect,
// DNS).
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
