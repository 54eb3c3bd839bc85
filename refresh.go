package alipay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Timing of a refresh across replicas.
const (
	refreshLeaseExtra = 15 * time.Second       // a lease lasts the client's timeout plus this
	refreshPoll       = 100 * time.Millisecond // how often a waiting replica reads the record
)

// RefreshMerchant refreshes the merchant's token with its stored refresh
// token, stores the new pair, and returns the record. Alipay invalidates the
// old token after a refresh, so two refreshes at once would break each
// other: within the process, concurrent calls for one merchant share one
// refresh (single-flight), and across processes sharing the store, a
// refresh lease in the record (taken by compare-and-swap) lets one run the
// call while the others wait and return the token it stored. Nothing
// refreshes on a schedule: the token is long-lived, call this when you
// choose to.
//
// A merchant that is not authorized is refused with a [*MerchantStateError].
// A refresh token that Alipay rejects for good (a verified
// REFRESH_TOKEN_NOT_EXIST, _NOT_VALID or _TIME_OUT) marks the merchant
// [MerchantNeedsReauthorization]. The refresh itself is not cancelled with
// ctx (a refresh that reached Alipay must be stored); ctx only stops the
// waiting. If the process dies after Alipay answered and before the store
// was written, the lease expires and the next refresh, with the same
// refresh token (still valid), recovers. Calls through clients of one
// [NewClient] share a refresh by app id alone: use one store per merchant.
func (c *Client) RefreshMerchant(ctx context.Context, store MerchantStore, appID string) (*Merchant, error) {
	if store == nil {
		return nil, errors.New("alipay: RefreshMerchant: nil store")
	}
	if err := checkMerchantID(appID); err != nil {
		return nil, err
	}
	if err := c.selfInvoked(methodAuthTokenApp); err != nil {
		return nil, err
	}
	// The token this call asks to replace: a refresh that completes
	// between this read and the flight below (another goroutine's, another
	// replica's) already answers this call, so it does not refresh again.
	seen, err := store.Get(ctx, appID)
	if err != nil {
		return nil, registryError("RefreshMerchant", appID, err)
	}
	f, leader := c.core.flights.join(appID)
	if leader {
		lease := c.core.callBound() + refreshLeaseExtra
		go func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*lease)
			defer cancel()
			f.m, f.err = c.refreshShared(rctx, store, appID, lease, seen.AppAuthToken)
			c.core.flights.finish(appID, f)
		}()
	}
	select {
	case <-f.done:
		return f.m.Clone(), f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("alipay: RefreshMerchant %s: %w (the refresh goes on)", appID, ctx.Err())
	}
}

// refreshShared runs one refresh across every process sharing store: take
// the lease, call Alipay, store the result and drop the lease; or, when
// another process holds the lease, wait for its result.
func (c *Client) refreshShared(ctx context.Context, store MerchantStore, appID string, lease time.Duration, start Secret) (*Merchant, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("alipay: RefreshMerchant: %w", err)
	}
	owner := hex.EncodeToString(b[:])
	// start is the token the caller saw: once the store holds another, the
	// refresh it asked for has happened.
	for {
		m, err := store.Get(ctx, appID)
		if err != nil {
			return nil, fmt.Errorf("alipay: RefreshMerchant %s: %w", appID, err)
		}
		if m.State != MerchantAuthorized {
			return nil, &MerchantStateError{AppID: appID, State: m.State, Reason: m.Reason, Since: m.StateSince}
		}
		if start.IsZero() {
			start = m.AppAuthToken
		} else if !m.AppAuthToken.Equal(start) {
			return m, nil // another process refreshed (or the merchant authorised again)
		}
		now := c.core.now()
		if m.Refresh.Owner != "" && m.Refresh.Until.After(now) {
			if err := sleepCtx(ctx, refreshPoll); err != nil {
				return nil, fmt.Errorf("alipay: RefreshMerchant %s: waiting for another refresh: %w", appID, err)
			}
			continue
		}
		if m.RefreshToken.IsZero() {
			return nil, fmt.Errorf("alipay: RefreshMerchant %s: no refresh token stored", appID)
		}
		m.Refresh = RefreshLease{Owner: owner, Until: now.Add(lease)}
		switch err := store.Put(ctx, m); {
		case errors.Is(err, ErrVersionConflict):
			continue // someone else wrote first: read again
		case err != nil:
			return nil, fmt.Errorf("alipay: RefreshMerchant %s: taking the lease: %w", appID, err)
		}
		return c.refreshLeased(ctx, store, m, owner)
	}
}

// refreshLeased calls Alipay for m, whose lease owner holds, and stores the
// outcome: the new tokens, or the lease dropped (and the merchant marked
// when the refresh token is dead for good).
func (c *Client) refreshLeased(ctx context.Context, store MerchantStore, m *Merchant, owner string) (*Merchant, error) {
	res, err := c.AuthTokenApp(ctx, &AuthTokenAppRequest{GrantType: GrantRefreshToken, RefreshToken: m.RefreshToken})
	var tok AppToken
	if err == nil {
		var ok bool
		if tok, ok = res.Token(m.AppID); !ok && len(res.Tokens) == 1 && res.Tokens[0].AuthAppID == "" {
			tok, ok = res.Tokens[0], true // a refresh answer that does not repeat the app id
		}
		if !ok {
			err = fmt.Errorf("alipay: RefreshMerchant %s: the answer holds no token for this merchant", m.AppID)
		}
	}
	var apiErr *APIError
	dead := errors.As(err, &apiErr) && apiErr.Verified && (apiErr.SubCode == SubCodeRefreshTokenNotExist ||
		apiErr.SubCode == SubCodeRefreshTokenNotValid || apiErr.SubCode == SubCodeRefreshTokenTimeOut)
	stored, uerr := UpdateMerchant(ctx, store, m.AppID, func(cur *Merchant) error {
		if cur.Refresh.Owner != owner {
			return errUnchanged // the lease was lost: a new authorization or a later refresh wins
		}
		cur.Refresh = RefreshLease{}
		now := c.core.now()
		switch {
		case err == nil:
			cur.AppAuthToken, cur.RefreshedAt = tok.AppAuthToken, now
			if !tok.AppRefreshToken.IsZero() {
				cur.RefreshToken = tok.AppRefreshToken
			}
			cur.addEvent(MerchantEvent{At: now, State: MerchantAuthorized, Reason: "refresh"})
		case dead:
			cur.setState(MerchantNeedsReauthorization, apiErr.SubCode+" on "+apiErr.Method, now)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case uerr != nil:
		return nil, fmt.Errorf("alipay: RefreshMerchant %s: Alipay issued a new token but storing it failed (the next refresh recovers): %w", m.AppID, uerr)
	}
	return stored, nil
}

// flightGroup runs one refresh per merchant at a time within a process;
// its zero value is ready.
type flightGroup struct {
	mu      sync.Mutex
	flights map[string]*flight
}

// flight is one refresh in progress; m and err are set before done closes.
type flight struct {
	done chan struct{}
	m    *Merchant
	err  error
}

// join returns the flight for key and whether the caller must run it.
func (g *flightGroup) join(key string) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.flights[key]; ok {
		return f, false
	}
	if g.flights == nil {
		g.flights = make(map[string]*flight)
	}
	f := &flight{done: make(chan struct{})}
	g.flights[key] = f
	return f, true
}

// finish publishes f's result and lets the next call of key start anew.
func (g *flightGroup) finish(key string, f *flight) {
	g.mu.Lock()
	delete(g.flights, key)
	g.mu.Unlock()
	close(f.done)
}
