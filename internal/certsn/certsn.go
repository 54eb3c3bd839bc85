// Package certsn reads the certificate files of Alipay's public-key
// certificate mode (公钥证书模式) and computes their serial numbers ("SN")
// exactly as the official Java SDK does (docs/wire.md#certificate-mode):
//
//   - SN of a certificate = lowercase hex MD5 of the UTF-8 bytes of the
//     issuer DN in Java's RFC 2253 form ([FormatDN]) followed by the decimal
//     serial number;
//   - app_cert_sn and alipay_cert_sn = the SN of the first certificate of
//     the file;
//   - alipay_root_cert_sn = the SNs of the bundle's certificates whose
//     signature algorithm OID starts with "1.2.840.113549.1.1" (the RSA
//     family), in file order, joined by '_' ([RootSN]).
//
// The SN fields are read from the raw DER, so certificates Go's x509 cannot
// parse (the SM2 root of Alipay's bundle) still count; such a certificate is
// accepted only when it is not RSA-signed.
package certsn

import (
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// rsaSignaturePrefix is the prefix Java's AntCertificationUtil matches with
// String.startsWith on the dotted signature algorithm OID.
const rsaSignaturePrefix = "1.2.840.113549.1.1"

// maxCerts bounds the certificates read from one file.
const maxCerts = 64

// Cert is one certificate of a file with what certificate mode needs.
type Cert struct {
	// DER is the certificate's encoding.
	DER []byte
	// SignatureOID is the dotted OID of the outer signatureAlgorithm.
	SignatureOID string
	// IssuerDN is the issuer in Java's RFC 2253 form.
	IssuerDN string
	// Serial is the serial number.
	Serial *big.Int
	// SN is the lowercase hex MD5 of IssuerDN followed by the decimal Serial.
	SN string
	// X509 is the certificate parsed by crypto/x509, or nil when Go cannot
	// parse it (only possible for a certificate that is not RSA-signed).
	X509 *x509.Certificate
}

// RSASigned reports whether the certificate is signed with an RSA-family
// algorithm: Java's rule for the certificates of alipay_root_cert_sn. Like
// Java it compares the dotted strings.
func (c *Cert) RSASigned() bool { return strings.HasPrefix(c.SignatureOID, rsaSignaturePrefix) }

// SN returns the lowercase hex MD5 of the UTF-8 bytes of issuerDN followed
// by the decimal serial (always 32 hex digits, like Java's fillMD5).
func SN(issuerDN string, serial *big.Int) string {
	sum := md5.Sum([]byte(issuerDN + serial.String()))
	return hex.EncodeToString(sum[:])
}

// Parse reads every certificate of data, in order: one or more PEM
// "CERTIFICATE" blocks (text around them is ignored), or a single DER
// certificate. A certificate whose SN fields cannot be read is an error,
// and so is an RSA-signed certificate that crypto/x509 cannot parse.
func Parse(data []byte) ([]*Cert, error) {
	ders, err := split(data)
	if err != nil {
		return nil, err
	}
	certs := make([]*Cert, 0, len(ders))
	for i, der := range ders {
		c, err := parseOne(der)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// split returns the DER of each certificate in data.
func split(data []byte) ([][]byte, error) {
	if len(data) == 0 {
		return nil, errors.New("no certificate data")
	}
	if !strings.Contains(string(data), "-----BEGIN") {
		if data[0] != 0x30 {
			return nil, errors.New("neither PEM nor a DER certificate")
		}
		return [][]byte{data}, nil
	}
	var ders [][]byte
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q is not a certificate", block.Type)
		}
		if len(ders) == maxCerts {
			return nil, fmt.Errorf("more than %d certificates", maxCerts)
		}
		ders = append(ders, block.Bytes)
	}
	// pem.Decode skips a block it cannot decode; a skipped first block would
	// silently change which certificate counts.
	if len(ders) == 0 || len(ders) != strings.Count(string(data), "-----BEGIN") {
		return nil, errors.New("a PEM block does not decode (corrupted Base64?)")
	}
	return ders, nil
}

// parseOne reads the SN fields from the raw DER and parses the certificate
// with crypto/x509 when it can.
func parseOne(der []byte) (*Cert, error) {
	raw, err := readRaw(der)
	if err != nil {
		return nil, err
	}
	dn, err := FormatDN(raw.rawIssuer)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	c := &Cert{DER: der, SignatureOID: raw.sigOID, IssuerDN: dn, Serial: raw.serial, SN: SN(dn, raw.serial)}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		if c.RSASigned() {
			return nil, fmt.Errorf("RSA-signed certificate does not parse: %w", err)
		}
		return c, nil // e.g. the SM2 root: skipped for the root SN, not a trust anchor
	}
	c.X509 = parsed
	return c, nil
}

// RootSN returns alipay_root_cert_sn of a root bundle: the SNs of its
// RSA-signed certificates in file order, joined by '_'. A bundle without
// any is an error (Java would send an empty value).
func RootSN(certs []*Cert) (string, error) {
	var sns []string
	for _, c := range certs {
		if c.RSASigned() {
			sns = append(sns, c.SN)
		}
	}
	if len(sns) == 0 {
		return "", errors.New("no RSA-signed root certificate in the bundle")
	}
	return strings.Join(sns, "_"), nil
}
