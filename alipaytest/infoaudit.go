package alipaytest

import (
	"errors"
	"fmt"
)

// ModifyStatusPendingAudit is the modify_status baseinfo.modify answers
// when the change went to an information audit: only on a mini-program
// with a listed version ([Merchant.Listed], [Server.SetListed]). A change
// that applies at once is answered without modify_status, as Alipay's
// older response model has no such field. Alipay documents neither the
// values nor their meaning (its one example is "1"), so a client treats
// any modify_status as "pending audit" (alipay's
// MiniBaseInfoModifyResponse.PendingAudit) and confirms with baseinfo.query.
const ModifyStatusPendingAudit = "AUDITING"

// ErrNoInfoAudit: the mini-program has no base-info change under
// information audit ([Server.ApproveBaseInfo], [Server.RejectBaseInfo]).
var ErrNoInfoAudit = errors.New("alipaytest: no base info change under audit")

// SetListed marks the mini-program (token or app id) as having a listed
// (上架) version, or not: from now on its baseinfo.modify changes go to an
// information audit. See [Merchant.Listed].
func (s *Server) SetListed(merchant string, listed bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.lookupMerchant(merchant)
	if m == nil {
		return fmt.Errorf("%w %q", ErrUnknownMerchant, merchant)
	}
	m.listed = listed
	return nil
}

// PendingBaseInfo returns the base info a change under information audit
// would give the mini-program (token or app id); ok is false when none is
// under audit.
func (s *Server) PendingBaseInfo(merchant string) (info BaseInfo, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.lookupMerchant(merchant)
	if m == nil || m.pendingInfo == nil {
		return BaseInfo{}, false
	}
	return copyInfo(*m.pendingInfo), true
}

// ApproveBaseInfo ends the information audit of the mini-program (token or
// app id) by applying its change.
func (s *Server) ApproveBaseInfo(merchant string) error {
	return s.endInfoAudit(merchant, true)
}

// RejectBaseInfo ends the information audit of the mini-program (token or
// app id) without applying its change.
func (s *Server) RejectBaseInfo(merchant string) error {
	return s.endInfoAudit(merchant, false)
}

func (s *Server) endInfoAudit(merchant string, apply bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.lookupMerchant(merchant)
	switch {
	case m == nil:
		return fmt.Errorf("%w %q", ErrUnknownMerchant, merchant)
	case m.pendingInfo == nil:
		return fmt.Errorf("%w: %s", ErrNoInfoAudit, merchant)
	}
	if apply {
		m.info = *m.pendingInfo
	}
	m.pendingInfo = nil
	return nil
}
