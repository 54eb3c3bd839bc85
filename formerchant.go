package alipay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// ForMerchant returns a client acting for the merchant app appID with the
// token the store holds. A merchant whose authorization is cancelled or
// needs renewing is refused with a [*MerchantStateError]; an unknown one
// with an error wrapping [ErrMerchantNotFound].
//
// When a call of the returned client fails because the gateway no longer
// accepts the token (code 20001; [IsReauthorizationNeeded] is then true of
// the error), the client reads the store once more: if another replica
// stored a new token meanwhile, nothing is marked; otherwise the merchant
// is marked [MerchantNeedsReauthorization], with the sub_code and method
// as the reason, before the call returns. An unsigned 20001 (which a
// tampering proxy could forge) is first confirmed with
// [Client.AuthTokenAppQuery]; if the query does not confirm it, nothing is
// marked.
//
// The client is as cheap as one from [Client.WithAppAuthToken]: get one per
// request or per batch, not once per process, so that a new token is used.
func (c *Client) ForMerchant(ctx context.Context, store MerchantStore, appID string) (*Client, error) {
	if store == nil {
		return nil, errors.New("alipay: ForMerchant: nil store")
	}
	if err := checkMerchantID(appID); err != nil {
		return nil, err
	}
	m, err := store.Get(ctx, appID)
	if err != nil {
		return nil, registryError("ForMerchant", appID, err)
	}
	if m.State != MerchantAuthorized {
		return nil, &MerchantStateError{AppID: appID, State: m.State, Reason: m.Reason, Since: m.StateSince}
	}
	token := m.AppAuthToken.Reveal()
	if token == "" {
		return nil, fmt.Errorf("alipay: ForMerchant %s: the stored record has no token", appID)
	}
	isv := &Client{core: c.core}
	return c.WithAppAuthToken(token).withErrorHook(func(ctx context.Context, err error) {
		isv.markDeadToken(ctx, store, appID, token, err)
	}), nil
}

// markDeadToken marks appID as needing re-authorization when err says that
// token is dead and the store still holds token (see ForMerchant). It
// never changes err and logs what it could not do.
func (c *Client) markDeadToken(ctx context.Context, store MerchantStore, appID, token string, err error) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !classTokenDead.match(err) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeCallTimeout)
	defer cancel()
	log := c.core.logger
	if !apiErr.Verified && !c.confirmDeadToken(ctx, token) {
		log.LogAttrs(ctx, slog.LevelWarn, "alipay: unsigned token error not confirmed; merchant not marked",
			slog.String("app_id", appID), slog.String("sub_code", apiErr.SubCode))
		return
	}
	reason := apiErr.SubCode + " on " + apiErr.Method
	if apiErr.TraceID != "" {
		reason += " (trace_id " + apiErr.TraceID + ")"
	}
	m, uerr := UpdateMerchant(ctx, store, appID, func(m *Merchant) error {
		switch {
		case m.Version == 0:
			return ErrMerchantNotFound
		case m.AppAuthToken.Reveal() != token || m.State != MerchantAuthorized:
			return errUnchanged // a new token is stored, or the merchant is marked already
		}
		m.setState(MerchantNeedsReauthorization, reason, c.core.now())
		return nil
	})
	switch {
	case uerr != nil:
		log.LogAttrs(ctx, slog.LevelError, "alipay: could not mark merchant as needing re-authorization",
			slog.String("app_id", appID), slog.String("error", uerr.Error()))
	case m.State == MerchantNeedsReauthorization:
		log.LogAttrs(ctx, slog.LevelWarn, "alipay: merchant needs re-authorization",
			slog.String("app_id", appID), slog.String("reason", m.Reason))
	}
}

// confirmDeadToken asks the gateway whether token is dead: true only for a
// verified answer saying so.
func (c *Client) confirmDeadToken(ctx context.Context, token string) bool {
	res, err := c.AuthTokenAppQuery(ctx, &AuthTokenAppQueryRequest{AppAuthToken: NewSecret(token)})
	if err == nil {
		return !res.Valid()
	}
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Verified &&
		(apiErr.SubCode == SubCodeAuthTokenNotExisted || apiErr.SubCode == SubCodeAuthTokenNotConsistent)
}
