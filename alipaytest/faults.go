package alipaytest

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// FaultKind is a way the gateway, or the network in front of it, misbehaves.
type FaultKind int

// Fault kinds. Unless noted, the request is handled normally (state changes
// happen) and only the answer is altered.
const (
	// FaultTamperSignature answers with a well-formed signature that does
	// not verify (one bit flipped).
	FaultTamperSignature FaultKind = iota + 1
	// FaultMissingSignature answers without "sign".
	FaultMissingSignature
	// FaultDuplicateNode appends a second, unsigned "<method>_response" node
	// claiming success after the signed one.
	FaultDuplicateNode
	// FaultHTTPStatus answers Fault.Status (default 502) with an HTML body,
	// as a front proxy does (413 is the access layer's "Request Entity Too
	// Large"). The request is not handled.
	FaultHTTPStatus
	// FaultDelay waits Fault.Delay after handling the request, then answers.
	// The wait ends early when the client gives up (its ctx) or the server
	// closes; either way the request has taken effect, which is the case a
	// client must survive: "timed out, but applied". A client that gives
	// up on a short timer may give up before its request arrives (signing,
	// dialling and a loaded machine can take longer than the timer): the
	// fault then stays queued and delays the next request by its whole
	// Delay. To give up during the wait, cancel once [Server.RequestCount]
	// counts the request (it is recorded before the wait), or call
	// [Server.ClearFaults] after the call.
	FaultDelay
	// FaultUnsignedError answers an unsigned 20000 isp.unknow-error
	// (service currently unavailable). The request is not handled.
	FaultUnsignedError
	// FaultDisconnect handles the request, then closes the connection
	// without an answer: "applied, then the connection dropped". The
	// request's record says what was applied; the client never hears.
	FaultDisconnect
	// FaultUnknownError answers a signed 20000 isp.unknow-error, the
	// gateway's "outcome unknown". The request is not handled.
	FaultUnknownError
	// FaultCallLimited answers a signed 40005 (call frequency limit) with
	// sub_code Fault.SubCode, by default "isv.app-call-limited" (the
	// per-method limit is "isv.method-call-limited"). The request is not
	// handled.
	FaultCallLimited
	// FaultError answers a signed failure with Fault.Code (default 40004),
	// Fault.SubCode and Fault.SubMsg, in the method's node; use it for any
	// refusal the server does not produce by itself (a 20000
	// SYSTEM_ERROR, a 40004 CANNOT_MODIFY_CATEGORY_WITH_RELATION_VERSION of
	// baseinfo.modify, …). The request is not handled.
	FaultError
	// FaultDropRequest reads the request, then closes the connection before
	// any status, without handling it: to the client it looks like
	// FaultDisconnect, but nothing was applied.
	FaultDropRequest

	lastFaultKind = FaultDropRequest
)

// String returns the kind's name.
func (k FaultKind) String() string {
	switch k {
	case FaultTamperSignature:
		return "TamperSignature"
	case FaultMissingSignature:
		return "MissingSignature"
	case FaultDuplicateNode:
		return "DuplicateNode"
	case FaultHTTPStatus:
		return "HTTPStatus"
	case FaultDelay:
		return "Delay"
	case FaultUnsignedError:
		return "UnsignedError"
	case FaultDisconnect:
		return "Disconnect"
	case FaultUnknownError:
		return "UnknownError"
	case FaultCallLimited:
		return "CallLimited"
	case FaultError:
		return "Error"
	case FaultDropRequest:
		return "DropRequest"
	case 0:
		return "None"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault describes misbehaviour to inject with [Server.InjectFault].
type Fault struct {
	// Method limits the fault to one Alipay method (the received method
	// parameter); empty means any request.
	Method string
	// Kind is what goes wrong.
	Kind FaultKind
	// Count is how many matching requests get the fault; 0 means every
	// matching request until [Server.ClearFaults]. Only a request that
	// reaches the server takes a use of it.
	Count int
	// Rate, when not 0, makes the fault hit each matching request with this
	// probability (0 < Rate ≤ 1), drawn from the server's seeded source
	// ([WithFaultSeed]); Count then bounds the hits. A request the draw
	// spares goes on to the next queued fault.
	Rate float64
	// Status is the HTTP status of FaultHTTPStatus; 0 means 502.
	Status int
	// Delay is the wait of FaultDelay.
	Delay time.Duration
	// Code, SubCode and SubMsg are the failure of FaultError (Code defaults
	// to 40004); SubCode is also the sub_code of FaultCallLimited.
	Code, SubCode, SubMsg string
}

// InjectFault queues f. Each request takes the first queued fault that
// matches its method (and, for a fault with a Rate, whose draw hits). It
// returns an error, and queues nothing, for an unknown Kind, a negative
// Count, a Rate outside [0, 1], a Status outside 400–599, or a Code that
// is not a failure.
func (s *Server) InjectFault(f Fault) error {
	switch {
	case f.Kind < FaultTamperSignature || f.Kind > lastFaultKind:
		return fmt.Errorf("alipaytest: InjectFault: unknown kind %v", f.Kind)
	case f.Count < 0:
		return fmt.Errorf("alipaytest: InjectFault: negative Count %d", f.Count)
	case !(f.Rate >= 0 && f.Rate <= 1): // NaN fails both
		return fmt.Errorf("alipaytest: InjectFault: Rate %v is not in [0, 1]", f.Rate)
	case f.Kind == FaultHTTPStatus && f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("alipaytest: InjectFault: Status %d is not an HTTP error", f.Status)
	case f.Kind == FaultError && (f.Code == codeSuccess || f.Code == "" && f.SubCode == ""):
		return errors.New("alipaytest: InjectFault: FaultError needs a failure Code or a SubCode")
	}
	if f.Kind == FaultHTTPStatus && f.Status == 0 {
		f.Status = http.StatusBadGateway
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
	return nil
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes one use of the first fault matching method whose
// draw, if it has a rate, hits.
func (s *Server) takeFault(method string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && f.Method != method {
			continue
		}
		if f.Rate > 0 && s.rng.Float64() >= f.Rate {
			continue
		}
		out := *f
		if f.Count > 0 {
			if f.Count--; f.Count == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return out
	}
	return Fault{}
}

// faultAnswer is the failure a fault answers instead of handling the
// request, or nil when f does not replace the handling.
func faultAnswer(f Fault, method string) *answer {
	var a *answer
	switch f.Kind {
	case FaultUnsignedError, FaultUnknownError:
		a = failure(codeUnavailable, "isp.unknow-error", "服务暂不可用（业务系统不可用）")
	case FaultCallLimited:
		sub := f.SubCode
		if sub == "" {
			sub = "isv.app-call-limited"
		}
		a = failure(codeCallLimited, sub, "调用频次超限")
	case FaultError:
		code := f.Code
		if code == "" {
			code = codeBusinessError
		}
		a = failure(code, f.SubCode, f.SubMsg)
	default:
		return nil
	}
	a.node, a.signed = errorNode, f.Kind != FaultUnsignedError
	if knownMethod(method) {
		a.node = nodeName(method)
	}
	return a
}

// wait sleeps d, or less when the request's ctx ends or the server closes.
func (s *Server) wait(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	case <-s.stop:
	}
}

// disconnect closes the client's connection without an answer.
func disconnect(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	return conn.Close() == nil
}
