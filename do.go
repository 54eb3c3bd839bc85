package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The request pipeline. Every call — a form call, an upload, the
// certificate download — runs through do: the ctx check, the client's
// deadline, then attempts. One attempt signs with a fresh timestamp, sends,
// reads and verifies; between attempts the retry rule (retry.go) decides,
// and every attempt is logged and observed in one place (report).

// request is one gateway call as the pipeline runs it.
type request struct {
	method string
	biz    []byte       // biz_content, marshalled once; nil for none
	text   []param      // text params: form fields, or the multipart text parts
	files  []uploadFile // non-nil: a multipart upload
	// read turns an answer into the call's result; nil means readResponse.
	read func(ctx context.Context, status int, h http.Header, body []byte) (*verifiedBody, error)
	// retry: the call only reads, so a transient failure is retried.
	retry bool
	// write: the call may change state at Alipay; a failure after the
	// request may have arrived is marked ErrOutcomeUnknown.
	write bool
	// sealed: a success must come encrypted; a plain one is refused.
	sealed bool
	// scrub, when set, removes the call's own secrets (a code, a token it
	// sent) from an attempt's error; see scrubAttempt.
	scrub func(error) error
}

// scrubAttempt removes the secrets an attempt's error may quote before
// anything sees it (the observer, the log, the error hook, the caller):
// every token member of a quoted answer, the quoted answer of an AES key
// call (it may hold a key), and the call's own secrets. Call goes through
// it too, so Call("alipay.open.auth.token.app", …) is scrubbed as well.
func scrubAttempt(r *request, err error) error {
	err = scrubSecrets(err)
	if encryptedOnly(r.method) {
		err = scrubKeyError(err)
	}
	if r.scrub != nil {
		err = r.scrub(err)
	}
	return err
}

// attemptResult is what one attempt produced.
type attemptResult struct {
	res    *verifiedBody
	status int   // HTTP status; 0 when no answer came
	err    error // nil on success
	sent   bool  // the request may have reached the gateway
}

// do runs one call and hands a failure to the client's error hook.
func (c *Client) do(ctx context.Context, r *request) (*verifiedBody, error) {
	res, err := c.run(ctx, r)
	if err != nil && c.onError != nil {
		c.onError(ctx, err)
	}
	return res, err
}

// run checks ctx, applies the client's timeout as a deadline on the
// call's ctx (it bounds every attempt and every pause between them, as
// http.Client.Timeout bounded one request, without the goroutine and timer
// net/http starts per request for it), opens the files of an upload, and
// makes attempts until one succeeds or the retry rule says stop.
func (c *Client) run(ctx context.Context, r *request) (*verifiedBody, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", r.method, err) // nothing sent
	}
	if d := c.core.timeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	var up *openedUpload
	if r.files != nil {
		var err error
		if up, err = c.openUpload(ctx, r.method, r.files); err != nil {
			return nil, err
		}
		defer up.close()
	}
	policy := c.policyFor(ctx, r)
	ctx, obs := c.startObserving(ctx, r.method)
	for n := 1; ; n++ {
		start := time.Now()
		a := c.attempt(ctx, r, up)
		if a.err != nil {
			a.err = scrubAttempt(r, a.err)
		}
		kind := classify(a.err)
		if a.err != nil && r.write && a.sent && mayHaveApplied(a.err, kind) {
			a.err = &outcomeUnknownError{err: a.err}
		}
		retry, delay := false, time.Duration(0)
		if a.err != nil && n < policy.attempts && kind != notTransient {
			delay = policy.delay(n, kind)
			retry = fitsDeadline(ctx, delay)
		}
		duration := time.Since(start)
		if retry { // pause before reporting, so that a pause cut short ends the call's report
			if err := c.core.sleep(ctx, delay); err != nil {
				retry = false
				a.err = fmt.Errorf("alipay: %s: %w while waiting to retry after: %w", r.method, err, a.err)
			}
		}
		c.report(ctx, obs, &Attempt{
			Method: r.method, AppID: c.core.appID, Merchant: c.fingerprint(), Number: n,
			Start: start, Duration: duration, StatusCode: a.status, Err: a.err,
			Retry: retry, Delay: delay, OutcomeUnknown: errors.Is(a.err, ErrOutcomeUnknown),
		}, a.res)
		if !retry {
			return a.res, a.err
		}
	}
}

// attempt signs the request with a fresh timestamp, sends it, reads the
// answer and verifies it.
func (c *Client) attempt(ctx context.Context, r *request, up *openedUpload) attemptResult {
	s, err := c.sign(r.method, r.biz, r.text)
	if err != nil {
		return attemptResult{err: err}
	}
	var resp *http.Response
	var body []byte
	if up != nil {
		resp, body, err = c.sendUpload(ctx, r.method, s, up) // its errors are final
	} else if resp, body, err = c.sendForm(ctx, s); err != nil {
		err = c.scrubTransport(ctx, r.method, err)
	}
	if err != nil {
		var te *transportError
		return attemptResult{err: err, sent: !errors.As(err, &te) || !te.notSent}
	}
	read := r.read
	if read == nil {
		read = func(ctx context.Context, status int, h http.Header, body []byte) (*verifiedBody, error) {
			return c.readResponse(ctx, r.method, status, h, body)
		}
	}
	res, err := read(ctx, resp.StatusCode, resp.Header, body)
	if err == nil && r.sealed && !res.encrypted {
		err = &ResponseError{Method: r.method, StatusCode: resp.StatusCode, Reason: ReasonNotEncrypted, TraceID: res.traceID}
		res = nil
	}
	return attemptResult{res: res, status: resp.StatusCode, err: err, sent: true}
}

// sendForm POSTs a signed form request with net/http and reads the answer
// with readBody. resty is not on this path: measured in pairs against the
// minimal stdlib call, sending through resty cost about 1.5 % of a call
// (middleware, header merging, two Content-Type regular expressions), more
// than the whole budget of the SDK (BENCHMARKS.md). The body is a
// *strings.Reader, so net/http sets its length and GetBody.
func (c *Client) sendForm(ctx context.Context, s *signed) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(encodeForm(s.body)))
	if err != nil {
		return nil, nil, err
	}
	req.Header = http.Header{"Content-Type": {formMediaType}, "User-Agent": {userAgent}}
	resp, err := c.core.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	body, err := readBody(resp)
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

// transportError is a failure to get a complete answer from the gateway.
// Its cause is scrubbed: net/http puts the whole URL, sign included, into
// a *url.Error's text.
type transportError struct {
	method  string
	err     error // the cause
	ctxErr  error // the call's ctx error, when the ctx had ended
	notSent bool  // the request certainly never left (a dial or DNS failure)
}

func (e *transportError) Error() string {
	if e.ctxErr != nil && !errors.Is(e.err, e.ctxErr) {
		return "alipay: " + e.method + ": " + e.ctxErr.Error() + " (" + e.err.Error() + ")"
	}
	return "alipay: " + e.method + ": " + e.err.Error()
}

// Unwrap returns the ctx's error (when it had ended) and the cause.
func (e *transportError) Unwrap() []error {
	if e.ctxErr != nil {
		return []error{e.ctxErr, e.err}
	}
	return []error{e.err}
}

// scrubTransport scrubs and classifies a failure to get an answer. An
// oversized answer is a *ResponseError.
func (c *Client) scrubTransport(ctx context.Context, method string, err error) error {
	if errors.Is(err, errBodyTooLarge) {
		return &ResponseError{Method: method, StatusCode: http.StatusOK, Reason: ReasonBodyTooLarge}
	}
	var te *transportError
	if errors.As(err, &te) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = c.core.gateway
	}
	return &transportError{method: method, err: err, ctxErr: ctx.Err(), notSent: neverSent(err)}
}
