package certsn

import (
	"bytes"
	"encoding/asn1"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resequence decodes the SEQUENCE der, lets edit change its elements and
// encodes it again (with correct lengths; signatures are not redone).
func resequence(t testing.TB, der []byte, edit func([]asn1.RawValue)) []byte {
	t.Helper()
	v, _, err := element(der)
	require.NoError(t, err)
	parts, err := children(v.Bytes)
	require.NoError(t, err)
	edit(parts)
	var body [][]byte
	for _, p := range parts {
		body = append(body, p.FullBytes)
	}
	out, err := asn1.Marshal(asn1.RawValue{Tag: tagSequence, IsCompound: true, Bytes: bytes.Join(body, nil)})
	require.NoError(t, err)
	return out
}

// withSerial returns der (a v3 certificate) with its serialNumber's content
// octets replaced by serial.
func withSerial(t testing.TB, der, serial []byte) []byte {
	t.Helper()
	return resequence(t, der, func(cert []asn1.RawValue) {
		cert[0].FullBytes = resequence(t, cert[0].FullBytes, func(tbs []asn1.RawValue) {
			b, err := asn1.Marshal(asn1.RawValue{Tag: tagInteger, Bytes: serial})
			require.NoError(t, err)
			tbs[1].FullBytes = b // tbs[0] is the explicit version
		})
	})
}

// TestHugeSerialRefusedBeforeSNConversion: an attacker's certificate with
// a 4 MiB serial costs seconds of CPU in the decimal conversion of its SN
// unless the serial's size is refused first (RFC 5280: 20 octets, plus a
// margin for non-conforming CAs).
func TestHugeSerialRefusedBeforeSNConversion(t *testing.T) {
	der := mustParse(t, "certs/test_root_r1.crt")[0].DER
	huge := withSerial(t, der, bytes.Repeat([]byte{0x7f}, 4<<20))
	start := time.Now()
	certs, err := Parse(huge)
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.Nil(t, certs)
	assert.Contains(t, err.Error(), "serialNumber has 4194304 octets; RFC 5280 allows 20")
	assert.Less(t, elapsed, 3*time.Second, "refused before the conversion (takes milliseconds; seconds before)")

	for n, ok := range map[int]bool{1: true, 20: true, 21: true, 24: true, 25: false} {
		serial := append([]byte{0x00}, bytes.Repeat([]byte{0xa5}, n-1)...)
		_, err := Parse(withSerial(t, der, serial))
		assert.Equal(t, ok, err == nil, "%d octets: %v", n, err)
	}
}

// TestHugeOIDRefused: an OBJECT IDENTIFIER of one 1 MiB arc (as a
// downloaded certificate's signature algorithm or a DN attribute type)
// would cost seconds of CPU to render; it is refused by its size.
func TestHugeOIDRefused(t *testing.T) {
	huge := append(append([]byte{0x2a}, bytes.Repeat([]byte{0xff}, 1<<20)...), 0x7f)
	start := time.Now()
	_, err := formatOID(huge)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 3*time.Second)
	_, err = formatOID(append(bytes.Repeat([]byte{0x81}, 127), 0x01))
	assert.NoError(t, err, "128 octets are still read")

	der := mustParse(t, "certs/test_root_r1.crt")[0].DER
	bigAlg := resequence(t, der, func(cert []asn1.RawValue) {
		cert[1].FullBytes = resequence(t, cert[1].FullBytes, func(alg []asn1.RawValue) {
			b, err := asn1.Marshal(asn1.RawValue{Tag: tagOID, Bytes: huge})
			require.NoError(t, err)
			alg[0].FullBytes = b
		})
	})
	_, err = Parse(bigAlg)
	assert.ErrorContains(t, err, "OBJECT IDENTIFIER has 1048578 octets")
}
