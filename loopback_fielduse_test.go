package alipay

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A loopback gateway for the calls of the approved-field flow (AES keys,
// categories, templates). Like loopbackGateway it checks each request with
// the test's own code (verifyGatewaySign, a local AES-CBC), so a bug shared
// with the client cannot pass; unlike it, it accepts encrypt_type and
// answers what the test's function says, encrypted when asked.

// isvAESKey is the ISV app's own AES key in these tests (the generated key
// of testdata/kat/aes.json).
const isvAESKey = "zM+/R8elr0D6ivjOyoUBuQ=="

// fuRequest is one request the gateway accepted.
type fuRequest struct {
	Method    string
	Query     url.Values
	Form      url.Values
	Biz       string // biz_content, decrypted when encrypt_type=AES
	Encrypted bool
}

// fuAnswer is the node to return for a request, and whether to encrypt it
// with the ISV key.
type fuAnswer func(r *fuRequest) (node string, encrypt bool)

type fuGateway struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*fuRequest
	errs []error
}

func newFUGateway(t *testing.T, answer fuAnswer) *fuGateway {
	t.Helper()
	appPub := parsePublicPEM(t, "keys/app_public.pem")
	signer := newGatewaySigner(t)
	key, err := base64.StdEncoding.DecodeString(isvAESKey)
	require.NoError(t, err)
	g := &fuGateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fr, err := readFURequest(r, appPub, key)
		g.mu.Lock()
		if err != nil {
			g.errs = append(g.errs, err)
		} else {
			g.reqs = append(g.reqs, fr)
		}
		g.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		node, encrypt := answer(fr)
		if encrypt {
			node = `"` + base64.StdEncoding.EncodeToString(cbcZeroIV(key, []byte(node), true)) + `"`
		}
		_, _ = io.WriteString(w, signer.body(fr.Method, node))
	}))
	t.Cleanup(g.Close)
	return g
}

// requests returns what the gateway accepted; nothing may have been refused.
func (g *fuGateway) requests(t *testing.T) []*fuRequest {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	require.Empty(t, g.errs)
	return append([]*fuRequest(nil), g.reqs...)
}

// client returns an ISV client of the gateway with opts added.
func (g *fuGateway) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(testAppID, append([]Option{
		WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")),
		WithGatewayURL(g.URL + "/gateway.do"), WithTimeout(10 * time.Second),
	}, opts...)...)
	require.NoError(t, err)
	return c
}

// readFURequest checks the request's form, keys and signature and decrypts
// its biz_content.
func readFURequest(r *http.Request, appPub *rsa.PublicKey, key []byte) (*fuRequest, error) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return nil, fmt.Errorf("not a form POST")
	}
	query, err := singleValues("query", r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	form, err := singleValues("body", string(raw))
	if err != nil {
		return nil, err
	}
	text := map[string]string{}
	for k := range form {
		if !bodyKeys[k] || query.Has(k) {
			return nil, fmt.Errorf("body key %s not allowed", k)
		}
		text[k] = form.Get(k)
	}
	for k := range query {
		if k != "encrypt_type" && !containsString(queryKeys, k) {
			return nil, fmt.Errorf("query key %s not allowed", k)
		}
	}
	if _, err := verifyGatewaySign(appPub, query, text); err != nil {
		return nil, err
	}
	fr := &fuRequest{Method: query.Get("method"), Query: query, Form: form, Biz: form.Get("biz_content")}
	switch query.Get("encrypt_type") {
	case "":
	case "AES":
		ct, err := base64.StdEncoding.DecodeString(fr.Biz)
		if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
			return nil, fmt.Errorf("biz_content is not an AES ciphertext")
		}
		fr.Biz, fr.Encrypted = string(cbcZeroIV(key, ct, false)), true
	default:
		return nil, fmt.Errorf("encrypt_type %q", query.Get("encrypt_type"))
	}
	return fr, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cbcZeroIV is AES-CBC with a zero IV and PKCS#7 padding, written apart
// from internal/aescbc. Decryption returns nil for bad padding.
func cbcZeroIV(key, data []byte, encrypt bool) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a fixed test key
	}
	iv := make([]byte, aes.BlockSize)
	if encrypt {
		pad := aes.BlockSize - len(data)%aes.BlockSize
		buf := append(append([]byte{}, data...), bytes.Repeat([]byte{byte(pad)}, pad)...)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
		return buf
	}
	buf := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, data)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize || !bytes.Equal(buf[len(buf)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil
	}
	return buf[:len(buf)-pad]
}
