package alipay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Every NotifyOption, with the defaults they override: what the app
// gateway's verification (VerifyNotification) and handler (NewNotifyHandler)
// can be told.

// Notification limits and defaults.
const (
	// DefaultNotifyMaxBytes bounds the body [Client.NewNotifyHandler] reads
	// unless [WithNotifyMaxBytes] says otherwise. Alipay's messages are a few
	// KiB.
	DefaultNotifyMaxBytes = 64 << 10

	// DefaultNotifyMaxAge is the replay window: a notification whose
	// utc_timestamp is older is refused at [StepStaleTimestamp]. It is longer
	// than Alipay's retries of an unacknowledged notification (about 25 h),
	// so that late retries are not lost; replays inside it are caught by
	// deduplication, which remembers a processed notify_id for longer.
	// Alipay does not document the message service's retry schedule, nor
	// whether a retry keeps utc_timestamp; see
	// docs/notifications.md#deduplication.
	DefaultNotifyMaxAge = 26 * time.Hour

	// DefaultNotifyLease is how long [Client.NewNotifyHandler] holds the claim on
	// a notify_id while the user's function runs, unless [WithNotifyLease]
	// says otherwise; the function's ctx ends with it.
	DefaultNotifyLease = time.Minute

	// notifyClockSkew is how far in the future a utc_timestamp may lie
	// (Alipay's clock against ours).
	notifyClockSkew = 5 * time.Minute

	// maxNotifyMaxAge bounds WithNotifyMaxAge, so the dedupe TTL stays sane.
	maxNotifyMaxAge = 30 * 24 * time.Hour
)

// NotifyOption configures the verification of notifications and the
// handler of the app gateway. Options check their argument: an invalid one
// (or a nil one) makes [Client.NewNotifyHandler] and
// [NotifyVerifier.NewNotifyHandler] fail when the handler is built, and
// makes VerifyNotification return the error. VerifyNotification also
// refuses the options that only a handler uses ([WithNotifyMaxBytes],
// [WithDedupeStore], [WithNotifyLease], [WithNotifyConfirmClient]).
type NotifyOption func(*notifyConfig) error

// notifyConfig is what the notify options collect.
type notifyConfig struct {
	appIDs    map[string]bool                                       // accepted besides the client's own app id
	appIDFunc func(ctx context.Context, appID string) (bool, error) // asked for other app ids; nil when none
	merchants MerchantStore                                         // the registry; nil when none
	confirm   *Client                                               // confirms cancellations; nil: the handler's client
	maxBytes  int64
	maxAge    time.Duration
	lease     time.Duration
	store     DedupeStore

	handlerOnly []string // the options given that only a handler uses
}

// newNotifyConfig applies opts over the defaults.
func newNotifyConfig(opts []NotifyOption) (notifyConfig, error) {
	cfg := notifyConfig{maxBytes: DefaultNotifyMaxBytes, maxAge: DefaultNotifyMaxAge, lease: DefaultNotifyLease}
	for i, opt := range opts {
		if opt == nil {
			return cfg, fmt.Errorf("alipay: notify option %d is nil", i)
		}
		if err := opt(&cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// newVerifyConfig is newNotifyConfig for VerifyNotification, which refuses
// the options that configure only a handler rather than ignore them: a
// caller who passes WithDedupeStore to it expects deduplication it would
// not get.
func newVerifyConfig(opts []NotifyOption) (notifyConfig, error) {
	cfg, err := newNotifyConfig(opts)
	if err == nil && len(cfg.handlerOnly) > 0 {
		err = fmt.Errorf("alipay: VerifyNotification: %s configures the notify handler only: leave it out or build a handler (NewNotifyHandler)",
			strings.Join(cfg.handlerOnly, ", "))
	}
	return cfg, err
}

// dedupeTTL is how long a processed notify_id is remembered: longer than a
// replay can be accepted (utc_timestamp up to notifyClockSkew ahead, then
// maxAge old), so every replay inside the window meets the dedupe store.
func (cfg *notifyConfig) dedupeTTL() time.Duration { return cfg.maxAge + 2*notifyClockSkew }

// WithNotifyAppIDs accepts notifications addressed (app_id) to these apps as
// well as to the client's own app id, e.g. the merchant apps an ISV serves:
// Alipay does not document which app_id an ISV's field.changed carries; we
// accept the client's own and these (docs/wire.md row U22).
// Route by the verified [Notification.AppID] and the event's UserAppID.
func WithNotifyAppIDs(appIDs ...string) NotifyOption {
	return func(c *notifyConfig) error {
		if c.appIDs == nil {
			c.appIDs = make(map[string]bool, len(appIDs))
		}
		for _, id := range appIDs {
			if id == "" || strings.ContainsAny(id, " \t\r\n&=") {
				return fmt.Errorf("alipay: WithNotifyAppIDs: invalid app id %s", describeRejected(id))
			}
			c.appIDs[id] = true
		}
		return nil
	}
}

// WithNotifyAppIDFunc accepts notifications addressed (app_id) to the apps
// for which fn reports true, besides the client's own app id and those of
// [WithNotifyAppIDs]: e.g. a lookup in the ISV's own table of merchants, so
// that merchants added while the server runs are accepted without building
// a new handler. fn is asked only after the signature verified, only about
// app ids of 1 to 64 letters, digits, '.', '_' and '-', with a ctx bounded
// by 10 s; it must be safe for concurrent use. An error from fn makes the
// handler answer "fail" (HTTP 503), so that Alipay delivers the message
// again.
func WithNotifyAppIDFunc(fn func(ctx context.Context, appID string) (bool, error)) NotifyOption {
	return func(c *notifyConfig) error {
		if fn == nil {
			return errors.New("alipay: WithNotifyAppIDFunc: nil function")
		}
		c.appIDFunc = fn
		return nil
	}
}

// WithNotifyMerchantStore connects the handler to the registry of merchant
// authorizations. Notifications addressed to any merchant the store holds
// (in any state) are accepted, as the store is at the time of each message;
// the authorization notify stores the new token before "success" is
// answered; and alipay.open.auth.appauth.cancelled marks the merchant
// cancelled once [Client.AuthTokenAppQuery] confirms it. See
// [Client.NewNotifyHandler].
func WithNotifyMerchantStore(store MerchantStore) NotifyOption {
	return func(c *notifyConfig) error {
		if store == nil {
			return errors.New("alipay: WithNotifyMerchantStore: nil store")
		}
		c.merchants = store
		return nil
	}
}

// WithNotifyConfirmClient sets the ISV client (of [NewClient], for the same
// app id) that confirms a cancellation with [Client.AuthTokenAppQuery]
// before the handler marks a merchant cancelled. A handler built by
// [Client.NewNotifyHandler] uses its own client by default; one built by
// [NotifyVerifier.NewNotifyHandler] holds no private key, cannot sign the
// query, and so needs this option together with [WithNotifyMerchantStore].
func WithNotifyConfirmClient(isv *Client) NotifyOption {
	return func(c *notifyConfig) error {
		if isv == nil || isv.core == nil || isv.core.key == nil {
			return errors.New("alipay: WithNotifyConfirmClient: nil client or a client without a private key")
		}
		c.confirm = &Client{core: isv.core} // the ISV itself, even if isv acts for a merchant
		c.handlerOnly = append(c.handlerOnly, "WithNotifyConfirmClient")
		return nil
	}
}

// WithNotifyMaxAge sets the replay window (default [DefaultNotifyMaxAge]):
// a notification whose utc_timestamp is older than d, or more than five
// minutes in the future, is refused. d must lie in (0, 30 days]. Keep it
// longer than Alipay's retry schedule (about 25 h) or late retries of a
// message that failed once are lost.
func WithNotifyMaxAge(d time.Duration) NotifyOption {
	return func(c *notifyConfig) error {
		if d <= 0 || d > maxNotifyMaxAge {
			return fmt.Errorf("alipay: WithNotifyMaxAge: %v is not in (0, 720h]", d)
		}
		c.maxAge = d
		return nil
	}
}

// WithNotifyMaxBytes bounds the request body [Client.NewNotifyHandler] reads
// (default [DefaultNotifyMaxBytes], 64 KiB); a larger body is answered 413.
// n must lie in [1 KiB, 10 MiB].
func WithNotifyMaxBytes(n int64) NotifyOption {
	return func(c *notifyConfig) error {
		if n < 1<<10 || n > 10<<20 {
			return fmt.Errorf("alipay: WithNotifyMaxBytes: %d is not in [1024, 10485760]", n)
		}
		c.maxBytes = n
		c.handlerOnly = append(c.handlerOnly, "WithNotifyMaxBytes")
		return nil
	}
}

// WithDedupeStore makes [Client.NewNotifyHandler] deduplicate through s
// instead of a fresh [MemoryDedupeStore] of its own. Share one store (Redis,
// a database) between every replica that receives the same app's messages.
func WithDedupeStore(s DedupeStore) NotifyOption {
	return func(c *notifyConfig) error {
		if s == nil {
			return errors.New("alipay: WithDedupeStore: nil store")
		}
		c.store = s
		c.handlerOnly = append(c.handlerOnly, "WithDedupeStore")
		return nil
	}
}

// WithNotifyLease sets how long [Client.NewNotifyHandler] claims a notify_id
// while the user's function runs (default [DefaultNotifyLease]). The
// function's ctx is cancelled when the lease ends, because a retry may then
// claim the same message. If the process dies mid-way, the message can be
// processed again once the lease has passed. Keep it well above the
// function's usual run time; d must lie in (0, 1h].
func WithNotifyLease(d time.Duration) NotifyOption {
	return func(c *notifyConfig) error {
		if d <= 0 || d > time.Hour {
			return fmt.Errorf("alipay: WithNotifyLease: %v is not in (0, 1h]", d)
		}
		c.lease = d
		c.handlerOnly = append(c.handlerOnly, "WithNotifyLease")
		return nil
	}
}
