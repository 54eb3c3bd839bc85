package alipay

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/isvkit/alipay/internal/aescbc"
	"github.com/isvkit/alipay/internal/certsn"
	"github.com/isvkit/alipay/internal/jsonnode"
)

// certTestTime is when the generated certificates of testdata/certs are all
// valid except the expired one (the rotated one starts in 2026).
var certTestTime = time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)

func certClock() time.Time { return certTestTime }

// SNs of the generated certificates (testdata/kat/cert_sn.json).
const (
	snApp     = "3fa6b9b53ef47cf549d5d36be83ed916"
	snAlipay  = "65a62fc1212be67efe8a0cfa9a0f3a94"
	snRotated = "0a9f94f9bb05476a91181e4e201653c0"
	snRoot    = "c4abd414801a7851d958c8cb6ea0f567_ba6e98ebcd09cee4e948e4850e71fa0c"
	gwPattern = `=~^https://gw\.test/gateway\.do`
)

// certModeOptions are the three certificate options of the generated chain.
func certModeOptions() []Option {
	return []Option{
		WithAppCertFile("testdata/certs/app_cert_public_key.crt"),
		WithAlipayCertFile("testdata/certs/alipay_cert_public_key_rsa2.crt"),
		WithAlipayRootCertFile("testdata/certs/test_root_bundle.crt"),
	}
}

// newCertMockClient returns a certificate-mode client on a private httpmock
// transport (no network), at certTestTime unless opts set another clock.
func newCertMockClient(t testing.TB, opts ...Option) (*Client, *httpmock.MockTransport) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	all := append([]Option{
		WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"),
		WithClock(certClock), WithGatewayURL(testGW),
		WithHTTPClient(&http.Client{Transport: mock}),
	}, certModeOptions()...)
	c, err := NewClient(testAppID, append(all, opts...)...)
	require.NoError(t, err)
	return c, mock
}

// signedBody returns a gateway body whose node value is signed with the
// private key in keyFile; certSN "" leaves alipay_cert_sn out.
func signedBody(t testing.TB, keyFile, method, nodeValue, certSN string) string {
	t.Helper()
	key, err := parsePrivateKey("test", readTestdata(t, keyFile))
	require.NoError(t, err)
	sig, err := signRSA2(key, []byte(nodeValue))
	require.NoError(t, err)
	b := `{"` + jsonnode.NodeName(method) + `":` + nodeValue
	if certSN != "" {
		b += `,"alipay_cert_sn":"` + certSN + `"`
	}
	return b + `,"sign":"` + sig + `"}`
}

// TestCertModeParams checks the SNs a certificate-mode client sends.
func TestCertModeParams(t *testing.T) {
	c, _ := newCertMockClient(t)
	m := c.core.certs
	require.NotNil(t, m)
	assert.Equal(t, snApp, m.appSN)
	assert.Equal(t, snAlipay, m.alipaySN)
	assert.Equal(t, snRoot, m.rootSN)
	s, err := c.sign("alipay.open.app.api.query", nil, nil)
	require.NoError(t, err)
	u, err := url.Parse(s.url)
	require.NoError(t, err)
	assert.Equal(t, snApp, u.Query().Get("app_cert_sn"))
	assert.Equal(t, snRoot, u.Query().Get("alipay_root_cert_sn"))
	assert.False(t, u.Query().Has("encrypt_type"))
	assert.Equal(t, []*rsa.PublicKey{m.alipayKey}, c.core.notifyKeys())
}

// TestCertSNKATOptions loads every certificate of cert_sn.json through the
// client's options and compares the SN the client would use.
func TestCertSNKATOptions(t *testing.T) {
	type snCase struct {
		Name       string `json:"name"`
		File       string `json:"file"`
		Use        string `json:"use"`
		ExpectedSN string `json:"expected_sn"`
	}
	cases := loadKAT[snCase](t, "cert_sn")
	require.Len(t, cases, 15)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			data := readTestdata(t, tc.File)
			if tc.Use == "alipay_root_cert_sn" {
				b, err := loadRootBundle("test", data)
				require.NoError(t, err)
				assert.Equal(t, tc.ExpectedSN, b.sn)
				return
			}
			leaf, err := loadLeafCert("test", data)
			require.NoError(t, err)
			assert.Equal(t, tc.ExpectedSN, leaf.sn)
		})
	}
}

// TestCertOptionErrors covers bad inputs and combinations; no error text
// may carry key material.
func TestCertOptionErrors(t *testing.T) {
	app := WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem")
	pub := WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem")
	appCert := WithAppCertFile("testdata/certs/app_cert_public_key.crt")
	alipayCert := WithAlipayCertFile("testdata/certs/alipay_cert_public_key_rsa2.crt")
	root := WithAlipayRootCertFile("testdata/certs/test_root_bundle.crt")
	sm2 := firstPEM(t, "certs/alipayRootCert.crt")
	cases := []struct {
		name string
		opts []Option
		want string
	}{
		{"missing file", []Option{app, WithAppCertFile("testdata/certs/none.crt"), alipayCert, root}, "WithAppCertFile: stat testdata/certs/none.crt: no such file"},
		{"empty path", []Option{app, WithAlipayCertFile("")}, "WithAlipayCertFile: empty path"},
		{"key instead of cert", []Option{app, WithAppCertFile("testdata/keys/app_public.pem")}, `WithAppCertFile: PEM block "PUBLIC KEY" is not a certificate`},
		{"private key instead of cert", []Option{app, WithAlipayCert(readTestdata(t, "keys/app_private_pkcs8.pem"))}, `WithAlipayCert: PEM block "PRIVATE KEY" is not a certificate`},
		{"garbage root", []Option{app, WithAlipayRootCert([]byte("not a certificate"))}, "WithAlipayRootCert: neither PEM nor a DER certificate"},
		{"corrupted PEM", []Option{app, WithAlipayRootCertFile("testdata/keys/bad_corrupted_base64.pem")}, "WithAlipayRootCertFile:"},
		{"SM2 root only", []Option{app, WithAlipayRootCert(sm2)}, "no RSA-signed root certificate"},
		{"SM2 as app cert", []Option{app, WithAppCert(sm2)}, "WithAppCert: the first certificate (signature algorithm 1.2.156.10197.1.501) cannot be parsed"},
		{"ECDSA app cert", []Option{app, WithAppCertFile("testdata/certs/test_root_e1_ecdsa.crt")}, "WithAppCertFile: ECDSA key, want RSA"},
		{"cert instead of public key", []Option{app, WithAlipayPublicKeyFile("testdata/keys/bad_certificate_instead_of_key.pem")}, "got a certificate where a public key is expected"},
		{"both modes", []Option{app, pub, appCert, alipayCert, root}, "exclude each other"},
		{"only app cert", []Option{app, appCert}, "missing WithAlipayCert or WithAlipayCertFile (alipayCertPublicKey_RSA2.crt), WithAlipayRootCert or WithAlipayRootCertFile (alipayRootCert.crt)"},
		{"no root", []Option{app, appCert, alipayCert}, "missing WithAlipayRootCert or WithAlipayRootCertFile"},
		{"no app cert", []Option{app, alipayCert, root}, "missing WithAppCert or WithAppCertFile (appCertPublicKey_<appid>.crt)"},
		{"mismatched app cert", []Option{WithPrivateKeyFile("testdata/keys/alipay_test_private_pkcs8.pem"), appCert, alipayCert, root}, "does not hold the public key of the app private key"},
		{"rotation without cert mode", []Option{app, pub, WithCertRotation(true)}, "WithCertRotation needs certificate mode"},
		{"nothing to verify with", []Option{app}, "no Alipay public key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(testAppID, tc.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "alipay: "), err.Error())
			certNoKeyMaterial(t, err.Error())
		})
	}
	// Public-key mode with rotation off is still fine.
	_, err := NewClient(testAppID, app, pub, WithCertRotation(false))
	require.NoError(t, err)
}

// certNoKeyMaterial checks that text holds no Base64 DER (keys and
// certificates start "MII") and no line of any test key file.
func certNoKeyMaterial(t *testing.T, text string) {
	t.Helper()
	assert.NotContains(t, text, "MII")
	for _, f := range []string{"keys/app_private_pkcs8.pem", "keys/alipay_test_private_pkcs8.pem", "keys/bad_corrupted_base64.pem"} {
		for _, line := range strings.Split(string(readTestdata(t, f)), "\n") {
			if len(line) > 20 && !strings.HasPrefix(line, "-----") {
				assert.NotContains(t, text, line)
			}
		}
	}
}

// firstPEM returns the first PEM block of a testdata file.
func firstPEM(t *testing.T, name string) []byte {
	t.Helper()
	block, _ := pem.Decode(readTestdata(t, name))
	require.NotNil(t, block)
	return pem.EncodeToMemory(block)
}

// TestCertModeRoundTrip calls the gateway in certificate mode with AES and
// checks the request on the wire and the decrypted, verified answer.
func TestCertModeRoundTrip(t *testing.T) {
	const aesKey = "zM+/R8elr0D6ivjOyoUBuQ=="
	c, mock := newCertMockClient(t, WithAESKey(aesKey))
	const method = "alipay.open.app.api.scene.query"
	plain := `{"code":"10000","msg":"Success","auth_field_scene":[{"scene_code":"1","scene_desc":"x"}]}`
	key, err := base64.StdEncoding.DecodeString(aesKey)
	require.NoError(t, err)
	ct, err := aescbc.EncryptBase64(key, []byte(plain))
	require.NoError(t, err)
	body := signedBody(t, "keys/alipay_test_private_pkcs8.pem", method, `"`+ct+`"`, snAlipay)
	var query, form url.Values
	mock.RegisterResponder("POST", gwPattern, func(req *http.Request) (*http.Response, error) {
		query = req.URL.Query()
		require.NoError(t, req.ParseForm())
		form = req.PostForm
		return httpmock.NewStringResponse(200, body), nil
	})
	res, err := c.WithAppAuthToken(testToken).AppAPISceneQuery(context.Background(),
		&AppAPISceneQueryRequest{APIName: "getPhoneNumber", FieldName: "mobile"})
	require.NoError(t, err)
	require.Len(t, res.AuthFieldScene, 1)
	assert.Equal(t, plain, string(res.Raw))
	assert.Equal(t, snApp, query.Get("app_cert_sn"))
	assert.Equal(t, snRoot, query.Get("alipay_root_cert_sn"))
	assert.Equal(t, "AES", query.Get("encrypt_type"))
	enc := form.Get("biz_content")
	assert.NotContains(t, enc, "getPhoneNumber")
	raw, err := base64.StdEncoding.DecodeString(enc)
	require.NoError(t, err)
	assert.Zero(t, len(raw)%16)
	assert.Equal(t, testToken, form.Get("app_auth_token"))
}

// TestCertModeAcceptsPEMBundleText accepts certificate files with text
// around the PEM blocks (as some consoles export them) and DER.
func TestCertModeAcceptsPEMBundleText(t *testing.T) {
	app := "subject=...\n" + string(readTestdata(t, "certs/app_cert_public_key.crt"))
	certs, err := certsn.Parse(readTestdata(t, "certs/alipay_cert_public_key_rsa2.crt"))
	require.NoError(t, err)
	c, err := NewClient(testAppID, WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"),
		WithAppCert([]byte(app)), WithAlipayCert(certs[0].DER),
		WithAlipayRootCertFile("testdata/certs/test_root_bundle_with_sm2.crt"))
	require.NoError(t, err)
	assert.Equal(t, snApp, c.core.certs.appSN)
	assert.Equal(t, snAlipay, c.core.certs.alipaySN)
	assert.Equal(t, snRoot, c.core.certs.rootSN)
}

// chain is a CA chain generated at runtime with crypto/x509, with the test
// keys of testdata/keys (no key generation: fast).
type chain struct {
	t         *testing.T
	root      *x509.Certificate
	rootKey   *rsa.PrivateKey
	inter     *x509.Certificate
	interKey  *rsa.PrivateKey
	rootPEM   []byte
	interPEM  []byte
	serial    int64
	notBefore time.Time
	notAfter  time.Time
}

func privateKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := parsePrivateKey("test", readTestdata(t, name))
	require.NoError(t, err)
	return k
}

func newChain(t *testing.T, rootKey, interKey string) *chain {
	ch := &chain{t: t, rootKey: privateKey(t, rootKey), interKey: privateKey(t, interKey), serial: 100,
		notBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)}
	ch.root, ch.rootPEM = ch.issue(nil, nil, &ch.rootKey.PublicKey, "Generated Root CA", true, ch.notBefore, ch.notAfter)
	ch.inter, ch.interPEM = ch.issue(ch.root, ch.rootKey, &ch.interKey.PublicKey, "Generated Class 2 CA", true, ch.notBefore, ch.notAfter)
	return ch
}

// issue signs a certificate for pub by parent (self-signed when nil).
func (ch *chain) issue(parent *x509.Certificate, parentKey *rsa.PrivateKey, pub *rsa.PublicKey, cn string, ca bool, from, to time.Time) (*x509.Certificate, []byte) {
	ch.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ch.serial),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"isvkit Generated"}, Country: []string{"CN"}},
		NotBefore:    from, NotAfter: to,
		BasicConstraintsValid: true, IsCA: ca,
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, ch.rootKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	require.NoError(ch.t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(ch.t, err)
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// leaf issues an Alipay public-key certificate file (leaf + intermediate)
// for the key of pubFile, valid from..to, and returns the file and its SN.
func (ch *chain) leaf(pub *rsa.PublicKey, from, to time.Time) ([]byte, string) {
	_, leafPEM := ch.issue(ch.inter, ch.interKey, pub, "Generated Alipay Cert", false, from, to)
	file := append(leafPEM, ch.interPEM...)
	certs, err := certsn.Parse(file)
	require.NoError(ch.t, err)
	return file, certs[0].SN
}

func publicKey(t *testing.T, name string) *rsa.PublicKey {
	t.Helper()
	k, err := parsePublicKey("test", readTestdata(t, name))
	require.NoError(t, err)
	return k
}

// rotationClient builds a certificate-mode client on ch with rotation on:
// the app certificate and the configured Alipay certificate come from ch.
func rotationClient(t *testing.T, ch *chain, clock func() time.Time, extra ...Option) (*Client, *httpmock.MockTransport) {
	t.Helper()
	_, appPEM := ch.issue(ch.inter, ch.interKey, publicKey(t, "keys/app_public.pem"), "Generated App Cert", false, ch.notBefore, ch.notAfter)
	alipayFile, _ := ch.leaf(publicKey(t, "keys/alipay_test_public.pem"), ch.notBefore, ch.notAfter)
	mock := httpmock.NewMockTransport()
	opts := append([]Option{
		WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"), WithClock(clock), WithGatewayURL(testGW),
		WithHTTPClient(&http.Client{Transport: mock}), WithCertRotation(true),
		WithAppCert(appPEM), WithAlipayCert(alipayFile), WithAlipayRootCert(ch.rootPEM),
	}, extra...)
	c, err := NewClient(testAppID, opts...)
	require.NoError(t, err)
	return c, mock
}
