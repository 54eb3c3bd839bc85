package certsn

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// ASN.1 universal tags used here.
const (
	tagInteger  = 2
	tagOID      = 6
	tagSequence = 16
	tagSet      = 17
)

// maxSerialOctets bounds the encoded serialNumber. RFC 5280 allows 20
// octets; the margin admits non-conforming CAs (a 20-byte serial with its
// top bit set takes a 21st octet, and older CAs issued negative serials).
// The bound comes before the decimal conversion of the SN, whose cost grows
// faster than linearly with the serial's size: a multi-megabyte serial
// would cost seconds of CPU.
const maxSerialOctets = 24

// maxOIDOctets bounds an OBJECT IDENTIFIER's contents. Real OIDs take a
// few octets (a UUID arc, 2.25.<128 bits>, about 20); formatOID's cost
// grows with the square of an arc's size.
const maxOIDOctets = 128

// rawFields are what an SN needs from a certificate, read from the raw DER
// without interpreting keys or extensions, so that certificates Go cannot
// parse (the SM2 root of Alipay's bundle) still yield them.
type rawFields struct {
	sigOID    string   // outer signatureAlgorithm, dotted
	serial    *big.Int // tbsCertificate.serialNumber
	rawIssuer []byte   // tbsCertificate.issuer, the full DER of the Name
}

// readRaw walks Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
// signatureValue } and TBSCertificate ::= SEQUENCE { [0] version OPTIONAL,
// serialNumber, signature, issuer, ... } (RFC 5280 §4.1).
func readRaw(der []byte) (*rawFields, error) {
	cert, rest, err := element(der)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing data after the certificate")
	}
	if !isUniversal(cert, tagSequence, true) {
		return nil, errors.New("certificate is not a SEQUENCE")
	}
	parts, err := children(cert.Bytes)
	if err != nil {
		return nil, err
	}
	if len(parts) != 3 || !isUniversal(parts[0], tagSequence, true) || !isUniversal(parts[1], tagSequence, true) {
		return nil, errors.New("certificate is not tbsCertificate, signatureAlgorithm, signatureValue")
	}
	alg, err := children(parts[1].Bytes)
	if err != nil {
		return nil, err
	}
	if len(alg) == 0 || !isUniversal(alg[0], tagOID, false) {
		return nil, errors.New("signatureAlgorithm has no OID")
	}
	oid, err := formatOID(alg[0].Bytes)
	if err != nil {
		return nil, err
	}
	tbs, err := children(parts[0].Bytes)
	if err != nil {
		return nil, err
	}
	i := 0
	if len(tbs) > 0 && tbs[0].Class == asn1.ClassContextSpecific && tbs[0].Tag == 0 {
		i++ // explicit version
	}
	if len(tbs) < i+3 {
		return nil, errors.New("tbsCertificate is too short")
	}
	if !isUniversal(tbs[i], tagInteger, false) {
		return nil, errors.New("serialNumber is not an INTEGER")
	}
	if n := len(tbs[i].Bytes); n > maxSerialOctets {
		return nil, fmt.Errorf("serialNumber has %d octets; RFC 5280 allows 20", n)
	}
	serial, err := parseInteger(tbs[i].Bytes)
	if err != nil {
		return nil, err
	}
	issuer := tbs[i+2]
	if !isUniversal(issuer, tagSequence, true) {
		return nil, errors.New("issuer is not a SEQUENCE")
	}
	return &rawFields{sigOID: oid, serial: serial, rawIssuer: issuer.FullBytes}, nil
}

// element reads one DER element (definite lengths only).
func element(b []byte) (asn1.RawValue, []byte, error) {
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(b, &v)
	if err != nil {
		return v, nil, fmt.Errorf("malformed DER: %w", err)
	}
	return v, rest, nil
}

// children splits the contents of a constructed element into its elements.
func children(b []byte) ([]asn1.RawValue, error) {
	var out []asn1.RawValue
	for len(b) > 0 {
		v, rest, err := element(b)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		b = rest
	}
	return out, nil
}

// isUniversal reports whether v has the given universal tag and form.
func isUniversal(v asn1.RawValue, tag int, compound bool) bool {
	return v.Class == asn1.ClassUniversal && v.Tag == tag && v.IsCompound == compound
}

// parseInteger decodes the contents of a DER INTEGER (two's complement, big
// endian); readRaw bounds a serial's size before calling it.
func parseInteger(b []byte) (*big.Int, error) {
	if len(b) == 0 {
		return nil, errors.New("empty INTEGER")
	}
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return n, nil
}

// formatOID renders the contents of an OBJECT IDENTIFIER in dotted form,
// with arcs of any size (encoding/asn1 limits arcs to an int).
func formatOID(b []byte) (string, error) {
	if len(b) == 0 {
		return "", errors.New("empty OBJECT IDENTIFIER")
	}
	if len(b) > maxOIDOctets {
		return "", fmt.Errorf("OBJECT IDENTIFIER has %d octets; at most %d are read", len(b), maxOIDOctets)
	}
	var sb strings.Builder
	arc := new(big.Int)
	first := true
	start := true
	for i, c := range b {
		if start && c == 0x80 {
			return "", errors.New("OBJECT IDENTIFIER arc is not minimally encoded")
		}
		start = false
		arc.Lsh(arc, 7)
		arc.Or(arc, big.NewInt(int64(c&0x7f)))
		if c&0x80 != 0 {
			if i == len(b)-1 {
				return "", errors.New("truncated OBJECT IDENTIFIER")
			}
			continue
		}
		if first {
			// The first subidentifier holds the first two arcs: 40*x + y.
			x := int64(2)
			switch {
			case arc.Cmp(big.NewInt(40)) < 0:
				x = 0
			case arc.Cmp(big.NewInt(80)) < 0:
				x = 1
			}
			arc.Sub(arc, big.NewInt(40*x))
			fmt.Fprintf(&sb, "%d.%s", x, arc.String())
			first = false
		} else {
			sb.WriteByte('.')
			sb.WriteString(arc.String())
		}
		arc.SetInt64(0)
		start = true
	}
	return sb.String(), nil
}
