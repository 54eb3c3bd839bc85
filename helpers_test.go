package alipay

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"
)

// Test identities. The keys are the public test keys of testdata/keys.
const (
	testAppID = "2021000000000001"
	testToken = "202405BBexampleAppAuthToken0001"
	testGW    = "https://gw.test/gateway.do"
)

// fixedTime is the instant of the request KATs: 2024-05-20 13:14:15 UTC+8.
var fixedTime = time.Unix(1716182055, 0)

func fixedClock() time.Time { return fixedTime }

// readTestdata returns a file of testdata/.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// loadKAT decodes testdata/kat/<name>.json's cases into a slice of T.
func loadKAT[T any](t testing.TB, name string) []T {
	t.Helper()
	var f struct {
		Cases []T `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(readTestdata(t, filepath.Join("kat", name+".json")), &f))
	require.NotEmpty(t, f.Cases)
	return f.Cases
}

// baseOptions are the options of a test client: the KAT app key, the test
// Alipay public key, a fixed clock, and the test gateway.
func baseOptions(t testing.TB) []Option {
	return []Option{
		WithPrivateKey(readTestdata(t, "keys/app_private_pkcs8.pem")),
		WithAlipayPublicKey(readTestdata(t, "keys/alipay_test_public.pem")),
		WithClock(fixedClock),
		WithGatewayURL(testGW),
	}
}

// newMockClient returns a client whose transport is a private httpmock
// transport: unmatched requests fail with NoResponderFound, so no test can
// reach the network.
func newMockClient(t testing.TB, opts ...Option) (*Client, *httpmock.MockTransport) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	all := append(baseOptions(t), WithHTTPClient(&http.Client{Transport: mock}))
	c, err := NewClient(testAppID, append(all, opts...)...)
	require.NoError(t, err)
	return c, mock
}
