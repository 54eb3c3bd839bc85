package certsn

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tlv encodes one DER element with a short or long length.
func tlv(tag byte, content ...[]byte) []byte {
	body := bytes.Join(content, nil)
	n := len(body)
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, body...)
}

func oid(t *testing.T, ids ...int) []byte {
	t.Helper()
	b, err := asn1.Marshal(asn1.ObjectIdentifier(ids))
	require.NoError(t, err)
	return b
}

func ava(oid, value []byte) []byte { return tlv(0x30, oid, value) }
func rdn(avas ...[]byte) []byte    { return tlv(0x31, avas...) }
func name(rdns ...[]byte) []byte   { return tlv(0x30, rdns...) }

// TestFormatDNRules exercises Java's rules on crafted names.
func TestFormatDNRules(t *testing.T) {
	cn := oid(t, 2, 5, 4, 3)
	o := oid(t, 2, 5, 4, 10)
	utf8 := func(s string) []byte { return tlv(0x0c, []byte(s)) }
	cases := []struct {
		name string
		der  []byte
		want string
	}{
		{"empty name", name(), ""},
		{"order reversed", name(rdn(ava(o, utf8("Org"))), rdn(ava(cn, utf8("X")))), "CN=X,O=Org"},
		{"multi-valued", name(rdn(ava(o, utf8("A")), ava(cn, utf8("B")))), "O=A+CN=B"},
		{"leading CR and trailing space", name(rdn(ava(cn, utf8("\rx ")))), "CN=\\\rx\\ "},
		{"only spaces", name(rdn(ava(cn, utf8("  ")))), "CN=\\ \\ "},
		{"inner space kept", name(rdn(ava(cn, utf8("a b")))), "CN=a b"},
		{"escapees", name(rdn(ava(cn, utf8(`,=+<>#;"\`)))), `CN=\,\=\+\<\>\#\;\"\\`},
		{"NUL", name(rdn(ava(cn, utf8("a\x00b")))), `CN=a\00b`},
		{"invalid UTF-8", name(rdn(ava(cn, utf8("a\xffb")))), "CN=a\uFFFDb"},
		{"BMPString read as UTF-8", name(rdn(ava(cn, tlv(0x1e, []byte{0, 'U'})))), `CN=\00U`},
		{"PrintableString", name(rdn(ava(cn, tlv(0x13, []byte("P"))))), "CN=P"},
		{"INTEGER value as hex", name(rdn(ava(cn, tlv(0x02, []byte{5})))), "CN=#020105"},
		{"constructed string as hex", name(rdn(ava(cn, tlv(0x2c, tlv(0x0c, []byte("a")))))), "CN=#2c030c0161"},
		{"unknown OID as hex", name(rdn(ava(oid(t, 2, 5, 4, 12), utf8("T")))), "2.5.4.12=#0c0154"},
		{"UID keyword", name(rdn(ava(oid(t, 0, 9, 2342, 19200300, 100, 1, 1), utf8("u")))), "UID=u"},
		{"big OID arc", name(rdn(ava([]byte{0x06, 0x0b, 0x69, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, utf8("v")))),
			"2.25.18446744073709551616=#0c0176"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatDN(tc.der)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestFormatDNErrors refuses malformed names without panicking.
func TestFormatDNErrors(t *testing.T) {
	cn := oid(t, 2, 5, 4, 3)
	v := tlv(0x0c, []byte("x"))
	bad := map[string][]byte{
		"nil":             nil,
		"not a sequence":  tlv(0x31),
		"trailing":        append(name(), 0),
		"rdn not a set":   name(tlv(0x30, ava(cn, v))),
		"empty rdn":       name(rdn()),
		"ava not seq":     name(rdn(tlv(0x31, cn, v))),
		"ava one element": name(rdn(tlv(0x30, cn))),
		"ava oid missing": name(rdn(tlv(0x30, v, v))),
		"empty oid":       name(rdn(ava([]byte{0x06, 0x00}, v))),
		"truncated oid":   name(rdn(ava([]byte{0x06, 0x01, 0x81}, v))),
		"padded oid":      name(rdn(ava([]byte{0x06, 0x02, 0x80, 0x01}, v))),
		"bad length":      {0x30, 0x05, 0x31},
	}
	for n, der := range bad {
		t.Run(n, func(t *testing.T) {
			_, err := FormatDN(der)
			assert.Error(t, err)
		})
	}
}

// TestParseIntegerNegative keeps the sign of a (non-conforming) negative
// serial, as Java's BigInteger does.
func TestParseIntegerNegative(t *testing.T) {
	n, err := parseInteger([]byte{0xff, 0x01})
	require.NoError(t, err)
	assert.Equal(t, big.NewInt(-255), n)
	n, err = parseInteger([]byte{0x00, 0x80})
	require.NoError(t, err)
	assert.Equal(t, big.NewInt(128), n)
	_, err = parseInteger(nil)
	assert.Error(t, err)
}

// TestRSASignedUnparseableIsError: an RSA-signed certificate whose public
// key Go cannot parse must not be skipped like the SM2 root.
func TestRSASignedUnparseableIsError(t *testing.T) {
	r1 := mustParse(t, "certs/test_root_r1.crt")[0]
	der := corruptPublicKey(t, r1)
	_, err := x509.ParseCertificate(der)
	require.Error(t, err)
	_, err = Parse(der)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "RSA-signed certificate does not parse")
}

// corruptPublicKey overwrites the RSAPublicKey inside the certificate's
// SubjectPublicKeyInfo with 0xff bytes, keeping every length.
func corruptPublicKey(t *testing.T, c *Cert) []byte {
	t.Helper()
	der := bytes.Clone(c.DER)
	spki := c.X509.RawSubjectPublicKeyInfo
	at := bytes.Index(der, spki)
	require.GreaterOrEqual(t, at, 0)
	end := at + len(spki)
	for i := end - 200; i < end; i++ {
		der[i] = 0xff
	}
	return der
}

// FuzzParse checks that no input panics the parser.
func FuzzParse(f *testing.F) {
	f.Add(testdata(f, "certs/alipayRootCert.crt"))
	f.Add(testdata(f, "certs/dn_escapes.crt"))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := Parse(data)
		if err == nil {
			_, _ = RootSN(certs)
		}
	})
}

// FuzzFormatDN checks that no name panics the formatter.
func FuzzFormatDN(f *testing.F) {
	for _, c := range mustParseF(f, "certs/dn_escapes.crt") {
		f.Add(c.X509.RawIssuer)
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		_, _ = FormatDN(der)
	})
}

func mustParseF(f *testing.F, name string) []*Cert {
	certs, err := Parse(testdata(f, name))
	require.NoError(f, err)
	return certs
}
