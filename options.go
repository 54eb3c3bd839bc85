package alipay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Gateways of the Alipay Open Platform (protocol.md §10).
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

// discardHandler is a slog.Handler that drops everything (slog.DiscardHandler
// needs Go 1.24).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }

// WithAppCert switches to certificate mode (公钥证书模式) and sets the app
// public-key certificate (应用公钥证书, appCertPublicKey_<appid>.crt): PEM, or
// DER of one certificate. Its first certificate gives app_cert_sn and must
// hold the public key of the app private key. Certificate mode also needs
// [WithAlipayCert] and [WithAlipayRootCert], and excludes
// [WithAlipayPublicKey].
func WithAppCert(cert []byte) Option {
	return func(c *config) (err error) {
		c.appCert, err = loadLeafCert("WithAppCert", cert)
		return err
	}
}

// WithAppCertFile is [WithAppCert] reading the certificate from a file
// (regular, at most 1 MiB).
func WithAppCertFile(path string) Option {
	return func(c *config) error {
		data, err := readKeyFile("WithAppCertFile", path)
		if err != nil {
			return err
		}
		c.appCert, err = loadLeafCert("WithAppCertFile", data)
		return err
	}
}

// WithAlipayCert sets, in certificate mode, the Alipay public-key
// certificate (支付宝公钥证书, alipayCertPublicKey_RSA2.crt). The file may
// hold the leaf and its issuer; the first certificate counts: its SN is the
// alipay_cert_sn responses must name, and its key verifies them and
// notifications. It is pinned as given: its validity and chain are not
// checked (a wrong certificate shows up as "unknown_cert_sn" on the first
// response). One that has expired or expires within 30 days is still used,
// as in the Java SDK, and NewClient warns about it through [WithLogger]'s
// logger (Warn, naming alipay_cert_sn and not_after).
func WithAlipayCert(cert []byte) Option {
	return func(c *config) (err error) {
		c.alipayCert, err = loadLeafCert("WithAlipayCert", cert)
		return err
	}
}

// WithAlipayCertFile is [WithAlipayCert] reading the certificate from a
// file (regular, at most 1 MiB).
func WithAlipayCertFile(path string) Option {
	return func(c *config) error {
		data, err := readKeyFile("WithAlipayCertFile", path)
		if err != nil {
			return err
		}
		c.alipayCert, err = loadLeafCert("WithAlipayCertFile", data)
		return err
	}
}

// WithAlipayRootCert sets, in certificate mode, the Alipay root certificate
// bundle (支付宝根证书, alipayRootCert.crt). alipay_root_cert_sn joins the SNs
// of its RSA-signed roots in file order, as the Java SDK does; roots Go
// cannot parse (the SM2 root) are skipped. Its parsable roots are the only
// trust anchors of [WithCertRotation].
func WithAlipayRootCert(bundle []byte) Option {
	return func(c *config) (err error) {
		c.rootBundle, err = loadRootBundle("WithAlipayRootCert", bundle)
		return err
	}
}

// WithAlipayRootCertFile is [WithAlipayRootCert] reading the bundle from a
// file (regular, at most 1 MiB).
func WithAlipayRootCertFile(path string) Option {
	return func(c *config) error {
		data, err := readKeyFile("WithAlipayRootCertFile", path)
		if err != nil {
			return err
		}
		c.rootBundle, err = loadRootBundle("WithAlipayRootCertFile", data)
		return err
	}
}

// WithCertRotation turns automatic Alipay certificate rotation on or off
// (default off). Off, a response naming an alipay_cert_sn other than the
// configured certificate's fails with a [VerifyError] at step
// "unknown_cert_sn" naming the SN, and the operator installs the new
// certificate. On, the client downloads that certificate once
// (alipay.open.app.alipaycert.download, concurrent callers share the
// download) and trusts it only if it is Alipay's signing certificate for
// this app: the certificate with that SN, with the subject and the issuer
// of the [WithAlipayCert] certificate and issued by the same CA, not a CA
// itself, with digitalSignature in its key usage (when it has one), valid
// now, chaining to the [WithAlipayRootCert] bundle, and holding an RSA key
// of at least 2048 bits. Chaining alone is not enough: the same roots issue
// every developer's app certificate. Otherwise the step is
// "cert_not_trusted" (if Alipay ever changes the subject or the issuing CA,
// install the new alipayCertPublicKey_RSA2.crt) or "cert_expired", and the
// certificate is never kept. Accepted keys are kept for the client's life
// and also verify notifications. A failed SN is not downloaded again for a
// minute, and at most 16 SNs can be failed or pending at once, so forged
// SNs cannot make the client flood the gateway. Needs certificate mode.
func WithCertRotation(on bool) Option {
	return func(c *config) error {
		c.rotation = on
		return nil
	}
}

// WithAESKey turns on content encryption (接口内容加密, encrypt_type=AES)
// with the AES key from the open platform console, Base64 as shown there
// (16, 24 or 32 bytes once decoded). Every biz_content is then encrypted
// (AES-CBC, zero IV, PKCS#7) before signing, encrypt_type=AES is sent, and
// encrypted responses are decrypted after their signature is verified.
// Upload calls (multipart: mini-program base info modify, field apply) have
// no biz_content and are sent unencrypted, as in the official SDKs. The key
// never appears in errors or logs.
func WithAESKey(key string) Option {
	return func(c *config) (err error) {
		c.aesKey, err = parseAESKey("WithAESKey", key)
		return err
	}
}
