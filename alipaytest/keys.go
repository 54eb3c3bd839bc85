package alipaytest

import (
	"crypto/rsa"
	"crypto/x509"
	_ "embed" // the public test keys below
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// The PUBLIC TEST KEYS embedded in this package (testkeys/). They are
// published on purpose and anyone can sign with them: never configure them
// for a real app, and never trust a real message signed with them. They are
// strings, so nothing can modify them.
var (
	//go:embed testkeys/app_private_pkcs8.pem
	testAppPrivateKeyPEM string
	//go:embed testkeys/app_public.pem
	testAppPublicKeyPEM string
	//go:embed testkeys/alipay_test_private_pkcs8.pem
	testAlipayPrivateKeyPEM string
	//go:embed testkeys/alipay_test_public.pem
	testAlipayPublicKeyPEM string
)

// AppPrivateKeyPEM returns the private key of the server's default app
// ([DefaultAppID]), PKCS#8 PEM, for the client under test
// (alipay.WithPrivateKey). It is a PUBLIC TEST KEY: published, never secret.
// The slice is a fresh copy.
func (s *Server) AppPrivateKeyPEM() []byte { return []byte(testAppPrivateKeyPEM) }

// AppPublicKeyPEM returns the 应用公钥 of the PUBLIC TEST key pair (SPKI
// PEM), which the server registers for [DefaultAppID] unless [WithApp]
// replaces it.
func (s *Server) AppPublicKeyPEM() []byte { return []byte(testAppPublicKeyPEM) }

// AlipayPublicKeyPEM returns the public key (SPKI PEM) matching the key the
// server signs its responses and notifications with: the 支付宝公钥 to give
// the client under test (alipay.WithAlipayPublicKey). By default it is the
// PUBLIC TEST key of testkeys/; with [WithAlipayPrivateKey] it is derived
// from that key.
func (s *Server) AlipayPublicKeyPEM() []byte { return append([]byte(nil), s.alipayPubPEM...) }

// parsePrivateKey reads an RSA private key of at least 2048 bits: PEM
// ("PRIVATE KEY" or "RSA PRIVATE KEY") or bare Base64 of PKCS#8 or PKCS#1 DER.
func parsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	der, err := keyDER(data)
	if err != nil {
		return nil, err
	}
	var key any
	if key, err = x509.ParsePKCS8PrivateKey(der); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(der); err != nil {
			return nil, errors.New("not a PKCS#8 or PKCS#1 private key")
		}
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key (%T)", key)
	}
	if rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("RSA key has %d bits, need ≥ 2048", rk.N.BitLen())
	}
	return rk, nil
}

// parsePublicKey reads an RSA public key: PEM ("PUBLIC KEY" or "RSA PUBLIC
// KEY") or bare Base64 of SPKI or PKCS#1 DER.
func parsePublicKey(data []byte) (*rsa.PublicKey, error) {
	der, err := keyDER(data)
	if err != nil {
		return nil, err
	}
	var key any
	if key, err = x509.ParsePKIXPublicKey(der); err != nil {
		if key, err = x509.ParsePKCS1PublicKey(der); err != nil {
			return nil, errors.New("not an SPKI or PKCS#1 public key")
		}
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key (%T)", key)
	}
	return rk, nil
}

// keyDER returns the DER inside a PEM block, or the decoded bare Base64.
func keyDER(data []byte) ([]byte, error) {
	if block, _ := pem.Decode(data); block != nil {
		return block.Bytes, nil
	}
	s := strings.Join(strings.Fields(string(data)), "")
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(der) == 0 {
		return nil, errors.New("neither PEM nor Base64")
	}
	return der, nil
}

// publicKeyPEM renders pub as SPKI PEM.
func publicKeyPEM(pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // cannot happen for an *rsa.PublicKey
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
