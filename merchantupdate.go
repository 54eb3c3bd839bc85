package alipay

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxUpdateAttempts bounds UpdateMerchant's read-modify-write retries.
const maxUpdateAttempts = 16

// errUnchanged, returned by an update function, leaves the record as read.
var errUnchanged = errors.New("alipay: unchanged")

// UpdateMerchant reads the record of appID, lets fn change it and writes it
// back with the store's compare-and-swap, reading again and calling fn
// again when another writer came first. For an unknown appID fn receives a
// new record (AppID set, Version 0): fn creates it by setting its fields,
// or returns an error wrapping [ErrMerchantNotFound] to refuse. An error
// from fn is returned as is and nothing is written. It returns the record
// as stored.
func UpdateMerchant(ctx context.Context, store MerchantStore, appID string, fn func(m *Merchant) error) (*Merchant, error) {
	if store == nil || fn == nil {
		return nil, errors.New("alipay: UpdateMerchant: nil store or function")
	}
	if err := checkMerchantID(appID); err != nil {
		return nil, err
	}
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		m, err := store.Get(ctx, appID)
		if errors.Is(err, ErrMerchantNotFound) {
			m, err = &Merchant{AppID: appID}, nil
		}
		if err != nil {
			return nil, err
		}
		read := m.Clone()
		switch err := fn(m); {
		case errors.Is(err, errUnchanged):
			return read, nil
		case err != nil:
			return nil, err
		}
		m.AppID, m.Version = appID, read.Version
		err = store.Put(ctx, m)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, ErrVersionConflict) {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("alipay: merchant %s: %d concurrent writers won in a row: %w", appID, maxUpdateAttempts, ErrVersionConflict)
}

// Authorization is a token to record for a merchant: from an exchange of
// an app_auth_code, or from the authorization notify.
type Authorization struct {
	// Token is what Alipay returned; Token.AuthAppID names the merchant.
	Token AppToken
	// At is when the merchant authorised (the notify's auth_time); zero
	// means now. An authorization older than what the record holds is
	// stale (a late retry of a notify) and is not applied.
	At time.Time
	// Source says where it came from ("redirect", "notify"), for History.
	Source string
	// Code is the app_auth_code it came from, when known: only a digest
	// of it is stored (Merchant.AuthCodeDigest).
	Code string
}

// RecordAuthorization stores a new authorization: the token, the refresh
// token (even when empty) and the user id replace those of the record
// (created if needed), the state becomes authorized, and History gains an
// event; the AES keys stay. Recording the token already stored changes
// nothing (the notify and the redirect both deliver it), and a stale
// authorization is ignored; both return the record as stored. "Now" is the client's clock ([WithClock]).
func (c *Client) RecordAuthorization(ctx context.Context, store MerchantStore, a Authorization) (*Merchant, error) {
	tok := a.Token
	if tok.AppAuthToken.IsZero() {
		return nil, errors.New("alipay: RecordAuthorization: empty app_auth_token")
	}
	now := c.core.now()
	at := a.At
	if at.IsZero() {
		at = now
	}
	return UpdateMerchant(ctx, store, tok.AuthAppID, func(m *Merchant) error {
		if m.AppAuthToken.Equal(tok.AppAuthToken) && m.State == MerchantAuthorized {
			return errUnchanged // the same authorization, delivered twice
		}
		if m.Version != 0 && at.Before(latestChange(m)) {
			return errUnchanged // stale: a newer token or state is stored
		}
		// The refresh token belongs to its authorization: an old one is
		// never kept with a new token.
		m.AppAuthToken, m.RefreshToken, m.AuthorizedAt = tok.AppAuthToken, tok.AppRefreshToken, at
		if tok.UserID != "" {
			m.UserID = tok.UserID
		}
		if a.Code != "" {
			m.AuthCodeDigest = authCodeDigest(a.Code)
		}
		m.Refresh = RefreshLease{} // a refresh of the old token must not overwrite this one
		m.setState(MerchantAuthorized, a.Source, now)
		return nil
	})
}

// latestChange is the latest instant at which m's token or state changed.
func latestChange(m *Merchant) time.Time {
	t := m.AuthorizedAt
	if m.RefreshedAt.After(t) {
		t = m.RefreshedAt
	}
	if m.State != MerchantAuthorized && m.StateSince.After(t) {
		t = m.StateSince
	}
	return t
}

// SetMerchantState moves a stored merchant to state, with reason, and
// records the event; the tokens stay (history is kept, nothing is
// deleted). Moving to the state it is in already changes nothing. An
// unknown appID gives an error wrapping [ErrMerchantNotFound]. Use it for
// the authorization-cancelled message (after confirming with
// [Client.AuthTokenAppQuery]), or to restore a merchant marked by mistake.
// "Now" is the client's clock ([WithClock]).
func (c *Client) SetMerchantState(ctx context.Context, store MerchantStore, appID string, state MerchantState, reason string) (*Merchant, error) {
	if !state.Valid() {
		return nil, fmt.Errorf("alipay: SetMerchantState: invalid state %q", state)
	}
	return UpdateMerchant(ctx, store, appID, func(m *Merchant) error {
		switch {
		case m.Version == 0:
			return fmt.Errorf("alipay: merchant %s: %w", appID, ErrMerchantNotFound)
		case m.State == state:
			return errUnchanged
		case state == MerchantAuthorized && m.AppAuthToken.IsZero():
			return fmt.Errorf("alipay: merchant %s: no token to authorise with", appID)
		}
		m.setState(state, reason, c.core.now())
		return nil
	})
}
