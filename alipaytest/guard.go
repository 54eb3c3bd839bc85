package alipaytest

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// maxPanics bounds how many recovered panics the server keeps for
// [Server.Err]; later ones are counted only.
const maxPanics = 32

// TB is the part of testing.TB the server uses ([WithTB]); *testing.T,
// *testing.B and *testing.F satisfy it.
type TB interface {
	Logf(format string, args ...any)
	Cleanup(func())
}

// PanicError is a panic the server recovered: in a function the test gave
// it (the [AuditFunc] of [WithAutoAudit], the clock of [WithClock]) or in
// its own request handling. The server keeps serving; see [Server.Err].
type PanicError struct {
	// Func names where the panic happened: "WithAutoAudit", "WithClock" or
	// "gateway handler".
	Func string
	// Value is the value passed to panic; for a function that called
	// runtime.Goexit (t.FailNow in a callback) it is a string saying so.
	Value any
	// Stack is the panicking goroutine's stack.
	Stack string
}

// Error says where the panic happened and its value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("alipaytest: recovered panic in %s: %v", e.Func, e.Value)
}

// Err returns the panics the server recovered so far, joined (errors.As
// finds each [*PanicError]), or nil when there was none. A panic is also
// reported once through the gateway: the request during which it happened,
// or the next one after a panic in the background, is answered with a
// signed 20000 isp.unknow-error whose sub_msg names it; and it is logged
// through [WithTB].
func (s *Server) Err() error {
	s.panicMu.Lock()
	defer s.panicMu.Unlock()
	if len(s.panics) == 0 {
		return nil
	}
	errs := make([]error, 0, len(s.panics)+1)
	for _, p := range s.panics {
		errs = append(errs, p)
	}
	if s.panicsDropped > 0 {
		errs = append(errs, fmt.Errorf("alipaytest: %d more panics recovered", s.panicsDropped))
	}
	return errors.Join(errs...)
}

// guard runs fn, a function the test gave the server, and turns a panic (or
// a runtime.Goexit) into a recorded *PanicError. It reports whether fn
// returned normally. A caller must not hold a lock it releases in a
// deferred call across guard unless fn runs under that lock: a Goexit
// cannot be stopped, only recorded.
func (s *Server) guard(name string, fn func()) (ok bool) {
	defer func() {
		if ok {
			return
		}
		v := recover()
		if v == nil {
			v = "runtime.Goexit (t.FailNow or t.SkipNow called from a callback?)"
		}
		s.recordPanic(name, v, string(debug.Stack()))
	}()
	fn()
	return true
}

// now returns the server's clock, guarded: a panicking clock is recorded
// and time.Now is used instead.
func (s *Server) now() time.Time {
	t := time.Now()
	s.guard("WithClock", func() { t = s.cfg.clock() })
	return t
}

// recordPanic keeps p for Err and for the next answer, and logs it. It
// takes only panicMu, so it may run while s.mu is held.
func (s *Server) recordPanic(name string, v any, stack string) {
	p := &PanicError{Func: name, Value: v, Stack: stack}
	s.panicMu.Lock()
	if len(s.panics) < maxPanics {
		s.panics = append(s.panics, p)
	} else {
		s.panicsDropped++
	}
	if s.unreported == nil {
		s.unreported = p
	}
	s.panicMu.Unlock()
	s.logf("alipaytest: recovered panic in %s: %v (the server keeps serving; Server.Err reports it)\n%s", name, v, stack)
}

// takeUnreported returns the oldest panic not yet reported through an
// answer, and marks it reported; nil when there is none.
func (s *Server) takeUnreported() *PanicError {
	s.panicMu.Lock()
	defer s.panicMu.Unlock()
	p := s.unreported
	s.unreported = nil
	return p
}

// panicAnswer is the answer that reports p: a signed 20000
// isp.unknow-error, as the gateway answers its own internal failures.
func panicAnswer(method string, p *PanicError) *answer {
	a := failure(codeUnavailable, "isp.unknow-error", p.Error())
	a.node, a.signed = errorNode, true
	if knownMethod(method) {
		a.node = nodeName(method)
	}
	return a
}

// logf writes to the TB of WithTB, if any. A TB whose test has ended
// panics on Logf; that is swallowed, as nothing is left to report to.
func (s *Server) logf(format string, args ...any) {
	tb := s.cfg.tb
	if tb == nil {
		return
	}
	defer func() { _ = recover() }()
	tb.Logf(format, args...)
}
