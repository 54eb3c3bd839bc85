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

// The certificate files of certificate mode (公钥证书模式): reading them for
// the With…Cert options, and checking their combination in NewClient.

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
