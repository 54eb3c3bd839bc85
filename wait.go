package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Default polling intervals of [Client.WaitFieldAudit]. An audit usually
// takes 2–3 working days.
const (
	DefaultWaitInterval    = 30 * time.Second
	DefaultWaitMaxInterval = 10 * time.Minute
)

// waitName names WaitFieldAudit in its errors.
const waitName = "WaitFieldAudit"

// WaitFieldAuditRequest selects the application to wait for and how to wait.
// An application has no id: it is matched by (APIName, FieldName,
// PackageCode) and, when given, UserAppID.
type WaitFieldAuditRequest struct {
	// APIName is the API English name given to AppAPIFieldApply. Required.
	APIName string
	// FieldName is the field English name given to AppAPIFieldApply.
	// Required.
	FieldName string
	// PackageCode is the feature package code given to AppAPIFieldApply.
	// Required.
	PackageCode string
	// UserAppID, when set, also requires records to be about this app (the
	// merchant mini-program, user_app_id); empty matches any record of the
	// client's own field.query. Set it when Updates is shared by several
	// merchants' waits.
	UserAppID string
	// Interval is the first pause between two polls of
	// [Client.AppAPIFieldQuery]; it doubles after each poll up to
	// MaxInterval. Zero means [DefaultWaitInterval].
	Interval time.Duration
	// MaxInterval caps the pause. Zero means [DefaultWaitMaxInterval] (or
	// Interval, when that is larger); it must not be below Interval.
	MaxInterval time.Duration
	// Updates, when not nil, delivers field.changed notifications: forward
	// each AppAPIFieldChanged event's AuthFieldDTO. A message is the
	// merchant's word only when its user_app_id is this merchant's:
	// UserAppID, or the user_app_id of a matching record of the client's
	// own field.query. Such a message with a terminal status ends the wait
	// at once (the message is preferred to the query). Any other message,
	// another merchant's approval included, only triggers a poll at once,
	// at most one such poll per pause. A closed channel is no longer read.
	// [FieldChangedHub.Subscribe] gives such a channel, fed by every
	// message of the merchant (several waits for one merchant each get it).
	Updates <-chan AuthFieldDTO
}

// WaitFieldAudit waits for the outcome of one application for a
// user-information field and returns its final record: Status is
// [AuthFieldStatusAgree], [AuthFieldStatusReject] (see Reason) or
// [AuthFieldStatusInvalid]. It polls [Client.AppAPIFieldQuery] at once and
// then with exponential backoff, and can be woken by the field.changed
// notification through req.Updates. Only a record of this client's own
// merchant ends the wait: its own field.query, or a message whose
// user_app_id is that merchant's (see req.Updates), never another
// merchant's message about the same api, field and package.
//
// The application is pending while any matching record is AUDIT (or has a
// status this version does not know), or while no record matches yet. When
// several terminal records match (records carry no id or time, so an old
// REJECT may sit beside a new result), AGREE wins, else the last one listed.
// Start the wait after AppAPIFieldApply succeeded, so that the new AUDIT
// record exists.
//
// Transient poll failures (transport errors, HTTP 5xx, rate limits, code
// 20000, SYSTEM_ERROR) are retried at the next pause; any other failure
// ends the wait with that error. ctx bounds the wait: when it ends, the
// error satisfies errors.Is for ctx.Err() and mentions the last poll
// failure, if any.
func (c *Client) WaitFieldAudit(ctx context.Context, req *WaitFieldAuditRequest) (*AuthFieldDTO, error) {
	return c.waitFieldAudit(ctx, req, realTimer)
}

// timerFunc starts a timer of d and returns its channel and its stop
// function; tests inject a fake one.
type timerFunc func(d time.Duration) (<-chan time.Time, func())

func realTimer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

func (c *Client) waitFieldAudit(ctx context.Context, req *WaitFieldAuditRequest, newTimer timerFunc) (*AuthFieldDTO, error) {
	if req == nil {
		req = &WaitFieldAuditRequest{}
	}
	delay, maxDelay, err := req.intervals()
	if err != nil {
		return nil, err
	}
	updates := req.Updates
	var (
		timerC   <-chan time.Time
		stop     = func() {}
		lastErr  error
		poll     = true
		msgPolls = true              // a message may trigger a poll in this pause
		own      = map[string]bool{} // user_app_ids of this client's merchant
	)
	if req.UserAppID != "" {
		own[req.UserAppID] = true
	}
	defer func() { stop() }()
	for {
		if poll {
			poll = false
			rec, err := c.pollFieldAudit(ctx, req, own)
			switch {
			case rec != nil:
				return rec, nil
			case err != nil && ctx.Err() == nil && !retryablePollError(err):
				return nil, err
			}
			lastErr = err
			stop()
			timerC, stop = newTimer(delay)
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return nil, fmt.Errorf("alipay: %s: %w (last poll: %v)", waitName, ctx.Err(), lastErr)
			}
			return nil, fmt.Errorf("alipay: %s: %w", waitName, ctx.Err())
		case <-timerC:
			poll, msgPolls = true, true
			if delay > maxDelay/2 {
				delay = maxDelay
			} else {
				delay *= 2
			}
		case u, ok := <-updates:
			switch {
			case !ok:
				updates = nil
			case req.matches(&u) && u.Status.Terminal() && own[u.UserAppID]:
				return &u, nil
			case msgPolls:
				poll, msgPolls = true, false
			}
		}
	}
}

// intervals validates req and returns the first pause and the cap.
func (r *WaitFieldAuditRequest) intervals() (time.Duration, time.Duration, error) {
	if err := requireFields(waitName, "", "api_name", r.APIName, "field_name", r.FieldName,
		"package_code", r.PackageCode); err != nil {
		return 0, 0, err
	}
	first, maxDelay := r.Interval, r.MaxInterval
	switch {
	case first < 0:
		return 0, 0, &ValidationError{Method: waitName, Field: "interval", Problem: "negative"}
	case maxDelay < 0:
		return 0, 0, &ValidationError{Method: waitName, Field: "max_interval", Problem: "negative"}
	case maxDelay > 0 && first > maxDelay:
		return 0, 0, &ValidationError{Method: waitName, Field: "max_interval", Problem: "below interval"}
	}
	if first == 0 {
		first = DefaultWaitInterval
		if maxDelay > 0 && maxDelay < first {
			first = maxDelay
		}
	}
	if maxDelay == 0 {
		maxDelay = max(DefaultWaitMaxInterval, first)
	}
	return first, maxDelay, nil
}

// matches reports whether d is a record of the application r waits for.
func (r *WaitFieldAuditRequest) matches(d *AuthFieldDTO) bool {
	return d.Matches(r.APIName, r.FieldName, r.PackageCode) && (r.UserAppID == "" || d.UserAppID == r.UserAppID)
}

// pollFieldAudit queries the records once and returns the final record, or
// nil while the application is pending. The user_app_ids of the matching
// records, this client's merchant's own, are added to own.
func (c *Client) pollFieldAudit(ctx context.Context, r *WaitFieldAuditRequest, own map[string]bool) (*AuthFieldDTO, error) {
	res, err := c.AppAPIFieldQuery(ctx, nil)
	if err != nil {
		return nil, err
	}
	recs := res.AuthFieldResponse.Records
	for i := range recs {
		if r.matches(&recs[i]) && recs[i].UserAppID != "" {
			own[recs[i].UserAppID] = true
		}
	}
	return r.finalRecord(recs), nil
}

// finalRecord picks the final record among recs, or nil while pending: no
// matching record, or one that is AUDIT or of an unknown status.
func (r *WaitFieldAuditRequest) finalRecord(recs []AuthFieldDTO) *AuthFieldDTO {
	var final *AuthFieldDTO
	for i := range recs {
		rec := &recs[i]
		if !r.matches(rec) {
			continue
		}
		if !rec.Status.Terminal() {
			return nil
		}
		if final == nil || final.Status != AuthFieldStatusAgree {
			final = rec
		}
	}
	if final == nil {
		return nil
	}
	out := *final
	return &out
}

// retryablePollError reports whether a failed poll may succeed later.
func retryablePollError(err error) bool {
	var (
		apiErr  *APIError
		respErr *ResponseError
	)
	switch {
	case errors.Is(err, ErrSignature), errors.Is(err, ErrInvalidRequest):
		return false
	case errors.As(err, &apiErr):
		return IsTemporary(err) || IsRateLimited(err) || apiErr.SubCode == "SYSTEM_ERROR"
	case errors.As(err, &respErr):
		return respErr.StatusCode >= http.StatusInternalServerError || respErr.StatusCode == http.StatusTooManyRequests
	default:
		return true // transport
	}
}
