package alipaytest

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Identities of a server built without options. They are made up; the
// default app's keys are the PUBLIC TEST keys of this package.
const (
	// DefaultAppID is the ISV's own app (第三方应用): the app_id the client
	// under test signs as, registered with [Server.AppPublicKeyPEM].
	DefaultAppID = "2021000000000001"
	// DefaultMerchantToken is the app_auth_token of the default merchant,
	// issued to [DefaultAppID]. Its mini-program ("小程序示例", with a
	// service phone and email) has no category yet, so a flow that checks
	// the category must set one with baseinfo.modify; it may apply for
	// [DefaultFields].
	DefaultMerchantToken = "202405BBexampleAppAuthToken0001"
	// DefaultMerchantAppID is the default merchant's mini-program app id
	// (user_app_id).
	DefaultMerchantAppID = "2021004000000002"
)

// Default limits and timings.
const (
	// DefaultTimestampWindow is how far a request's timestamp may be from
	// the server's clock, either way.
	DefaultTimestampWindow = 10 * time.Minute
	// DefaultMaxBodyBytes caps a request body: six 10 MiB files and the text.
	DefaultMaxBodyBytes = 64 << 20
	// DefaultNotifyAttempts is how many times a notification is POSTed at
	// most before the server gives up on it.
	DefaultNotifyAttempts = 5
	// DefaultNotifyBackoff is the wait before the second attempt; it doubles
	// after each failed attempt.
	DefaultNotifyBackoff = 20 * time.Millisecond
	// DefaultReadTimeout bounds how long the server waits for a request's
	// headers and body ([WithReadTimeout]).
	DefaultReadTimeout = 30 * time.Second
	// DefaultLogLimit is how many request records and notifications the
	// server keeps ([WithLogLimit]).
	DefaultLogLimit = 10000
	// CloseGrace is how long [Server.Close] lets requests in progress
	// finish before it closes their connections.
	CloseGrace = 2 * time.Second
)

// Option configures a [Server]. Options check their argument; an invalid
// one makes [NewServer] return an error naming the option.
type Option func(*config) error

// AuditFunc decides an application under audit for [WithAutoAudit]. It
// returns the new status ([StatusAgree], [StatusReject] or [StatusInvalid])
// and, for a rejection, the reason. Any other status leaves the application
// under audit.
type AuditFunc func(Application) (status Status, reason string)

// config is what the options collect; it is not changed after NewServer.
type config struct {
	clock          func() time.Time
	window         time.Duration
	maxBody        int64
	apps           map[string]*rsa.PublicKey
	alipayKey      *rsa.PrivateKey
	alipayKeySet   bool
	merchants      []Merchant
	notifyURL      string
	notifyAttempts int
	notifyBackoff  time.Duration
	auditAfter     time.Duration
	auditFunc      AuditFunc
	autoAudit      bool
	lowerStatus    bool
	categories     categoryTable
	templates      map[string]Template
	logLimit       int
	readTimeout    time.Duration
	faultSeed      uint64
	authCodeTTL    time.Duration
	refreshGrace   time.Duration
	stringExpiries bool
	appAESKeys     map[string][]byte // content-encryption key of each app
	tb             TB
}

// WithClock replaces time.Now as the server's clock: the timestamp window is
// checked against it and utc_timestamp of notifications comes from it.
// Timers ([WithAutoAudit], retries) use real time.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.clock = now
		return nil
	}
}

// WithTimestampWindow sets how far a request's timestamp may lie from the
// server's clock, either way, before the answer is 40002
// isv.invalid-timestamp (default [DefaultTimestampWindow]). The real
// gateway's tolerance is not documented.
func WithTimestampWindow(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithTimestampWindow: %v is not positive", d)
		}
		c.window = d
		return nil
	}
}

// WithMaxBodyBytes caps request bodies (default [DefaultMaxBodyBytes]); a
// larger body is answered with HTTP 413, as a front proxy would.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxBodyBytes: %d is not positive", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithApp registers another calling app (an ISV app or a self-developed
// app) and its app public key (应用公钥): PEM or bare Base64, SPKI or PKCS#1.
// Registering [DefaultAppID] replaces its key.
func WithApp(appID string, publicKeyPEM []byte) Option {
	return func(c *config) error {
		if appID == "" {
			return errors.New("WithApp: empty app id")
		}
		pub, err := parsePublicKey(publicKeyPEM)
		if err != nil {
			return fmt.Errorf("WithApp(%s): %v", appID, err)
		}
		c.apps[appID] = pub
		return nil
	}
}

// WithAppAESKey gives the server an app's content-encryption key
// (接口内容加密, the AES key of the app's console, Base64 of 16, 24 or 32
// bytes), as alipay.WithAESKey gives it to the client. Requests from that
// app with encrypt_type=AES are then decrypted after their signature is
// checked, and answered encrypted: the node is the Base64 ciphertext as a
// JSON string, signed with its quotes. alipay.open.auth.app.aes.set and
// .get require it. Without it, an encrypted request is answered 40002
// isv.decryption-error-not-valid-encrypt-key.
func WithAppAESKey(appID, key string) Option {
	return func(c *config) error {
		k, err := parseAESKey(key)
		if err != nil {
			return fmt.Errorf("WithAppAESKey(%s): %v", appID, err)
		}
		if c.appAESKeys == nil {
			c.appAESKeys = map[string][]byte{}
		}
		c.appAESKeys[appID] = k
		return nil
	}
}

// WithAlipayPrivateKey makes the server sign responses and notifications
// with key (PEM or bare Base64, PKCS#8 or PKCS#1, RSA ≥ 2048 bits) instead
// of the PUBLIC TEST key; [Server.AlipayPublicKeyPEM] follows. Use it to
// test a client configured with the wrong Alipay key.
func WithAlipayPrivateKey(key []byte) Option {
	return func(c *config) error {
		k, err := parsePrivateKey(key)
		if err != nil {
			return fmt.Errorf("WithAlipayPrivateKey: %v", err)
		}
		c.alipayKey, c.alipayKeySet = k, true
		return nil
	}
}

// WithMerchant adds a merchant mini-program reachable with m.Token. A
// merchant with the token of an earlier one (the default merchant included)
// replaces it.
func WithMerchant(m Merchant) Option {
	return func(c *config) error {
		if m.Token == "" || m.AppID == "" {
			return errors.New("WithMerchant: Token and AppID are required")
		}
		if m.AESKey != "" {
			if _, err := parseAESKey(m.AESKey); err != nil {
				return fmt.Errorf("WithMerchant(%s): %v", m.AppID, err)
			}
		}
		c.merchants = append(c.merchants, m)
		return nil
	}
}

// WithNotifyURL sets the URL (the ISV's 应用网关) that receives the server's
// signed notifications, each retried until the answer is "success"
// ([WithNotifyRetry]):
//
//   - alipay.open.app.api.field.changed each time an application's audit
//     ends ([Server.Approve], [Server.Reject], [Server.Invalidate],
//     [WithAutoAudit]);
//   - the authorization notify (notify_type open_app_auth_notify, the 1.0
//     protocol, carrying the new token) for each app of a
//     [Server.Authorize] (unless [AuthNoNotify]);
//   - alipay.open.auth.appauth.cancelled for each ISV app a
//     [Server.CancelAuthorization] ends;
//   - whatever [Server.Redeliver] sends again.
//
// When the receiver is built from the server's client, it exists only after
// the server: use [Server.SetNotifyURL] then.
func WithNotifyURL(u string) Option {
	return func(c *config) error {
		if err := checkNotifyURL(u); err != nil {
			return fmt.Errorf("WithNotifyURL: %v", err)
		}
		c.notifyURL = u
		return nil
	}
}

// WithNotifyRetry sets how many times a notification is POSTed at most
// (attempts ≥ 1) and the wait before the second attempt, which doubles after
// each failure (defaults [DefaultNotifyAttempts], [DefaultNotifyBackoff]).
func WithNotifyRetry(attempts int, backoff time.Duration) Option {
	return func(c *config) error {
		if attempts < 1 || backoff < 0 {
			return fmt.Errorf("WithNotifyRetry: invalid attempts %d or backoff %v", attempts, backoff)
		}
		c.notifyAttempts, c.notifyBackoff = attempts, backoff
		return nil
	}
}

// WithAutoAudit decides every application automatically, after (real time)
// from its submission, unless a test decided it first. decide may be nil:
// every application is then approved.
func WithAutoAudit(after time.Duration, decide AuditFunc) Option {
	return func(c *config) error {
		if after < 0 {
			return fmt.Errorf("WithAutoAudit: negative delay %v", after)
		}
		c.autoAudit, c.auditAfter, c.auditFunc = true, after, decide
		return nil
	}
}

// WithLowerCaseStatus makes field.query and field.changed carry statuses in
// lower case ("agree"), as the integration guide writes them, instead of the
// SDK models' upper case: whether the gateway sends one or the other is
// unconfirmed, and a client should accept both.
func WithLowerCaseStatus() Option {
	return func(c *config) error {
		c.lowerStatus = true
		return nil
	}
}

// WithReadTimeout bounds how long the server waits for a request's headers,
// and for its whole body (default [DefaultReadTimeout]): a client that
// stalls mid-body gets its connection closed instead of holding a handler.
func WithReadTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithReadTimeout: %v is not positive", d)
		}
		c.readTimeout = d
		return nil
	}
}

// WithAuthCodeTTL sets how long an app_auth_code from [Server.Authorize]
// can be exchanged, on the server clock (default [DefaultAuthCodeTTL]).
func WithAuthCodeTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithAuthCodeTTL: %v is not positive", d)
		}
		c.authCodeTTL = d
		return nil
	}
}

// WithRefreshGrace sets how long a token keeps working, on the server
// clock, after a refresh or a new authorization replaced it (default
// [DefaultRefreshGrace]: it dies at once). A spent refresh token dies at
// once whatever the grace.
func WithRefreshGrace(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithRefreshGrace: negative grace %v", d)
		}
		c.refreshGrace = d
		return nil
	}
}

// WithStringExpiries makes expires_in and re_expires_in JSON strings
// ("31536000") instead of numbers in token.app, token.app.query and the
// authorization notify: Alipay declares them strings, sends numbers, and has
// switched before, so a client should accept both.
func WithStringExpiries() Option {
	return func(c *config) error {
		c.stringExpiries = true
		return nil
	}
}

// faultSeedStream is the second word of the PCG seed of fault draws.
const faultSeedStream = 0x616c697061797465 // "alipayte"

// WithFaultSeed seeds the draws of rate-based faults ([Fault.Rate]). The
// default seed is 1, so a test's faults are the same on every run; the
// draws follow the order in which requests take faults, which concurrent
// clients may vary.
func WithFaultSeed(seed uint64) Option {
	return func(c *config) error {
		c.faultSeed = seed
		return nil
	}
}

// WithLogLimit bounds the records the server keeps to the last n requests
// ([Server.Requests]) and the last n notifications ([Server.Notifications])
// (default [DefaultLogLimit]), so a long soak test does not grow without
// end. [Server.RequestCount] still counts every request.
func WithLogLimit(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("WithLogLimit: %d is not positive", n)
		}
		c.logLimit = n
		return nil
	}
}

// WithTB ties the server to a test: a panic the server recovers (see
// [PanicError]) is logged with tb.Logf, and tb.Cleanup closes the server.
func WithTB(tb TB) Option {
	return func(c *config) error {
		if tb == nil {
			return errors.New("WithTB: nil TB")
		}
		c.tb = tb
		return nil
	}
}

// checkNotifyURL accepts an absolute http(s) URL.
func checkNotifyURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", u)
	}
	return nil
}
