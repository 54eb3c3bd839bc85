// Package envconfig builds clients from the ALIPAY_* environment variables
// shared by the example programs.
package envconfig

import (
	"errors"
	"fmt"

	"github.com/isvkit/alipay"
)

// Getenv is os.Getenv, or a map lookup in tests.
type Getenv func(string) string

// Client builds the client the environment describes:
//
//	ALIPAY_GATEWAY_URL          gateway (default: production)
//	ALIPAY_APP_ID               the ISV app id
//	ALIPAY_APP_PRIVATE_KEY      app private key (PEM or Base64), or
//	ALIPAY_APP_PRIVATE_KEY_FILE a file holding it
//	ALIPAY_PUBLIC_KEY           Alipay public key (PEM or Base64), or
//	ALIPAY_PUBLIC_KEY_FILE      a file holding it
//
// extra options come last. A *_FILE variable is read by the SDK's With…File
// option: a regular file of at most 1 MiB, refused otherwise (a FIFO or
// /dev/zero fails at once). The client acts as the ISV app; use
// MerchantClient for ALIPAY_APP_AUTH_TOKEN.
func Client(getenv Getenv, extra ...alipay.Option) (*alipay.Client, error) {
	appID := getenv("ALIPAY_APP_ID")
	if appID == "" {
		return nil, errors.New("ALIPAY_APP_ID is not set")
	}
	var opts []alipay.Option
	if u := getenv("ALIPAY_GATEWAY_URL"); u != "" {
		opts = append(opts, alipay.WithGatewayURL(u))
	}
	key, err := KeyOption(getenv, "ALIPAY_APP_PRIVATE_KEY", alipay.WithPrivateKey, alipay.WithPrivateKeyFile)
	if err != nil {
		return nil, err
	}
	pub, err := KeyOption(getenv, "ALIPAY_PUBLIC_KEY", alipay.WithAlipayPublicKey, alipay.WithAlipayPublicKeyFile)
	if err != nil {
		return nil, err
	}
	opts = append(opts, key, pub)
	return alipay.NewClient(appID, append(opts, extra...)...)
}

// MerchantClient is Client acting for ALIPAY_APP_AUTH_TOKEN when it is set.
func MerchantClient(getenv Getenv, extra ...alipay.Option) (*alipay.Client, error) {
	c, err := Client(getenv, extra...)
	if err != nil {
		return nil, err
	}
	if tok := getenv("ALIPAY_APP_AUTH_TOKEN"); tok != "" {
		c = c.WithAppAuthToken(tok)
	}
	return c, nil
}

// KeyOption reads NAME (the key itself) or NAME_FILE (a path to it, read
// bounded by the file option).
func KeyOption(getenv Getenv, name string, inline func([]byte) alipay.Option, file func(string) alipay.Option) (alipay.Option, error) {
	if v := getenv(name); v != "" {
		return inline([]byte(v)), nil
	}
	if p := getenv(name + "_FILE"); p != "" {
		return file(p), nil
	}
	return nil, fmt.Errorf("set %s or %s_FILE", name, name)
}
