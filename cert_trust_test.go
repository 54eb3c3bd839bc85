package alipay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/isvkit/alipay/internal/certsn"
)

// testCA is a CA of testdata/certs with its key, to issue certificates at
// test time.
type testCA struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	pem  []byte
}

// loadTestCA reads a CA certificate and its key from testdata.
func loadTestCA(t *testing.T, certFile, keyFile string) *testCA {
	t.Helper()
	certs, err := certsn.Parse(readTestdata(t, certFile))
	require.NoError(t, err)
	return &testCA{cert: certs[0].X509, key: privateKey(t, keyFile),
		pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].DER})}
}

// sign issues tmpl for pub and returns it as a CA that can sign in turn
// (its key is key; nil for a leaf).
func (ca *testCA) sign(t *testing.T, tmpl *x509.Certificate, pub *rsa.PublicKey, key *rsa.PrivateKey) *testCA {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	require.NoError(t, err)
	tmpl.SerialNumber = serial
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// file returns the certificate file of c: c followed by its issuers, as
// Alipay ships it.
func (c *testCA) file(issuers ...*testCA) []byte {
	out := append([]byte(nil), c.pem...)
	for _, i := range issuers {
		out = append(out, i.pem...)
	}
	return out
}

// TestRotationForeignCertificateAttack: with rotation on, a response names
// the SN of a certificate that chains to Alipay's roots but is not
// Alipay's signing certificate for this developer; the attacker serves it
// and signs with its key. Each must fail at cert_not_trusted and never be
// accepted, while a genuine renewal (same subject, same issuing CA) is.
func TestRotationForeignCertificateAttack(t *testing.T) {
	root := loadTestCA(t, "certs/test_root_r1.crt", "keys/ca_test_root_r1_private_pkcs8.pem")
	class1 := loadTestCA(t, "certs/test_class1_ca.crt", "keys/ca_test_class1_private_pkcs8.pem")
	class2 := loadTestCA(t, "certs/test_class2_ca.crt", "keys/ca_test_class2_private_pkcs8.pem")
	configured, err := certsn.Parse(readTestdata(t, "certs/alipay_cert_public_key_rsa2.crt"))
	require.NoError(t, err)
	subject := configured[0].X509.RawSubject
	attackerKey := "keys/alipay_rotated_private_pkcs8.pem"
	pub := &privateKey(t, attackerKey).PublicKey
	rogueKey := privateKey(t, "keys/ca_rogue_private_pkcs8.pem")
	sigUsage := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	leaf := func(raw []byte, usage x509.KeyUsage) *x509.Certificate {
		return &x509.Certificate{RawSubject: raw, KeyUsage: usage, BasicConstraintsValid: true}
	}
	named := func(cn string) []byte { return certNameDER(t, cn) }
	caTmpl := func(raw []byte) *x509.Certificate {
		return &x509.Certificate{RawSubject: raw, IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	}
	class3 := root.sign(t, caTmpl(named("isvkit Test Certification Authority Class 3 R1")), &rogueKey.PublicKey, rogueKey)
	rekeyed := root.sign(t, caTmpl(class2.cert.RawSubject), &rogueKey.PublicKey, rogueKey)
	caLeaf := leaf(subject, sigUsage|x509.KeyUsageCertSign)
	caLeaf.IsCA = true

	cases := []struct {
		name, detail string
		file         []byte
	}{
		{"genuine renewal", "", class2.sign(t, leaf(subject, sigUsage), pub, nil).file(class2)},
		{"genuine renewal without key usage", "", class2.sign(t, leaf(subject, 0), pub, nil).file(class2)},
		{"another developer's app certificate", "subject differs",
			class1.sign(t, leaf(named("2088000000000002-2021000000000002"), x509.KeyUsageDigitalSignature), pub, nil).file(class1)},
		{"another subject under Alipay's intermediate", "subject differs",
			class2.sign(t, leaf(named("isvkit Test Alipay(China) Network-2088000000000002"), sigUsage), pub, nil).file(class2)},
		{"CA certificate with Alipay's subject", "CA certificate", class2.sign(t, caLeaf, pub, nil).file(class2)},
		{"right subject under another intermediate", "issuer differs",
			class3.sign(t, leaf(subject, sigUsage), pub, nil).file(class3)},
		{"right subject under a same-named intermediate with another key", "same name, another key",
			rekeyed.sign(t, leaf(subject, sigUsage), pub, nil).file(rekeyed)},
		{"key usage without digitalSignature", "digitalSignature",
			class2.sign(t, leaf(subject, x509.KeyUsageKeyEncipherment), pub, nil).file(class2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := certsn.Parse(tc.file)
			require.NoError(t, err)
			sn := certs[0].SN
			c, mock := newCertMockClient(t, WithCertRotation(true))
			downloads := downloadServer(mock, func(sn string) string {
				return signedBody(t, attackerKey, methodAlipayCertDownload, downloadNode(tc.file), sn)
			})
			forged := signedBody(t, attackerKey, methodQuery, queryNode, sn)
			step, err := verifyStep(t, c, forged)
			if tc.detail == "" {
				require.NoError(t, err)
				assert.Len(t, c.core.notifyKeys(), 2)
				return
			}
			assert.Equal(t, StepCertNotTrusted, step, "%v", err)
			assert.ErrorContains(t, err, tc.detail)
			assert.ErrorContains(t, err, sn)
			assert.Len(t, c.core.notifyKeys(), 1, "never accepted")
			step, err = verifyStep(t, c, forged)
			assert.Equal(t, StepCertNotTrusted, step, "%v", err)
			assert.EqualValues(t, 1, downloads.Load(), "the failure is remembered, not the certificate")
			assert.Empty(t, c.core.certs.rotated)
		})
	}
}

// certNameDER encodes a name in the shape of Alipay's leaves (C, O, OU, CN).
func certNameDER(t *testing.T, cn string) []byte {
	t.Helper()
	name := pkix.Name{Country: []string{"CN"}, Organization: []string{"isvkit 测试有限公司"},
		OrganizationalUnit: []string{"Alipay"}, CommonName: cn}
	b, err := asn1.Marshal(name.ToRDNSequence())
	require.NoError(t, err)
	return b
}
