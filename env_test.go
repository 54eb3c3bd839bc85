package alipay_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// envForGateway configures the fake gateway's app with inline keys, as a
// user would set real ones.
func envForGateway(gw *alipaytest.Server) map[string]string {
	return map[string]string{
		"ALIPAY_APP_ID":          alipaytest.DefaultAppID,
		"ALIPAY_GATEWAY_URL":     gw.URL,
		"ALIPAY_APP_PRIVATE_KEY": string(gw.AppPrivateKeyPEM()),
		"ALIPAY_PUBLIC_KEY":      string(gw.AlipayPublicKeyPEM()),
		"ALIPAY_APP_AUTH_TOKEN":  " " + alipaytest.DefaultMerchantToken + "\n", // blanks around are ignored
	}
}

// TestLoadEnvClient: the variables build a client that calls the gateway
// they name, for the merchant of ALIPAY_APP_AUTH_TOKEN; keys work inline
// and from files, and the AES key is used when set.
func TestLoadEnvClient(t *testing.T) {
	t.Parallel()
	const aesKey = "zM+/R8elr0D6ivjOyoUBuQ=="
	gw, err := alipaytest.NewServer(alipaytest.WithTB(t), alipaytest.WithAppAESKey(alipaytest.DefaultAppID, aesKey))
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	inline := envForGateway(gw)
	files := envForGateway(gw)
	files["ALIPAY_APP_PRIVATE_KEY_FILE"] = write("app.pem", files["ALIPAY_APP_PRIVATE_KEY"])
	files["ALIPAY_PUBLIC_KEY_FILE"] = write("alipay.pem", files["ALIPAY_PUBLIC_KEY"])
	files["ALIPAY_AES_KEY_FILE"] = write("aes.txt", aesKey+"\n")
	delete(files, "ALIPAY_APP_PRIVATE_KEY")
	delete(files, "ALIPAY_PUBLIC_KEY")
	withAES := envForGateway(gw)
	withAES["ALIPAY_AES_KEY"] = aesKey
	for name, vars := range map[string]map[string]string{"inline": inline, "files": files, "AES inline": withAES} {
		e, err := alipay.LoadEnv(envOf(vars))
		require.NoError(t, err, name)
		assert.Equal(t, alipaytest.DefaultMerchantToken, e.AppAuthToken.Reveal())
		c, err := e.NewClient(alipay.WithTimeout(time.Minute))
		require.NoError(t, err, name)
		assert.Equal(t, alipaytest.DefaultAppID, c.AppID())
		before := len(gw.Requests())
		_, err = c.WithAppAuthToken(e.AppAuthToken.Reveal()).AppAPISceneQuery(context.Background(),
			&alipay.AppAPISceneQueryRequest{APIName: "getPhoneNumber", FieldName: "mobile"}) // has a biz_content to encrypt
		require.NoError(t, err, name)
		encrypted := gw.Requests()[before].Params.Get("encrypt_type") == "AES"
		assert.Equal(t, vars["ALIPAY_AES_KEY"] != "" || vars["ALIPAY_AES_KEY_FILE"] != "", encrypted, name)
	}
}

// TestLoadEnvRefusals: what a user gets wrong is an error naming the
// variable, and no error quotes a key, a token or a path's content.
func TestLoadEnvRefusals(t *testing.T) {
	t.Parallel()
	gw, err := alipaytest.NewServer(alipaytest.WithTB(t))
	require.NoError(t, err)
	key := string(gw.AppPrivateKeyPEM())
	for name, tc := range map[string]struct {
		edit func(map[string]string)
		want string
		at   string // "load", "client" or "verifier"
	}{
		"no app id": {func(m map[string]string) { m["ALIPAY_APP_ID"] = "  " }, "ALIPAY_APP_ID is not set", "load"},
		"both":      {func(m map[string]string) { m["ALIPAY_APP_PRIVATE_KEY_FILE"] = "app.pem" }, "set ALIPAY_APP_PRIVATE_KEY or ALIPAY_APP_PRIVATE_KEY_FILE, not both", "load"},
		"key as path": {func(m map[string]string) {
			m["ALIPAY_PUBLIC_KEY_FILE"] = m["ALIPAY_PUBLIC_KEY"]
			delete(m, "ALIPAY_PUBLIC_KEY")
		}, "ALIPAY_PUBLIC_KEY_FILE holds what looks like a key", "load"},
		"path as key":    {func(m map[string]string) { m["ALIPAY_APP_PRIVATE_KEY"] = "keys/app_private.pem" }, "give the path in ALIPAY_APP_PRIVATE_KEY_FILE", "load"},
		"cert and key":   {func(m map[string]string) { m["ALIPAY_PUBLIC_CERT_FILE"] = "a.crt" }, "not both", "load"},
		"one cert":       {func(m map[string]string) { delete(m, "ALIPAY_PUBLIC_KEY"); m["ALIPAY_PUBLIC_CERT_FILE"] = "a.crt" }, "certificate mode needs", "load"},
		"no private key": {func(m map[string]string) { delete(m, "ALIPAY_APP_PRIVATE_KEY") }, "set ALIPAY_APP_PRIVATE_KEY or ALIPAY_APP_PRIVATE_KEY_FILE", "client"},
		"no alipay key":  {func(m map[string]string) { delete(m, "ALIPAY_PUBLIC_KEY") }, "set ALIPAY_PUBLIC_KEY or ALIPAY_PUBLIC_KEY_FILE", "client"},
		"verifier key":   {func(m map[string]string) { delete(m, "ALIPAY_PUBLIC_KEY") }, "set ALIPAY_PUBLIC_KEY", "verifier"},
		"bad key":        {func(m map[string]string) { m["ALIPAY_PUBLIC_KEY"] = "bm90IGEga2V5" }, "WithAlipayPublicKey", "client"},
		"bad URL":        {func(m map[string]string) { m["ALIPAY_GATEWAY_URL"] = "ftp://x" }, "WithGatewayURL", "client"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vars := envForGateway(gw)
			tc.edit(vars)
			e, err := alipay.LoadEnv(envOf(vars))
			if tc.at != "load" {
				require.NoError(t, err)
				if tc.at == "client" {
					_, err = e.NewClient()
				} else {
					_, err = e.NewNotifyVerifier()
				}
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			for _, secret := range []string{key, "MII", alipaytest.DefaultMerchantToken} {
				assert.NotContains(t, err.Error(), secret)
			}
		})
	}
}

// TestLoadEnvFilesReadBounded: a …_FILE naming a huge file (or anything
// that is not a regular file) fails with the option's error instead of
// being read into memory.
func TestLoadEnvFilesReadBounded(t *testing.T) {
	t.Parallel()
	huge := filepath.Join(t.TempDir(), "huge.pem")
	require.NoError(t, os.WriteFile(huge, make([]byte, 2<<20), 0o600))
	for name, vars := range map[string]map[string]string{
		"WithPrivateKeyFile":      {"ALIPAY_APP_PRIVATE_KEY_FILE": huge, "ALIPAY_PUBLIC_KEY_FILE": "testdata/keys/alipay_test_public.pem"},
		"WithAlipayPublicKeyFile": {"ALIPAY_APP_PRIVATE_KEY_FILE": "testdata/keys/app_private_pkcs8.pem", "ALIPAY_PUBLIC_KEY_FILE": huge},
		"ALIPAY_AES_KEY_FILE": {"ALIPAY_APP_PRIVATE_KEY_FILE": "testdata/keys/app_private_pkcs8.pem",
			"ALIPAY_PUBLIC_KEY_FILE": "testdata/keys/alipay_test_public.pem", "ALIPAY_AES_KEY_FILE": huge},
		"a directory": {"ALIPAY_APP_PRIVATE_KEY_FILE": t.TempDir(), "ALIPAY_PUBLIC_KEY_FILE": "testdata/keys/alipay_test_public.pem"},
	} {
		vars["ALIPAY_APP_ID"] = "2021000000000001"
		e, err := alipay.LoadEnv(envOf(vars))
		require.NoError(t, err, name)
		_, err = e.NewClient()
		require.Error(t, err, name)
		if strings.HasPrefix(name, "a ") {
			assert.Contains(t, err.Error(), "not a regular file", name)
			continue
		}
		assert.EqualError(t, err, "alipay: "+name+": "+huge+" is larger than 1 MiB: not a key or certificate file")
	}
}

// TestLoadEnvCertificateModeAndVerifier: the three certificates select
// certificate mode; a notification receiver needs no private key.
func TestLoadEnvCertificateModeAndVerifier(t *testing.T) {
	t.Parallel()
	certs := map[string]string{
		"ALIPAY_APP_ID":               "2021000000000001",
		"ALIPAY_APP_PRIVATE_KEY_FILE": "testdata/keys/app_private_pkcs8.pem",
		"ALIPAY_APP_CERT_FILE":        "testdata/certs/app_cert_public_key.crt",
		"ALIPAY_PUBLIC_CERT_FILE":     "testdata/certs/alipay_cert_public_key_rsa2.crt",
		"ALIPAY_ROOT_CERT_FILE":       "testdata/certs/test_root_bundle.crt",
	}
	e, err := alipay.LoadEnv(envOf(certs))
	require.NoError(t, err)
	_, err = e.NewClient()
	require.NoError(t, err)

	receiver := map[string]string{"ALIPAY_APP_ID": "2021000000000001", "ALIPAY_PUBLIC_KEY_FILE": "testdata/keys/alipay_test_public.pem"}
	e, err = alipay.LoadEnv(envOf(receiver))
	require.NoError(t, err)
	v, err := e.NewNotifyVerifier()
	require.NoError(t, err)
	assert.NotNil(t, v)
	_, err = e.NewClient()
	assert.ErrorContains(t, err, "ALIPAY_APP_PRIVATE_KEY")
}

// TestEnvPrintsNoSecret: an Env prints without its keys or token.
func TestEnvPrintsNoSecret(t *testing.T) {
	t.Parallel()
	gw, err := alipaytest.NewServer(alipaytest.WithTB(t))
	require.NoError(t, err)
	vars := envForGateway(gw)
	vars["ALIPAY_AES_KEY"] = "zM+/R8elr0D6ivjOyoUBuQ=="
	vars["ALIPAY_GATEWAY_URL"] = "https://proxyuser:hunter2pw@gw.example.com/gateway.do"
	e, err := alipay.LoadEnv(envOf(vars))
	require.NoError(t, err)
	shown := fmt.Sprintf("%v %+v %#v", e, e, *e)
	for _, s := range []string{"PRIVATE KEY", "MII", alipaytest.DefaultMerchantToken, "zM+/R8elr0D6ivjOyoUBuQ==", "hunter2pw"} {
		assert.NotContains(t, shown, s)
	}
}

// TestLoadEnvBareKeyInFileVariable: a key pasted into a …_FILE variable
// as bare Base64 (a form the key variables accept) is not quoted by the
// error that the missing file gives, nor is an AES key, nor by the Env
// printed.
func TestLoadEnvBareKeyInFileVariable(t *testing.T) {
	t.Parallel()
	gw, err := alipaytest.NewServer(alipaytest.WithTB(t))
	require.NoError(t, err)
	bare := func(pem []byte) string {
		var b strings.Builder
		for _, line := range strings.Split(string(pem), "\n") {
			if !strings.HasPrefix(line, "-----") {
				b.WriteString(strings.TrimSpace(line))
			}
		}
		return b.String()
	}
	const aesKey = "zM+/R8elr0D6ivjOyoUBuQ=="
	for name, tc := range map[string]struct{ variable, value string }{
		"private key": {"ALIPAY_APP_PRIVATE_KEY", bare(gw.AppPrivateKeyPEM())},
		"public key":  {"ALIPAY_PUBLIC_KEY", bare(gw.AlipayPublicKeyPEM())},
		"AES key":     {"ALIPAY_AES_KEY", aesKey},
	} {
		vars := envForGateway(gw)
		delete(vars, tc.variable)
		vars[tc.variable+"_FILE"] = tc.value
		e, err := alipay.LoadEnv(envOf(vars))
		require.NoError(t, err, name)
		assert.NotContains(t, fmt.Sprintf("%v %+v %#v", e, e, *e), tc.value[:16], name)
		_, err = e.NewClient()
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), tc.value[:16], name)
		assert.Contains(t, err.Error(), "not shown", name)
	}
}
