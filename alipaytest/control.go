package alipaytest

import (
	"errors"
	"fmt"
	"time"
)

// Errors of the test-control methods, for errors.Is.
var (
	// ErrNoApplication: the merchant has no application under audit for the
	// field ([Server.Approve], [Server.Reject], [Server.Invalidate]).
	ErrNoApplication = errors.New("alipaytest: no application under audit")
	// ErrUnknownMerchant: no merchant has this token or app id.
	ErrUnknownMerchant = errors.New("alipaytest: unknown merchant")
)

// Approve ends the audit of the merchant's newest application under audit
// for (apiName, fieldName, packageCode) with AGREE, and sends the
// field.changed message when a notify URL is set. merchant is the
// app_auth_token or the mini-program's app id.
func (s *Server) Approve(merchant, apiName, fieldName, packageCode string) error {
	return s.decide(merchant, apiName, fieldName, packageCode, StatusAgree, "")
}

// Reject is [Server.Approve] with REJECT and the rejection reason (驳回原因);
// an empty reason becomes "使用场景不在信息开放的范围内".
func (s *Server) Reject(merchant, apiName, fieldName, packageCode, reason string) error {
	if reason == "" {
		reason = "使用场景不在信息开放的范围内"
	}
	return s.decide(merchant, apiName, fieldName, packageCode, StatusReject, reason)
}

// Invalidate is [Server.Approve] with INVALID (无效, the ISV-on-behalf case).
func (s *Server) Invalidate(merchant, apiName, fieldName, packageCode string) error {
	return s.decide(merchant, apiName, fieldName, packageCode, StatusInvalid, "")
}

func (s *Server) decide(id, apiName, fieldName, packageCode string, st Status, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.lookupMerchant(id)
	if m == nil {
		return fmt.Errorf("%w %q", ErrUnknownMerchant, id)
	}
	a := m.latest(apiName, fieldName, packageCode, StatusAudit)
	if a == nil {
		return fmt.Errorf("%w for %s: %s/%s/%s", ErrNoApplication, id, apiName, fieldName, packageCode)
	}
	s.setStatus(m, a, st, reason)
	return nil
}

// setStatus ends an audit and queues the notification. The caller holds
// s.mu.
func (s *Server) setStatus(m *merchant, a *Application, st Status, reason string) {
	a.Status, a.Reason, a.DecidedAt = st, reason, s.now()
	if st != StatusReject {
		a.Reason = ""
	}
	s.notifyLocked(m, a)
}

// scheduleAudit starts the automatic decision of a new application when
// WithAutoAudit is set. The caller holds s.mu.
func (s *Server) scheduleAudit(m *merchant, a *Application) {
	if !s.cfg.autoAudit || s.closed {
		return
	}
	var t *time.Timer
	s.wg.Add(1) // Done when the timer fires, or in Close when it is stopped
	t = time.AfterFunc(s.cfg.auditAfter, func() {
		defer s.wg.Done()
		cp, ok := s.auditCandidate(&t, a) // t is read under s.mu: the caller sets it while holding s.mu
		if !ok {
			return
		}
		st, reason := StatusAgree, ""
		if fn := s.cfg.auditFunc; fn != nil {
			// User code runs without the lock, and a panic in it is
			// recovered: the application then stays under audit.
			if !s.guard("WithAutoAudit", func() { st, reason = fn(cp) }) {
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || a.Status != StatusAudit {
			return
		}
		switch st {
		case StatusAgree, StatusReject, StatusInvalid:
			if st == StatusReject && reason == "" {
				reason = "使用场景不在信息开放的范围内"
			}
			s.setStatus(m, a, st, reason)
		}
	})
	s.timers[t] = struct{}{}
}

// auditCandidate forgets the fired timer *t and returns a copy of a for the
// AuditFunc, or false when a no longer needs a decision.
func (s *Server) auditCandidate(t **time.Timer, a *Application) (Application, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.timers, *t)
	if s.closed || a.Status != StatusAudit {
		return Application{}, false
	}
	cp := *a
	cp.Files = append([]File(nil), a.Files...)
	return cp, true
}
