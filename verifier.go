package alipay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// NotifyVerifier verifies the notifications of an app gateway with only
// what verification needs: the app id and Alipay's public key (or, in
// certificate mode, the Alipay public-key certificate). It holds no app
// private key, so a process that only receives notifications never has
// one. It is immutable and safe for concurrent use.
type NotifyVerifier struct {
	c *Client // a client without a private key: it verifies, it never signs
}

// NewNotifyVerifier returns a verifier for the app appID (the app the
// notifications are addressed to). It takes the options of [NewClient]
// that concern verification: [WithAlipayPublicKey] (or its …File form) or
// [WithAlipayCert] (certificate mode; [WithAppCert] and
// [WithAlipayRootCert] are accepted and not needed), [WithAESKey] for
// encrypted notifications, [WithLogger] and [WithClock]; options about
// calls (gateway, HTTP client, timeout, AES key source) are accepted and
// unused. It refuses [WithPrivateKey] (a verifier holds no private key:
// use [Client.NewNotifyHandler] where one is at hand) and
// [WithCertRotation] (downloading a certificate needs a signed call).
func NewNotifyVerifier(appID string, opts ...Option) (*NotifyVerifier, error) {
	if err := checkAppID(appID); err != nil {
		return nil, err
	}
	cfg := config{gateway: ProductionGateway, timeout: DefaultTimeout, clock: time.Now}
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("alipay: NewNotifyVerifier: option %d is nil", i)
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.privateKey != nil:
		return nil, errors.New("alipay: NewNotifyVerifier: a verifier holds no app private key: leave WithPrivateKey out")
	case cfg.rotation:
		return nil, errors.New("alipay: NewNotifyVerifier: WithCertRotation needs signed calls: a verifier cannot download certificates")
	case cfg.alipayCert != nil && cfg.alipayKey != nil:
		return nil, errors.New("alipay: NewNotifyVerifier: WithAlipayPublicKey… and WithAlipayCert… exclude each other: use one")
	case cfg.alipayCert != nil:
		cfg.alipayKey = cfg.alipayCert.key
		warnExpiry(cfg.logger, cfg.alipayCert, cfg.clock())
	case cfg.alipayKey == nil:
		return nil, errors.New("alipay: NewNotifyVerifier: no Alipay public key: use WithAlipayPublicKey or WithAlipayPublicKeyFile, or WithAlipayCert… in certificate mode")
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(discardHandler{})
	}
	return &NotifyVerifier{c: &Client{core: &core{
		appID: appID, alipayKey: cfg.alipayKey, logger: logger, now: cfg.clock, coreSecrets: &coreSecrets{aesKey: cfg.aesKey},
	}}}, nil
}

// AppID returns the app id notifications must be addressed to.
func (v *NotifyVerifier) AppID() string { return v.c.core.appID }

// String describes the verifier without key material.
func (v *NotifyVerifier) String() string {
	return "alipay.NotifyVerifier{app_id=" + v.c.core.appID + "}"
}

// VerifyNotification verifies one notification as
// [Client.VerifyNotification] does; ctx bounds the lookups of
// [WithNotifyAppIDFunc] and [WithNotifyMerchantStore].
func (v *NotifyVerifier) VerifyNotification(ctx context.Context, params url.Values, opts ...NotifyOption) (*Notification, error) {
	cfg, err := newVerifyConfig(opts)
	if err != nil {
		return nil, err
	}
	return v.c.verifyNotification(ctx, params, &cfg)
}

// NewNotifyHandler returns the handler of the app gateway, as
// [Client.NewNotifyHandler] does, verifying with v. With
// [WithNotifyMerchantStore] it also needs [WithNotifyConfirmClient]: a
// cancellation is confirmed with a signed query, which a verifier cannot
// make; without the registry no private key is needed anywhere.
func (v *NotifyVerifier) NewNotifyHandler(routes NotifyRoutes, opts ...NotifyOption) (http.Handler, error) {
	return newNotifyHandler(v.c, nil, routes, opts)
}
