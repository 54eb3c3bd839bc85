package envconfig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// env returns a Getenv over m.
func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

// TestFileVariablesReadBounded: ALIPAY_*_FILE naming a huge file (or
// anything that is not a regular file) fails with the option's error
// instead of being read into memory.
func TestFileVariablesReadBounded(t *testing.T) {
	huge := filepath.Join(t.TempDir(), "huge.pem")
	require.NoError(t, os.WriteFile(huge, make([]byte, 2<<20), 0o600))
	key, err := filepath.Abs("../../testdata/keys/app_private_pkcs8.pem")
	require.NoError(t, err)
	pub, err := filepath.Abs("../../testdata/keys/alipay_test_public.pem")
	require.NoError(t, err)
	for name, vars := range map[string]map[string]string{
		"WithPrivateKeyFile":      {"ALIPAY_APP_PRIVATE_KEY_FILE": huge, "ALIPAY_PUBLIC_KEY_FILE": pub},
		"WithAlipayPublicKeyFile": {"ALIPAY_APP_PRIVATE_KEY_FILE": key, "ALIPAY_PUBLIC_KEY_FILE": huge},
	} {
		vars["ALIPAY_APP_ID"] = "2021000000000001"
		_, err := Client(env(vars))
		assert.EqualError(t, err, "alipay: "+name+": "+huge+" is larger than 1 MiB: not a key or certificate file")
		vars["ALIPAY_APP_PRIVATE_KEY_FILE"], vars["ALIPAY_PUBLIC_KEY_FILE"] = key, pub
		c, err := Client(env(vars))
		require.NoError(t, err)
		assert.Equal(t, "2021000000000001", c.AppID())
	}
}
