package certsn

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
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

// installNew ends the errors of a certificate that may be a genuine new one
// whose change the client cannot vouch for.
const installNew = "if Alipay has changed it, install the new alipayCertPublicKey_RSA2.crt"

// oidKeyUsage is the key usage extension (RFC 5280 §4.2.1.3).
var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// VerifyLeaf decides whether certs[0], a downloaded Alipay public-key
// certificate (the rest of the file are intermediates), may replace
// current, the configured one, as the signer of Alipay's responses.
//
// Chaining to the roots is not enough: the same roots issue every
// developer's app certificate (and the real bundle holds a commercial CA),
// so anyone with a developer account could name their own certificate's
// SN. certs[0] must therefore
//
//   - have the SN sn;
//   - be an end-entity certificate: not a CA, no certificate signing, and
//     digitalSignature in its key usage where it has one;
//   - have current's subject and issuer names, byte for byte (Alipay's
//     certificate names the developer it serves);
//   - be valid at now and chain to roots (through the file's other
//     certificates);
//   - be issued by the very CA that issued current: the issuer in the
//     verified chain must have signed current too.
//
// A change of subject or issuer fails closed and says to install the new
// file. Like the Java SDK's AntCertificationUtil.isTrusted, any extended
// key usage is accepted.
func VerifyLeaf(certs []*Cert, sn string, current *x509.Certificate, roots *x509.CertPool, now time.Time) (*x509.Certificate, error) {
	if roots == nil || current == nil { // x509 would fall back to the system roots
		return nil, fmt.Errorf("%w: no root certificates or configured certificate", ErrNotTrusted)
	}
	if len(certs) == 0 || certs[0].X509 == nil {
		return nil, fmt.Errorf("%w: the certificate cannot be parsed", ErrNotTrusted)
	}
	if certs[0].SN != sn {
		return nil, fmt.Errorf("%w: the certificate has SN %s", ErrNotTrusted, certs[0].SN)
	}
	leaf := certs[0].X509
	if err := checkSigner(leaf, current); err != nil {
		return nil, err
	}
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
	chains, err := leaf.Verify(x509.VerifyOptions{
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
	for _, chain := range chains {
		if len(chain) > 1 && current.CheckSignatureFrom(chain[1]) == nil {
			return leaf, nil
		}
	}
	return nil, fmt.Errorf("%w: it is not issued by the CA that issued the configured Alipay certificate (same name, another key); %s",
		ErrNotTrusted, installNew)
}

// checkSigner checks what leaf says of itself against current: an
// end-entity certificate for signatures, with current's subject and issuer.
func checkSigner(leaf, current *x509.Certificate) error {
	if (leaf.BasicConstraintsValid && leaf.IsCA) || leaf.KeyUsage&x509.KeyUsageCertSign != 0 {
		return fmt.Errorf("%w: it is a CA certificate, not Alipay's signing certificate", ErrNotTrusted)
	}
	if hasExtension(leaf, oidKeyUsage) && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: its key usage does not include digitalSignature", ErrNotTrusted)
	}
	if !bytes.Equal(leaf.RawSubject, current.RawSubject) {
		return fmt.Errorf("%w: its subject differs from the configured Alipay certificate's (another developer's or another party's certificate?); %s",
			ErrNotTrusted, installNew)
	}
	if !bytes.Equal(leaf.RawIssuer, current.RawIssuer) {
		return fmt.Errorf("%w: its issuer differs from the configured Alipay certificate's; %s", ErrNotTrusted, installNew)
	}
	return nil
}

// hasExtension reports whether c carries the extension id.
func hasExtension(c *x509.Certificate, id asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(id) {
			return true
		}
	}
	return false
}
