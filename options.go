package alipay

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Gateways of the Alipay Open Platform (docs/wire.md#gateways).
const (
	// ProductionGateway is the default gateway.
	ProductionGateway = "https://openapi.alipay.com/gateway.do"
	// SandboxGateway is the current sandbox gateway (the host moved in 2023;
	// openapi.alipaydev.com is gone).
	SandboxGateway = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
)

// DefaultTimeout bounds each call, its retries included, unless
// [WithTimeout] or the timeout of the client given to [WithHTTPClient] says
// otherwise.
const DefaultTimeout = 30 * time.Second

// Option configures a [Client]. Options check their own argument and
// [NewClient] fails with the first error; no error text contains key
// material. The …File options read a regular file (or a link to one) of at
// most 1 MiB; a directory, a FIFO, a device or a larger file is refused
// before it is read.
type Option func(*config) error

// config is what the options collect; NewClient turns it into a core.
type config struct {
	privateKey *rsa.PrivateKey
	alipayKey  *rsa.PublicKey
	gateway    string
	httpClient *http.Client
	timeout    time.Duration
	timeoutSet bool
	logger     *slog.Logger
	clock      func() time.Time
	retry      retryPolicy // retry.go
	observer   Observer    // observe.go

	// Certificate mode (cert.go) and AES (aes.go).
	appCert    *leafCert
	alipayCert *leafCert
	rootBundle *rootBundle
	rotation   bool
	aesKey     secret // raw AES key; "" when off

	aesKeySource AESKeySource // merchant apps' AES keys for open data (opendata.go)
}

// WithPrivateKey sets the app private key (应用私钥) used to sign requests:
// PEM ("PRIVATE KEY" or "RSA PRIVATE KEY") or the bare Base64 of PKCS#8 or
// PKCS#1 DER, as the open platform console exports it. RSA, ≥ 2048 bits.
func WithPrivateKey(key []byte) Option {
	return func(c *config) (err error) {
		c.privateKey, err = parsePrivateKey("WithPrivateKey", key)
		return err
	}
}

// WithPrivateKeyFile is [WithPrivateKey] reading the key from a file
// (regular, at most 1 MiB).
func WithPrivateKeyFile(path string) Option {
	return func(c *config) error {
		data, err := readKeyFile("WithPrivateKeyFile", path)
		if err != nil {
			return err
		}
		c.privateKey, err = parsePrivateKey("WithPrivateKeyFile", data)
		return err
	}
}

// WithAlipayPublicKey sets the Alipay public key (支付宝公钥, not the app's
// own public key) that verifies every response and notification: PEM
// ("PUBLIC KEY" or "RSA PUBLIC KEY") or bare Base64 of the DER.
func WithAlipayPublicKey(key []byte) Option {
	return func(c *config) (err error) {
		c.alipayKey, err = parsePublicKey("WithAlipayPublicKey", key)
		return err
	}
}

// WithAlipayPublicKeyFile is [WithAlipayPublicKey] reading the key from a
// file (regular, at most 1 MiB).
func WithAlipayPublicKeyFile(path string) Option {
	return func(c *config) error {
		data, err := readKeyFile("WithAlipayPublicKeyFile", path)
		if err != nil {
			return err
		}
		c.alipayKey, err = parsePublicKey("WithAlipayPublicKeyFile", data)
		return err
	}
}

// WithGatewayURL sends every call to u instead of [ProductionGateway], e.g.
// a fake gateway in tests. u must be an absolute http or https URL without
// a query, a fragment or credentials (user:password@): credentials for a
// proxy belong in the transport ([WithHTTPClient]). Errors quote at most
// the start of a rejected URL, and nothing of one with an '@'.
func WithGatewayURL(u string) Option {
	return func(c *config) error {
		p, err := url.Parse(u)
		switch {
		case err == nil && p.User != nil:
			return errors.New("alipay: WithGatewayURL: the URL holds a user name or password (user:password@host): " +
				"put credentials in the transport (WithHTTPClient), not in the gateway URL")
		case err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "":
			return fmt.Errorf("alipay: WithGatewayURL: %s is not an absolute http(s) URL", describeURL(u))
		case p.RawQuery != "" || p.ForceQuery || p.Fragment != "":
			return fmt.Errorf("alipay: WithGatewayURL: %s must not have a query or fragment", describeURL(u))
		}
		c.gateway = u
		return nil
	}
}

// WithSandbox sends every call to [SandboxGateway].
func WithSandbox() Option {
	return func(c *config) error {
		c.gateway = SandboxGateway
		return nil
	}
}

// WithHTTPClient sends requests with a copy of hc (its transport, proxy,
// tracing and Timeout), never hc itself. The copy never follows redirects:
// a 3xx answer is a [*ResponseError]. hc.Timeout, when set, bounds each
// attempt (net/http applies it) and, unless [WithTimeout] says otherwise,
// the whole call.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("alipay: WithHTTPClient: nil *http.Client")
		}
		cp := *hc
		c.httpClient = &cp
		return nil
	}
}

// WithTimeout bounds each call, upload and retries included (default
// [DefaultTimeout]): it is applied as a deadline on the call's ctx, so a
// gateway that hangs fails the call after d, however many attempts were
// allowed. Zero means no timeout beyond the ctx's; negative is an error.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("alipay: WithTimeout: negative timeout %v", d)
		}
		c.timeout, c.timeoutSet = d, true
		return nil
	}
}

// WithLogger sets the logger. The client is silent by default. It writes one
// Debug record per attempt, so one per call without retries (method, app_id,
// a fingerprint of the merchant token, attempt, status, code, sub_code,
// trace_id, duration, bytes, retry and delay, outcome_unknown) and never a
// body, a token, a key or a signature.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("alipay: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithClock replaces time.Now, for tests that need fixed timestamps.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("alipay: WithClock: nil clock")
		}
		c.clock = now
		return nil
	}
}
