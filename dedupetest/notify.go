package dedupetest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/require"
)

// Identity of the app the suite's notifications are sent to.
const (
	testAppID   = "2021000000000001"
	testGateway = "http://127.0.0.1:1/gateway.do" // never called
	fieldMethod = "alipay.open.app.api.field.changed"
)

// notifier plays Alipay: it signs notifications with its own key and builds
// clients of the app that verify them.
type notifier struct {
	key    *rsa.PrivateKey
	keyPEM []byte // PKCS#8 PEM of key, also used as the app's private key
	pubPEM []byte // PKIX PEM of key's public half: the "Alipay public key"
}

// newNotifier generates an RSA-2048 key pair for the run.
func newNotifier(t *testing.T) *notifier {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	return &notifier{
		key:    key,
		keyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}),
		pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}
}

// client builds a client of the test app that verifies this notifier's
// signatures. Every call builds a new one: two calls stand for two replicas.
func (n *notifier) client(t *testing.T) *alipay.Client {
	t.Helper()
	c, err := alipay.NewClient(testAppID,
		alipay.WithPrivateKey(n.keyPEM),
		alipay.WithAlipayPublicKey(n.pubPEM),
		alipay.WithGatewayURL(testGateway))
	require.NoError(t, err)
	return c
}

// handler builds a new client and its notification handler over store.
func (n *notifier) handler(t *testing.T, store alipay.DedupeStore, fn func(context.Context, *alipay.Notification) error, opts ...alipay.NotifyOption) http.Handler {
	t.Helper()
	return n.client(t).NotifyHandler(fn, append([]alipay.NotifyOption{alipay.WithDedupeStore(store)}, opts...)...)
}

// notification returns the signed form of a field.changed message with
// notify_id id, sent now.
func (n *notifier) notification(t *testing.T, id string) url.Values {
	t.Helper()
	form := url.Values{
		"notify_id":     {id},
		"utc_timestamp": {strconv.FormatInt(time.Now().UnixMilli(), 10)},
		"msg_method":    {fieldMethod},
		"app_id":        {testAppID},
		"version":       {"1.1"},
		"charset":       {"UTF-8"},
		"sign_type":     {"RSA2"},
		"biz_content":   {`{"api_name":"getPhoneNumber","field_name":"mobile","status":"AGREE","reason":""}`},
	}
	digest := sha256.Sum256(v1Content(form))
	sig, err := rsa.SignPKCS1v15(rand.Reader, n.key, crypto.SHA256, digest[:])
	require.NoError(t, err)
	form.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return form
}

// v1Content is the V1 string to verify (protocol.md §8.2), written here
// independently of the SDK: every parameter but sign and sign_type, sorted
// by key, k=v joined by '&', empty values kept.
func v1Content(form url.Values) []byte {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "sign" && k != "sign_type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(form.Get(k))
	}
	return []byte(b.String())
}

// deliver POSTs form to h as Alipay does and returns the acknowledgement
// body ("success" or "fail").
func deliver(h http.Handler, form url.Values) string {
	req := httptest.NewRequest(http.MethodPost, "/alipay/notify", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return strings.TrimSpace(rec.Body.String())
}
