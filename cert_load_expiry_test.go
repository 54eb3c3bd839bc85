package alipay

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newCertClientLogged builds a certificate-mode client with alipayCert as
// the configured Alipay certificate at now, and returns its log records.
func newCertClientLogged(t *testing.T, alipayCert string, now time.Time) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	_, err := NewClient(testAppID,
		WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"),
		WithAppCertFile("testdata/certs/app_cert_public_key.crt"),
		WithAlipayCertFile(alipayCert),
		WithAlipayRootCertFile("testdata/certs/test_root_bundle.crt"),
		WithClock(func() time.Time { return now }),
		WithLogger(slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err, "an expired configured certificate is still accepted")
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		records = append(records, r)
	}
	return records
}

// TestExpiredAlipayCertWarnedAtConstruction: an operator who never
// replaced an expired alipayCertPublicKey_RSA2.crt is told, once, at
// NewClient: a Warn record names the SN and NotAfter. The client still
// builds and uses the certificate, as the Java SDK does.
func TestExpiredAlipayCertWarnedAtConstruction(t *testing.T) {
	const expiredSN = "640e38624767c4cfcf5ce8d377681b2f"
	records := newCertClientLogged(t, "testdata/certs/alipay_cert_public_key_rsa2_expired.crt", certTestTime)
	require.Len(t, records, 1)
	r := records[0]
	assert.Equal(t, "WARN", r["level"])
	assert.Contains(t, r["msg"], "has expired")
	assert.Equal(t, expiredSN, r["alipay_cert_sn"])
	assert.Equal(t, "2021-01-01T00:00:00Z", r["not_after"])
}

// TestAlipayCertExpiringSoonWarned: within 30 days of NotAfter (1 January
// 2047 for the test certificate) the warning says it expires soon; before
// that, nothing is logged.
func TestAlipayCertExpiringSoonWarned(t *testing.T) {
	notAfter := time.Date(2047, 1, 1, 0, 0, 0, 0, time.UTC)
	records := newCertClientLogged(t, "testdata/certs/alipay_cert_public_key_rsa2.crt", notAfter.Add(-10*24*time.Hour))
	require.Len(t, records, 1)
	assert.Equal(t, "WARN", records[0]["level"])
	assert.Contains(t, records[0]["msg"], "expires within 30 days")
	assert.Equal(t, snAlipay, records[0]["alipay_cert_sn"])
	assert.Equal(t, "2047-01-01T00:00:00Z", records[0]["not_after"])

	assert.Empty(t, newCertClientLogged(t, "testdata/certs/alipay_cert_public_key_rsa2.crt", notAfter.Add(-31*24*time.Hour)))
	c, _ := newCertMockClient(t, WithClock(func() time.Time { return notAfter.Add(time.Hour) })) // no logger: silent
	assert.NotNil(t, c)
}
