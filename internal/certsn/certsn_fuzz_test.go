package certsn

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// FuzzCertSN feeds arbitrary DER and PEM to the SN pipeline, seeded with
// every certificate file of testdata/kat/cert_sn.json (the file, and each
// certificate alone as DER and as PEM). Nothing may panic; what Parse
// accepts must be self-consistent: each SN is the 32 lowercase hex digits of
// SN(IssuerDN, Serial), the DN formatter agrees with the parsed issuer, an
// RSA-signed certificate always parses with crypto/x509, and RootSN joins
// exactly the RSA-signed SNs. VerifyLeaf must not panic on what Parse
// returns.
//
//	go test -run '^$' -fuzz '^FuzzCertSN$' -fuzztime 10m ./internal/certsn
func FuzzCertSN(f *testing.F) {
	var kat struct {
		Cases []snKAT `json:"cases"`
	}
	if err := json.Unmarshal(testdata(f, "kat/cert_sn.json"), &kat); err != nil {
		f.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tc := range kat.Cases {
		if seen[tc.File] {
			continue
		}
		seen[tc.File] = true
		data := testdata(f, tc.File)
		f.Add(data)
		certs, err := Parse(data)
		if err != nil {
			f.Fatal(tc.File, err)
		}
		for _, c := range certs {
			f.Add(c.DER)
			f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER}))
		}
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	now := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := Parse(data)
		if err != nil {
			if certs != nil {
				t.Fatalf("certificates with error %v", err)
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificate and no error")
		}
		pool := x509.NewCertPool()
		rsaSNs := []string{}
		for i, c := range certs {
			checkCert(t, i, c)
			if c.RSASigned() {
				rsaSNs = append(rsaSNs, c.SN)
			}
			if c.X509 != nil {
				pool.AddCert(c.X509)
			}
		}
		root, err := RootSN(certs)
		if (err == nil) != (len(rsaSNs) > 0) || (err == nil && root != strings.Join(rsaSNs, "_")) {
			t.Fatalf("RootSN = %q, %v; RSA-signed SNs %v", root, err, rsaSNs)
		}
		leaf, err := VerifyLeaf(certs, certs[0].SN, certs[0].X509, pool, now)
		if (leaf == nil) == (err == nil) {
			t.Fatalf("VerifyLeaf = %v, %v", leaf, err)
		}
		_, _ = VerifyLeaf(certs, "", nil, nil, now)
	})
}

// checkCert asserts the invariants of one parsed certificate.
func checkCert(t *testing.T, i int, c *Cert) {
	t.Helper()
	if c.Serial == nil || len(c.DER) == 0 {
		t.Fatalf("cert %d: no serial or DER", i)
	}
	if c.SN != SN(c.IssuerDN, c.Serial) {
		t.Fatalf("cert %d: SN %q is not SN(%q, %s)", i, c.SN, c.IssuerDN, c.Serial)
	}
	if b, err := hex.DecodeString(c.SN); err != nil || len(b) != 16 || c.SN != strings.ToLower(c.SN) {
		t.Fatalf("cert %d: SN %q is not 32 lowercase hex digits", i, c.SN)
	}
	if c.RSASigned() && c.X509 == nil {
		t.Fatalf("cert %d: RSA-signed but not parsed", i)
	}
	if c.X509 != nil {
		if !bytes.Equal(c.X509.Raw, c.DER) {
			t.Fatalf("cert %d: parsed DER differs", i)
		}
		dn, err := FormatDN(c.X509.RawIssuer)
		if err != nil || dn != c.IssuerDN {
			t.Fatalf("cert %d: issuer %q, FormatDN(RawIssuer) = %q, %v", i, c.IssuerDN, dn, err)
		}
	}
}
