package alipay

import (
	"bytes"
	"encoding/asn1"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/isvkit/alipay/internal/certsn"
)

// hugeSerialCert returns the leaf of the configured Alipay certificate with
// a serial of n octets (its signature no longer matches; the serial is
// refused long before any signature check).
func hugeSerialCert(t *testing.T, n int) []byte {
	t.Helper()
	certs, err := certsn.Parse(readTestdata(t, "certs/alipay_cert_public_key_rsa2.crt"))
	require.NoError(t, err)
	var cert, tbs []asn1.RawValue
	_, err = asn1.Unmarshal(certs[0].DER, &cert)
	require.NoError(t, err)
	_, err = asn1.Unmarshal(cert[0].FullBytes, &tbs)
	require.NoError(t, err)
	tbs[1] = asn1.RawValue{Tag: asn1.TagInteger, Bytes: bytes.Repeat([]byte{0x5a}, n)} // tbs[0] is the version
	tbsDER, err := asn1.Marshal(tbs)
	require.NoError(t, err)
	cert[0] = asn1.RawValue{FullBytes: tbsDER}
	out, err := asn1.Marshal(cert)
	require.NoError(t, err)
	return out
}

// TestHugeSerialConfiguredCertRefusedFast: a configured certificate with a
// 4 MiB serial is refused before its SN's decimal conversion (seconds of
// CPU), whichever certificate option receives it.
func TestHugeSerialConfiguredCertRefusedFast(t *testing.T) {
	huge := hugeSerialCert(t, 4<<20)
	for name, opt := range map[string]Option{
		"WithAlipayCert": WithAlipayCert(huge), "WithAppCert": WithAppCert(huge), "WithAlipayRootCert": WithAlipayRootCert(huge),
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := NewClient(testAppID, append(certModeOptions(), WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"), opt)...)
			elapsed := time.Since(start)
			require.Error(t, err)
			assert.Contains(t, err.Error(), name+": certificate 1: serialNumber has 4194304 octets")
			assert.Less(t, elapsed, 3*time.Second)
		})
	}
}

// TestHugeSerialDownloadRefusedFast: with rotation on, a response naming an
// unknown SN makes the client download a certificate; one with a 4 MiB
// serial is refused before the SN conversion and never trusted.
func TestHugeSerialDownloadRefusedFast(t *testing.T) {
	c, mock := newCertMockClient(t, WithCertRotation(true))
	huge := hugeSerialCert(t, 4<<20)
	downloads := downloadServer(mock, func(sn string) string {
		return signedBody(t, "keys/alipay_rotated_private_pkcs8.pem", methodAlipayCertDownload, downloadNode(huge), sn)
	})
	start := time.Now()
	step, err := verifyStep(t, c, signedBody(t, "keys/alipay_rotated_private_pkcs8.pem", methodQuery, queryNode, snRotated))
	elapsed := time.Since(start)
	assert.Equal(t, StepUnknownCertSN, step)
	assert.Contains(t, err.Error(), "serialNumber has 4194304 octets")
	assert.Less(t, elapsed, 3*time.Second)
	assert.EqualValues(t, 1, downloads.Load())
	assert.Len(t, c.core.notifyKeys(), 1)
	assert.False(t, strings.Contains(err.Error(), "MII"))
}
