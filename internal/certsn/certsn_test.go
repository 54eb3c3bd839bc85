package certsn

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snKAT is one case of testdata/kat/cert_sn.json.
type snKAT struct {
	Name       string `json:"name"`
	File       string `json:"file"`
	Use        string `json:"use"`
	ExpectedSN string `json:"expected_sn"`
	Certs      []struct {
		IssuerDN     string `json:"issuer_dn_java"`
		SubjectDN    string `json:"subject_dn_java"`
		SerialDec    string `json:"serial_decimal"`
		SignatureOID string `json:"signature_algorithm_oid"`
		RSASigned    bool   `json:"rsa_signed"`
		SN           string `json:"sn"`
	} `json:"certs"`
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	require.NoError(t, err)
	return b
}

// TestCertSNKAT checks every case of cert_sn.json: the per-certificate DN,
// serial, OID and SN, and the expected SN for the case's use.
func TestCertSNKAT(t *testing.T) {
	var f struct {
		Cases []snKAT `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(testdata(t, "kat/cert_sn.json"), &f))
	require.Len(t, f.Cases, 15)
	for _, tc := range f.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			certs, err := Parse(testdata(t, tc.File))
			require.NoError(t, err)
			require.Len(t, certs, len(tc.Certs))
			for i, want := range tc.Certs {
				got := certs[i]
				assert.Equal(t, want.IssuerDN, got.IssuerDN, "cert %d issuer", i)
				assert.Equal(t, want.SerialDec, got.Serial.String(), "cert %d serial", i)
				assert.Equal(t, want.SignatureOID, got.SignatureOID, "cert %d OID", i)
				assert.Equal(t, want.RSASigned, got.RSASigned(), "cert %d rsa", i)
				assert.Equal(t, want.SN, got.SN, "cert %d SN", i)
				if got.X509 != nil {
					subject, err := FormatDN(got.X509.RawSubject)
					require.NoError(t, err)
					assert.Equal(t, want.SubjectDN, subject, "cert %d subject", i)
				} else {
					assert.False(t, got.RSASigned(), "only non-RSA certificates may fail to parse")
				}
			}
			switch tc.Use {
			case "alipay_root_cert_sn":
				sn, err := RootSN(certs)
				require.NoError(t, err)
				assert.Equal(t, tc.ExpectedSN, sn)
			default:
				assert.Equal(t, tc.ExpectedSN, certs[0].SN)
			}
		})
	}
}

// TestParseSM2RootSkipped checks that the real bundle's SM2 root is read
// from the raw DER but not parsed.
func TestParseSM2RootSkipped(t *testing.T) {
	certs, err := Parse(testdata(t, "certs/alipayRootCert.crt"))
	require.NoError(t, err)
	require.Len(t, certs, 4)
	assert.Nil(t, certs[0].X509)
	assert.Equal(t, "1.2.156.10197.1.501", certs[0].SignatureOID)
	for _, c := range certs[1:] {
		assert.NotNil(t, c.X509)
	}
}

// TestParseDER accepts a single DER certificate.
func TestParseDER(t *testing.T) {
	certs, err := Parse(testdata(t, "certs/test_root_r1.crt"))
	require.NoError(t, err)
	der, err := Parse(certs[0].DER)
	require.NoError(t, err)
	require.Len(t, der, 1)
	assert.Equal(t, certs[0].SN, der[0].SN)
}

// TestParseErrors covers inputs that are not certificate files.
func TestParseErrors(t *testing.T) {
	good := string(testdata(t, "certs/test_root_r1.crt"))
	cases := map[string]string{
		"empty":          "",
		"garbage":        "hello",
		"private key":    string(testdata(t, "keys/app_private_pkcs8.pem")),
		"corrupted PEM":  strings.Replace(good, "MII", "M!I", 1),
		"second corrupt": good + strings.Replace(good, "MII", "M!I", 1),
		"bad DER":        "\x30\x03\x02\x01",
		"not a cert":     "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(in))
			assert.Error(t, err)
		})
	}
	_, err := RootSN(nil)
	assert.Error(t, err)
	sm2 := mustParse(t, "certs/alipayRootCert.crt")[:1]
	_, err = RootSN(sm2)
	assert.Error(t, err, "a bundle with only the SM2 root has no root SN")
}

func mustParse(t *testing.T, name string) []*Cert {
	t.Helper()
	certs, err := Parse(testdata(t, name))
	require.NoError(t, err)
	return certs
}

// TestVerifyLeaf checks the chain decisions on the generated certificates.
func TestVerifyLeaf(t *testing.T) {
	roots := x509.NewCertPool()
	for _, c := range mustParse(t, "certs/test_root_bundle.crt") {
		roots.AddCert(c.X509)
	}
	at := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	rotated := mustParse(t, "certs/alipay_cert_public_key_rsa2_rotated.crt")
	expired := mustParse(t, "certs/alipay_cert_public_key_rsa2_expired.crt")
	rogue := mustParse(t, "certs/alipay_cert_public_key_rsa2_rogue.crt")
	current := mustParse(t, "certs/alipay_cert_public_key_rsa2.crt")[0].X509

	leaf, err := VerifyLeaf(rotated, rotated[0].SN, current, roots, at)
	require.NoError(t, err)
	assert.Equal(t, rotated[0].X509, leaf)

	_, err = VerifyLeaf(rotated[:1], rotated[0].SN, current, roots, at)
	assert.ErrorIs(t, err, ErrNotTrusted, "the intermediate comes from the file")
	_, err = VerifyLeaf(rotated, expired[0].SN, current, roots, at)
	assert.ErrorIs(t, err, ErrNotTrusted, "another SN")
	_, err = VerifyLeaf(rogue, rogue[0].SN, current, roots, at)
	assert.ErrorIs(t, err, ErrNotTrusted)
	_, err = VerifyLeaf(expired, expired[0].SN, current, roots, at)
	assert.ErrorIs(t, err, ErrExpired)
	_, err = VerifyLeaf(expired, expired[0].SN, current, roots, time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC))
	assert.NoError(t, err, "the expired leaf chains while it was valid")
	_, err = VerifyLeaf(rotated, rotated[0].SN, current, nil, at)
	assert.ErrorIs(t, err, ErrNotTrusted, "no roots never means the system roots")
	_, err = VerifyLeaf(rotated, rotated[0].SN, nil, roots, at)
	assert.ErrorIs(t, err, ErrNotTrusted, "no configured certificate to compare with")
	_, err = VerifyLeaf(nil, "x", current, roots, at)
	assert.ErrorIs(t, err, ErrNotTrusted)
	sm2 := mustParse(t, "certs/alipayRootCert.crt")[:1]
	_, err = VerifyLeaf(sm2, sm2[0].SN, current, roots, at)
	assert.ErrorIs(t, err, ErrNotTrusted)
}
