package alipaytest

import (
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
	// as a front proxy does. The request is not handled.
	FaultHTTPStatus
	// FaultDelay waits Fault.Delay after handling the request, then answers.
	// The wait ends early when the client gives up (its ctx) or the server
	// closes; either way the request has taken effect, which is the case a
	// client must survive: "timed out, but applied".
	FaultDelay
	// FaultUnsignedError answers an unsigned 20000 isp.unknow-error
	// (service currently unavailable). The request is not handled.
	FaultUnsignedError
	// FaultDisconnect handles the request, then closes the connection
	// without an answer.
	FaultDisconnect
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
	// matching request until [Server.ClearFaults].
	Count int
	// Status is the HTTP status of FaultHTTPStatus; 0 or a status below 400
	// means 502.
	Status int
	// Delay is the wait of FaultDelay.
	Delay time.Duration
}

// InjectFault queues f. Each request takes the first queued fault that
// matches its method; faults of an unknown Kind are ignored.
func (s *Server) InjectFault(f Fault) {
	if f.Kind < FaultTamperSignature || f.Kind > FaultDisconnect || f.Count < 0 {
		return
	}
	if f.Kind == FaultHTTPStatus && (f.Status < 400 || f.Status > 599) {
		f.Status = http.StatusBadGateway
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes one use of the first fault matching method.
func (s *Server) takeFault(method string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && f.Method != method {
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
