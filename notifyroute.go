package alipay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// NotifyRoutes are the functions the handler of [Client.NewNotifyHandler]
// hands each verified, deduplicated notification to, by its kind. The
// handler dispatches on notify_type first (the authorization notify has no
// msg_method), then on msg_method. A notification whose typed function is
// nil goes to Other; with Other nil too it is acknowledged and dropped
// (after the registry's work, see [WithNotifyMerchantStore]). Each function
// gets the ctx of the delivery, cancelled when the claim's lease ends; its
// nil answers "success", its error (or panic) answers "fail" and Alipay
// delivers the message again. A payload the handler cannot decode for a
// typed function answers "fail" too, and is logged.
type NotifyRoutes struct {
	// AppAuthNotify receives the authorization notify (notify_type
	// open_app_auth_notify), after the registry stored its token.
	AppAuthNotify func(ctx context.Context, n *Notification, ev *AppAuthNotify) error
	// AuthAppAuthCancelled receives alipay.open.auth.appauth.cancelled,
	// after the registry marked the merchant (when confirmed).
	AuthAppAuthCancelled func(ctx context.Context, n *Notification, ev *AuthAppAuthCancelled) error
	// AuthUserAuthCancelled receives alipay.open.auth.userauth.cancelled.
	AuthUserAuthCancelled func(ctx context.Context, n *Notification, ev *AuthUserAuthCancelled) error
	// AppAPIFieldChanged receives alipay.open.app.api.field.changed.
	AppAPIFieldChanged func(ctx context.Context, n *Notification, ev *AppAPIFieldChanged) error
	// Other receives every other verified notification, raw.
	Other func(ctx context.Context, n *Notification) error
}

// empty reports whether no function is set.
func (r *NotifyRoutes) empty() bool {
	return r.AppAuthNotify == nil && r.AuthAppAuthCancelled == nil && r.AuthUserAuthCancelled == nil &&
		r.AppAPIFieldChanged == nil && r.Other == nil
}

// NewNotifyHandler returns the http.Handler of the app gateway (应用网关).
// It receives Alipay's notifications: the authorization notify and the
// messages of the message service (alipay.open.auth.appauth.cancelled,
// alipay.open.auth.userauth.cancelled, alipay.open.app.api.field.changed
// and any other subscribed one); it verifies each one as
// [Client.VerifyNotification] does, deduplicates it on notify_id with owned
// claims, and hands it to routes (see [NotifyRoutes]). The contract,
// explained in docs/notifications.md:
//
//   - only a POST of an application/x-www-form-urlencoded body of at most
//     [WithNotifyMaxBytes] is read (else 405, 415, 413); a message that
//     fails verification is answered 400;
//   - a route runs only for verified, fresh messages, holding a claim on
//     the notify_id in the dedupe store ([WithDedupeStore]; by default an
//     in-memory [MemoryDedupeStore]), with a ctx cancelled when the lease
//     ([WithNotifyLease]) ends;
//   - "success" is answered only once the route returned nil for the
//     notify_id, now or before; "fail" (Alipay delivers again) when it
//     failed or panicked, the store failed, or another delivery holds the
//     claim;
//   - a route may still see a message twice (a crash after it returned, a
//     lost in-memory store, replicas without a shared store): make it
//     idempotent;
//   - serve it from an [http.Server] with ReadHeaderTimeout, ReadTimeout
//     and a WriteTimeout above the lease: the handler cannot bound how
//     slowly a request arrives (docs/notifications.md#serving).
//
// Rejections are logged at Warn through the client's logger with the
// reason, notify_id and msg_method (or notify_type); never the form, the
// content or the signature.
//
// Configuration errors come back here, not as failing requests: a nil or
// invalid option, routes without any function and without
// [WithNotifyMerchantStore], or a [WithNotifyConfirmClient] client of
// another app id.
//
// With [WithNotifyMerchantStore] the handler keeps the registry current
// (docs/notifications.md#the-registry): the authorization notify's token is
// stored with [Client.RecordAuthorization] before "success" is answered;
// alipay.open.auth.appauth.cancelled marks a known merchant
// [MerchantCancelled] once a verified [Client.AuthTokenAppQuery] confirms
// it (tokens and history stay; a failed query answers "fail"); and the app
// ids of the merchants it holds are accepted. A store failure answers
// "fail", so that Alipay delivers the message again.
//
// Build one handler per process: it serves every merchant, and a merchant
// added to the registry is accepted at once.
func (c *Client) NewNotifyHandler(routes NotifyRoutes, opts ...NotifyOption) (http.Handler, error) {
	return newNotifyHandler(c, &Client{core: c.core}, routes, opts)
}

// newNotifyHandler builds the handler verifying with verifier and, unless
// an option says otherwise, confirming cancellations with confirm (nil:
// none).
func newNotifyHandler(verifier, confirm *Client, routes NotifyRoutes, opts []NotifyOption) (*notifyHandler, error) {
	cfg, err := newNotifyConfig(opts)
	if err != nil {
		return nil, err
	}
	if routes.empty() && cfg.merchants == nil {
		return nil, errors.New("alipay: NewNotifyHandler: no function in NotifyRoutes and no WithNotifyMerchantStore: every notification would be dropped")
	}
	if cfg.confirm != nil {
		confirm = cfg.confirm
	}
	if cfg.merchants != nil {
		switch {
		case confirm == nil:
			return nil, errors.New("alipay: NewNotifyHandler: WithNotifyMerchantStore needs a client that can confirm a cancellation (AuthTokenAppQuery): add WithNotifyConfirmClient")
		case confirm.core.appID != verifier.core.appID:
			return nil, fmt.Errorf("alipay: NewNotifyHandler: WithNotifyConfirmClient: the client is app %s, the handler app %s", confirm.core.appID, verifier.core.appID)
		}
	}
	if cfg.store == nil {
		cfg.store = NewMemoryDedupeStore(0)
	}
	return &notifyHandler{c: verifier, confirm: confirm, cfg: cfg, routes: routes}, nil
}

// dispatch does the registry's work for n and hands it to its route.
func (h *notifyHandler) dispatch(ctx context.Context, n *Notification) error {
	r, store := &h.routes, h.cfg.merchants
	switch {
	case n.MsgMethod == "" && n.NotifyType == NotifyTypeAppAuth && (r.AppAuthNotify != nil || store != nil):
		ev, err := n.AppAuthNotify()
		if err != nil {
			return err
		}
		if err := h.recordAuthorization(ctx, n, ev); err != nil {
			return err
		}
		if r.AppAuthNotify != nil {
			return r.AppAuthNotify(ctx, n, ev)
		}
	case n.MsgMethod == MsgMethodAuthAppAuthCancelled && (r.AuthAppAuthCancelled != nil || store != nil):
		ev, err := n.AuthAppAuthCancelled()
		if err != nil {
			return err
		}
		if err := h.cancelAuthorization(ctx, n, ev); err != nil {
			return err
		}
		if r.AuthAppAuthCancelled != nil {
			return r.AuthAppAuthCancelled(ctx, n, ev)
		}
	case n.MsgMethod == MsgMethodAuthUserAuthCancelled && r.AuthUserAuthCancelled != nil:
		ev, err := n.AuthUserAuthCancelled()
		if err != nil {
			return err
		}
		return r.AuthUserAuthCancelled(ctx, n, ev)
	case n.MsgMethod == MsgMethodAppAPIFieldChanged && r.AppAPIFieldChanged != nil:
		ev, err := n.AppAPIFieldChanged()
		if err != nil {
			return err
		}
		return r.AppAPIFieldChanged(ctx, n, ev)
	}
	if r.Other != nil {
		return r.Other(ctx, n)
	}
	return nil
}

// recordAuthorization stores the token of an authorization notify in the
// registry, when there is one and the notify is for this ISV app.
func (h *notifyHandler) recordAuthorization(ctx context.Context, n *Notification, ev *AppAuthNotify) error {
	store := h.cfg.merchants
	if store == nil {
		return nil
	}
	attrs := []slog.Attr{slog.String("notify_id", n.NotifyID), slog.String("auth_app_id", ev.Token.AuthAppID)}
	if ev.HasError() {
		h.log(ctx, slog.LevelWarn, "alipay: authorization notify reports an error", append(attrs,
			slog.String("error", truncate(scrubTokenMembers(string(ev.Error)), maxErrorSnippet)))...)
	}
	own := h.c.core.appID
	switch {
	case ev.Token.AppAuthToken.IsZero() || ev.Token.AuthAppID == "":
		h.log(ctx, slog.LevelWarn, "alipay: authorization notify without a token or auth_app_id; nothing stored", attrs...)
		return nil
	case n.AppID != own || (ev.AppID != "" && ev.AppID != own):
		h.log(ctx, slog.LevelWarn, "alipay: authorization notify for another app; nothing stored",
			append(attrs, slog.String("app_id", n.AppID), slog.String("detail_app_id", logMethod(ev.AppID)))...)
		return nil
	}
	at, ok := ev.AuthTime.Time()
	if !ok {
		at = n.UTCTimestamp // no auth_time: the notify's own time orders it
	}
	m, err := h.c.RecordAuthorization(ctx, store, Authorization{Token: ev.Token, At: at, Source: "notify", Code: ev.AppAuthCode.Reveal()})
	if err != nil {
		return fmt.Errorf("alipay: authorization notify %s: storing the token of merchant %s: %w", n.NotifyID, ev.Token.AuthAppID, err)
	}
	ev.Merchant = m
	h.log(ctx, slog.LevelInfo, "alipay: merchant authorization stored", append(attrs, slog.Any("merchant", m))...)
	return nil
}

// cancelAuthorization marks a known merchant cancelled once the gateway
// confirms that its stored token is dead (see NewNotifyHandler).
func (h *notifyHandler) cancelAuthorization(ctx context.Context, n *Notification, ev *AuthAppAuthCancelled) error {
	store := h.cfg.merchants
	if store == nil {
		return nil
	}
	id := ev.AuthAppID
	attrs := []slog.Attr{slog.String("notify_id", n.NotifyID), slog.String("auth_app_id", logMethod(id))}
	if checkMerchantID(id) != nil {
		h.log(ctx, slog.LevelWarn, "alipay: authorization cancelled for a malformed app id; acknowledged", attrs...)
		return nil
	}
	m, err := store.Get(ctx, id)
	switch {
	case errors.Is(err, ErrMerchantNotFound):
		h.log(ctx, slog.LevelInfo, "alipay: authorization cancelled for a merchant the registry does not know; acknowledged", attrs...)
		return nil
	case err != nil:
		return fmt.Errorf("alipay: cancellation %s: reading merchant %s: %w", n.NotifyID, id, err)
	case m.State == MerchantCancelled:
		ev.Confirmed, ev.Merchant = true, m
		return nil
	}
	token := m.AppAuthToken
	if !token.IsZero() {
		gone, err := h.confirm.tokenCancelled(ctx, token)
		if err != nil {
			return fmt.Errorf("alipay: cancellation %s of merchant %s not confirmed (alipay.open.auth.token.app.query failed; Alipay will deliver it again): %w", n.NotifyID, id, err)
		}
		if !gone {
			ev.Merchant = m
			h.log(ctx, slog.LevelWarn, "alipay: authorization cancelled, but the stored token is still valid; merchant not marked", attrs...)
			return nil
		}
	}
	stored, err := UpdateMerchant(ctx, store, id, func(cur *Merchant) error {
		if cur.Version == 0 || cur.State == MerchantCancelled || !cur.AppAuthToken.Equal(token) {
			return errUnchanged // deleted, marked already, or authorised again since the query
		}
		cur.setState(MerchantCancelled, MsgMethodAuthAppAuthCancelled, h.c.core.now())
		return nil
	})
	if err != nil {
		return fmt.Errorf("alipay: cancellation %s: marking merchant %s: %w", n.NotifyID, id, err)
	}
	if stored.Version != 0 {
		ev.Merchant = stored
	}
	ev.Confirmed = stored.State == MerchantCancelled
	h.log(ctx, slog.LevelInfo, "alipay: merchant authorization cancelled", append(attrs, slog.Bool("marked", ev.Confirmed))...)
	return nil
}

// tokenCancelled asks the gateway whether token is dead: true for a
// verified answer whose status is "invalid" or whose sub_code is
// AUTH_TOKEN_NOT_EXISTED; false for any other status; an error when no
// verified answer came.
func (c *Client) tokenCancelled(ctx context.Context, token Secret) (bool, error) {
	res, err := c.AuthTokenAppQuery(ctx, &AuthTokenAppQueryRequest{AppAuthToken: token})
	if err == nil {
		return strings.EqualFold(res.Status, "invalid"), nil
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Verified && apiErr.SubCode == SubCodeAuthTokenNotExisted {
		return true, nil
	}
	return false, err
}
