package alipay

import (
	"context"
	"errors"
	"fmt"
)

// ApplyFieldOutcome says what [Client.ApplyFieldOnce] did.
type ApplyFieldOutcome string

// Outcomes of [Client.ApplyFieldOnce].
const (
	// ApplyFieldSubmitted: the application was sent and Alipay accepted it.
	ApplyFieldSubmitted ApplyFieldOutcome = "submitted"
	// ApplyFieldExisting: an application under audit or approved existed
	// already (field.query showed it, or field.apply answered
	// AUTH_API_FIELD_IS_AUDITING or AUTH_API_APPLY_IS_PASS); nothing new
	// was applied for.
	ApplyFieldExisting ApplyFieldOutcome = "existing"
	// ApplyFieldConfirmed: the answer to the application was lost (a
	// timeout, a dropped connection, a failing proxy), and field.query then
	// showed the application: it was recorded once.
	ApplyFieldConfirmed ApplyFieldOutcome = "confirmed"
)

// ApplyFieldResult is the result of [Client.ApplyFieldOnce].
type ApplyFieldResult struct {
	// Outcome is what happened.
	Outcome ApplyFieldOutcome
	// Record is the application record field.query showed (AUDIT or
	// AGREE), for ApplyFieldExisting found by the first query and for
	// ApplyFieldConfirmed; nil otherwise.
	Record *AuthFieldDTO
	// Response is field.apply's answer, for ApplyFieldSubmitted.
	Response *AppAPIFieldApplyResponse
}

// ApplyFieldOnce applies for a field like [Client.AppAPIFieldApply], but
// never applies twice for an application Alipay has already recorded. It
// asks [Client.AppAPIFieldQuery] first: an application for the same
// api_name, field_name and package_code that is under audit (AUDIT) or
// approved (AGREE) is returned as ApplyFieldExisting without sending
// anything; a rejected or invalid one does not stop a new application.
// Otherwise it submits. When the outcome of the submission is unknown
// ([ErrOutcomeUnknown]: the answer was lost, or was a 20000
// isp.unknow-error), it asks field.query again: if the application shows,
// the result is ApplyFieldConfirmed; if not, the error is returned, still
// marked ErrOutcomeUnknown, and nothing is resent — call ApplyFieldOnce
// again later, and it will look before it applies.
//
// The request is validated before anything is sent. Each field.query is a
// read, retried on transient failures like any query.
func (c *Client) ApplyFieldOnce(ctx context.Context, req *AppAPIFieldApplyRequest) (*ApplyFieldResult, error) {
	if req == nil {
		req = &AppAPIFieldApplyRequest{}
	}
	if _, err := req.validate(); err != nil {
		return nil, err
	}
	a := &req.AuthFieldApply
	rec, err := c.liveApplication(ctx, a)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		return &ApplyFieldResult{Outcome: ApplyFieldExisting, Record: rec}, nil
	}
	res, err := c.AppAPIFieldApply(ctx, req)
	var apiErr *APIError
	switch {
	case err == nil:
		return &ApplyFieldResult{Outcome: ApplyFieldSubmitted, Response: res}, nil
	case errors.As(err, &apiErr) && apiErr.Verified &&
		(apiErr.SubCode == SubCodeAuthAPIFieldIsAuditing || apiErr.SubCode == SubCodeAuthAPIApplyIsPass):
		return &ApplyFieldResult{Outcome: ApplyFieldExisting}, nil
	case !errors.Is(err, ErrOutcomeUnknown):
		return nil, err
	}
	rec, qerr := c.liveApplication(ctx, a)
	switch {
	case qerr != nil:
		return nil, fmt.Errorf("%w; checking with field.query failed too: %v", err, qerr)
	case rec == nil:
		return nil, fmt.Errorf("%w; field.query does not show the application (yet)", err)
	}
	return &ApplyFieldResult{Outcome: ApplyFieldConfirmed, Record: rec}, nil
}

// liveApplication returns the record of an application for a's api, field
// and package that is approved or under audit (an approval first), or nil.
func (c *Client) liveApplication(ctx context.Context, a *AuthFieldApply) (*AuthFieldDTO, error) {
	res, err := c.AppAPIFieldQuery(ctx, nil)
	if err != nil {
		return nil, err
	}
	var found *AuthFieldDTO
	for _, rec := range res.Records(a.APIName, a.FieldName, a.PackageCode) {
		switch rec.Status {
		case AuthFieldStatusAgree:
			return &rec, nil
		case AuthFieldStatusAudit:
			if found == nil {
				found = &rec
			}
		}
	}
	return found, nil
}
