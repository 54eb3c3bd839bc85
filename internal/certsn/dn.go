package certsn

import (
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"strings"
	"unicode/utf8"
)

// rfc2253Keyword returns the attribute keyword Java's X500Principal.getName()
// (RFC 2253 form) emits for oid; every other attribute type is written as
// its dotted OID followed by '=#' and the hex of the value's DER.
func rfc2253Keyword(oid string) (string, bool) {
	switch oid {
	case "2.5.4.3":
		return "CN", true
	case "2.5.4.6":
		return "C", true
	case "2.5.4.7":
		return "L", true
	case "2.5.4.8":
		return "ST", true
	case "2.5.4.10":
		return "O", true
	case "2.5.4.11":
		return "OU", true
	case "2.5.4.9":
		return "STREET", true
	case "0.9.2342.19200300.100.1.25":
		return "DC", true
	case "0.9.2342.19200300.100.1.1":
		return "UID", true
	}
	return oid, false
}

// FormatDN renders a DER Name (for example x509.Certificate.RawIssuer) as
// Java's X500Principal.getName() does (RFC 2253 with Java's choices):
//
//   - RDNs in reverse order joined by ','; the attributes of a multi-valued
//     RDN in their encoded order joined by '+';
//   - keywords CN, C, L, ST, O, OU, STREET, DC and UID; any other type as
//     dotted-OID=#hex of the original DER of the value;
//   - values of the string types (PrintableString, T61String, IA5String,
//     GeneralString, BMPString, UTF8String, UniversalString) read as UTF-8
//     (as Java does, whatever the type; invalid bytes become U+FFFD), any
//     other value type as #hex;
//   - the characters , = + < > # ; " \ escaped with a backslash anywhere, NUL
//     written as \00, and leading or trailing spaces and CRs escaped.
//
// Go's pkix.Name.String() differs (attribute order, escaping, keywords), so
// it gives other SNs for unusual names (docs/wire.md#certificate-mode;
// testdata/certs/dn_appendix_e.crt shows a name where they differ).
func FormatDN(rawName []byte) (string, error) {
	name, rest, err := element(rawName)
	if err != nil {
		return "", err
	}
	if len(rest) != 0 || !isUniversal(name, tagSequence, true) {
		return "", errors.New("name is not a single SEQUENCE")
	}
	rdns, err := children(name.Bytes)
	if err != nil {
		return "", err
	}
	out := make([]string, len(rdns))
	for i, rdn := range rdns {
		s, err := formatRDN(rdn)
		if err != nil {
			return "", err
		}
		out[len(rdns)-1-i] = s
	}
	return strings.Join(out, ","), nil
}

// formatRDN renders one RelativeDistinguishedName (a SET of AVAs).
func formatRDN(rdn asn1.RawValue) (string, error) {
	if !isUniversal(rdn, tagSet, true) {
		return "", errors.New("RDN is not a SET")
	}
	avas, err := children(rdn.Bytes)
	if err != nil {
		return "", err
	}
	if len(avas) == 0 {
		return "", errors.New("empty RDN")
	}
	parts := make([]string, len(avas))
	for i, ava := range avas {
		if parts[i], err = formatAVA(ava); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, "+"), nil
}

// formatAVA renders one AttributeTypeAndValue.
func formatAVA(ava asn1.RawValue) (string, error) {
	if !isUniversal(ava, tagSequence, true) {
		return "", errors.New("attribute is not a SEQUENCE")
	}
	tv, err := children(ava.Bytes)
	if err != nil {
		return "", err
	}
	if len(tv) != 2 || !isUniversal(tv[0], tagOID, false) {
		return "", errors.New("attribute is not (OID, value)")
	}
	oid, err := formatOID(tv[0].Bytes)
	if err != nil {
		return "", err
	}
	keyword, ok := rfc2253Keyword(oid)
	value := tv[1]
	if !ok || !isDERString(value) {
		return keyword + "=#" + hex.EncodeToString(value.FullBytes), nil
	}
	return keyword + "=" + escapeValue(value.Bytes), nil
}

// isDERString reports whether v has one of the string tags Java renders as
// text (AVA.isDerString, non-canonical).
func isDERString(v asn1.RawValue) bool {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return false
	}
	switch v.Tag {
	case asn1.TagPrintableString, asn1.TagT61String, asn1.TagIA5String, asn1.TagGeneralString,
		asn1.TagBMPString, asn1.TagUTF8String, 28 /* UniversalString */ :
		return true
	}
	return false
}

// escapeValue applies Java's AVA.toRFC2253String escaping to the UTF-8
// decoding of b.
func escapeValue(b []byte) string {
	const escapees = ",=+<>#;\"\\"
	chars := make([]rune, 0, len(b)+4)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case strings.ContainsRune(escapees, r):
			chars = append(chars, '\\', r)
		case r == 0:
			chars = append(chars, '\\', '0', '0')
		default:
			chars = append(chars, r)
		}
	}
	isSpace := func(r rune) bool { return r == ' ' || r == '\r' }
	lead := 0
	for lead < len(chars) && isSpace(chars[lead]) {
		lead++
	}
	trail := len(chars) - 1
	for trail >= 0 && isSpace(chars[trail]) {
		trail--
	}
	var sb strings.Builder
	sb.Grow(len(chars) + 4)
	for i, r := range chars {
		if i < lead || i > trail {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
