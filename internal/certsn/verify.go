package certsn

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Errors of [VerifyLeaf], matched with errors.Is.
var (
	// ErrNotTrusted is a certificate that is not the expected one or does
	// not chain to the trusted roots.
	ErrNotTrusted = errors.New("certificate not trusted")
	// ErrExpired is a certificate (or chain) that is not valid at the time
	// of the check.
	ErrExpired = errors.New("certificate not valid now")
)

// VerifyLeaf checks that certs[0] (a downloaded Alipay public-key
// certificate; the rest of the file are intermediates) has the SN sn, is
// valid at now, and chains to roots — as the Java SDK's
// AntCertificationUtil.isTrusted does before it trusts a downloaded
// certificate. Any extended key usage is accepted.
func VerifyLeaf(certs []*Cert, sn string, roots *x509.CertPool, now time.Time) (*x509.Certificate, error) {
	if roots == nil { // x509 would fall back to the system roots
		return nil, fmt.Errorf("%w: no root certificates", ErrNotTrusted)
	}
	if len(certs) == 0 || certs[0].X509 == nil {
		return nil, fmt.Errorf("%w: the certificate cannot be parsed", ErrNotTrusted)
	}
	if certs[0].SN != sn {
		return nil, fmt.Errorf("%w: the certificate has SN %s", ErrNotTrusted, certs[0].SN)
	}
	leaf := certs[0].X509
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("%w: the certificate is valid from %s to %s only", ErrExpired,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		if c.X509 != nil {
			inter.AddCert(c.X509)
		}
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var invalid x509.CertificateInvalidError
		if errors.As(err, &invalid) && invalid.Reason == x509.Expired {
			return nil, fmt.Errorf("%w: %v", ErrExpired, err)
		}
		return nil, fmt.Errorf("%w: it does not chain to the configured root certificates: %v", ErrNotTrusted, err)
	}
	return leaf, nil
}
