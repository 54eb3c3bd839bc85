package alipay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/isvkit/alipay/internal/certsn"
)

// The certificate files of certificate mode (公钥证书模式): the With…Cert
// options, reading the files, and checking their combination in NewClient.

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

// newCertMode checks the certificate options of cfg and returns the state
// of certificate mode, or nil in public-key mode. In certificate mode it
// sets cfg.alipayKey to the Alipay certificate's key.
func newCertMode(cfg *config) (*certMode, error) {
	if cfg.appCert == nil && cfg.alipayCert == nil && cfg.rootBundle == nil {
		if cfg.rotation {
			return nil, errors.New("alipay: NewClient: WithCertRotation needs certificate mode (WithAppCert…, WithAlipayCert…, WithAlipayRootCert…)")
		}
		return nil, nil
	}
	if cfg.alipayKey != nil {
		return nil, errors.New("alipay: NewClient: WithAlipayPublicKey… and certificate mode (WithAlipayCert…) exclude each other: use one")
	}
	var missing []string
	if cfg.appCert == nil {
		missing = append(missing, "WithAppCert or WithAppCertFile (appCertPublicKey_<appid>.crt)")
	}
	if cfg.alipayCert == nil {
		missing = append(missing, "WithAlipayCert or WithAlipayCertFile (alipayCertPublicKey_RSA2.crt)")
	}
	if cfg.rootBundle == nil {
		missing = append(missing, "WithAlipayRootCert or WithAlipayRootCertFile (alipayRootCert.crt)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("alipay: NewClient: certificate mode needs all three certificates; missing %s", strings.Join(missing, ", "))
	}
	if cfg.privateKey != nil && !cfg.privateKey.PublicKey.Equal(cfg.appCert.key) {
		return nil, errors.New("alipay: NewClient: the app certificate (WithAppCert…) does not hold the public key of the app private key (WithPrivateKey…): use the certificate issued for this key")
	}
	cfg.alipayKey = cfg.alipayCert.key
	warnExpiry(cfg.logger, cfg.alipayCert, cfg.clock())
	return &certMode{
		appSN: cfg.appCert.sn, rootSN: cfg.rootBundle.sn,
		alipaySN: cfg.alipayCert.sn, alipayKey: cfg.alipayCert.key, alipayCert: cfg.alipayCert.cert,
		roots: cfg.rootBundle.roots, rotation: cfg.rotation,
		rotated:  map[string]*rsa.PublicKey{},
		inflight: map[string]*certFlight{},
		failed:   map[string]failedDownload{},
	}, nil
}

// certExpiryNotice is how long before it expires the configured Alipay
// certificate is warned about.
const certExpiryNotice = 30 * 24 * time.Hour

// warnExpiry warns through logger (nil: no logger configured) when the
// configured Alipay certificate has expired or expires within
// certExpiryNotice. The certificate is still used, as the Java SDK does:
// it is pinned, Alipay may keep signing with it, and a renewed one arrives
// as a response naming a new alipay_cert_sn.
func warnExpiry(logger *slog.Logger, alipay *leafCert, now time.Time) {
	notAfter := alipay.cert.NotAfter
	if logger == nil || notAfter.Sub(now) > certExpiryNotice {
		return
	}
	msg := "alipay: the configured Alipay certificate (alipayCertPublicKey_RSA2.crt) expires within 30 days; it is still used"
	if now.After(notAfter) {
		msg = "alipay: the configured Alipay certificate (alipayCertPublicKey_RSA2.crt) has expired; it is still used"
	}
	logger.LogAttrs(context.Background(), slog.LevelWarn, msg+": install the renewed certificate from the open platform console",
		slog.String("alipay_cert_sn", alipay.sn), slog.Time("not_after", notAfter.UTC()))
}

// leafCert is the first certificate of an app or Alipay certificate file.
type leafCert struct {
	sn   string
	key  *rsa.PublicKey
	cert *x509.Certificate
}

// rootBundle is the Alipay root certificate file: its SN and, as trust
// anchors for rotation, every root Go can parse.
type rootBundle struct {
	sn    string
	roots *x509.CertPool
}

// loadLeafCert reads the first certificate of a certificate file; it must
// hold an RSA key of at least 2048 bits. Errors name the option, never
// content.
func loadLeafCert(option string, data []byte) (*leafCert, error) {
	certs, err := certsn.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, err)
	}
	first := certs[0]
	if first.X509 == nil {
		return nil, fmt.Errorf("alipay: %s: the first certificate (signature algorithm %s) cannot be parsed", option, first.SignatureOID)
	}
	key, err := checkPublicKey(option, first.X509.PublicKey)
	if err != nil {
		return nil, err
	}
	return &leafCert{sn: first.SN, key: key, cert: first.X509}, nil
}

// loadRootBundle reads the Alipay root certificate file (alipayRootCert.crt).
func loadRootBundle(option string, data []byte) (*rootBundle, error) {
	certs, err := certsn.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, err)
	}
	sn, err := certsn.RootSN(certs)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		if c.X509 != nil {
			pool.AddCert(c.X509)
		}
	}
	return &rootBundle{sn: sn, roots: pool}, nil
}
