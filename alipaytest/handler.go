package alipaytest

import (
	"net/http"
	"runtime/debug"
)

// serveGateway answers one request on /gateway.do.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	// A panic here is the server's own bug or a callback's that escaped
	// its guard: record it and answer 500 rather than let net/http log it
	// and drop the connection unexplained.
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.recordPanic("gateway handler", v, string(debug.Stack()))
			http.Error(w, "alipaytest: recovered panic; see Server.Err", http.StatusInternalServerError)
		}
	}()
	trace := randomHex(16)
	w.Header()["trace_id"] = []string{trace} // the gateway's spelling, not canonicalised
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "alipaytest: the gateway accepts POST only", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.maxBody)
	in := readRequest(r)
	rec := Request{TraceID: trace, HTTPStatus: http.StatusOK}
	if in.tooLarge {
		rec.HTTPStatus = http.StatusRequestEntityTooLarge
		s.noteWriteError(s.record(in, rec), writeHTMLError(w, http.StatusRequestEntityTooLarge))
		return
	}
	method := in.get("method")
	f := s.takeFault(method)
	rec.Fault = f.Kind
	switch f.Kind {
	case FaultHTTPStatus:
		rec.HTTPStatus = f.Status
		s.noteWriteError(s.record(in, rec), writeHTMLError(w, f.Status))
		return
	case FaultDropRequest:
		rec.HTTPStatus = 0
		i := s.record(in, rec)
		if !disconnect(w) { // not hijackable: the closest is a proxy's 502
			s.noteWriteError(i, writeHTMLError(w, http.StatusBadGateway))
		}
		return
	}
	a := faultAnswer(f, method)
	if a == nil {
		a = s.process(in)
	}
	if f.Kind != FaultDisconnect {
		if p := s.takeUnreported(); p != nil {
			a = panicAnswer(method, p)
		}
	}
	rec.Code, rec.SubCode = a.code, a.subCode
	if f.Kind == FaultDisconnect {
		rec.HTTPStatus, rec.Code, rec.SubCode = 0, "", ""
	}
	i := s.record(in, rec)
	switch f.Kind {
	case FaultDelay:
		s.mu.Lock()
		hook := s.onDelay
		s.mu.Unlock()
		if hook != nil {
			hook()
		}
		s.wait(r, f.Delay)
	case FaultDisconnect:
		if disconnect(w) {
			return
		}
		// Not hijackable: answer normally rather than hang.
	}
	s.noteWriteError(i, s.writeAnswer(w, a, f.Kind))
}
