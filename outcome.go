package alipay

import (
	"errors"
)

// ErrOutcomeUnknown is the class of failures of a write (field.apply,
// baseinfo.modify, and any call that is not a read) that may have been
// applied by Alipay although no usable answer came back: a timeout or a
// cancelled ctx after the request was sent, a connection dropped before
// the answer, an HTTP error or HTML page instead of Alipay's answer, an
// answer that failed verification, code 20000 (isp.unknow-error) or a
// SYSTEM_ERROR sub_code. Alipay v1 has no idempotency key, so the SDK never
// sends such a write again by itself: find out first (for an application,
// [Client.AppAPIFieldQuery], or let [Client.ApplyFieldOnce] do it). The
// cause stays inside: errors.As still finds the [*APIError],
// [*ResponseError] or [*VerifyError], and errors.Is finds
// context.DeadlineExceeded.
//
// A write that certainly never left (a connection that could not be made)
// or that Alipay refused with a definite answer is not marked.
var ErrOutcomeUnknown = errors.New("alipay: outcome unknown: the request may have been applied")

// outcomeUnknownError marks a write's failure as ErrOutcomeUnknown.
type outcomeUnknownError struct{ err error }

func (e *outcomeUnknownError) Error() string {
	return e.err.Error() + " [outcome unknown: the request may have been applied; check before sending it again]"
}

// Unwrap returns the cause and ErrOutcomeUnknown.
func (e *outcomeUnknownError) Unwrap() []error { return []error{e.err, ErrOutcomeUnknown} }

// mayHaveApplied reports whether a write that failed with err, after the
// request may have reached the gateway, may still have been applied.
// kind is classify(err).
func mayHaveApplied(err error, kind retryKind) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return kind == transient // 20000 / SYSTEM_ERROR: Alipay does not know either
	}
	var (
		te *transportError
		re *ResponseError
	)
	return errors.As(err, &te) || errors.As(err, &re) || errors.Is(err, ErrSignature)
}
