package alipay

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Environment variables read by [LoadEnv].
const (
	EnvAppID          = "ALIPAY_APP_ID"          // the app id (required)
	EnvGatewayURL     = "ALIPAY_GATEWAY_URL"     // the gateway; unset: ProductionGateway
	EnvAppPrivateKey  = "ALIPAY_APP_PRIVATE_KEY" // the app private key; or …_FILE, a path
	EnvAlipayKey      = "ALIPAY_PUBLIC_KEY"      // Alipay's public key; or …_FILE
	EnvAppCert        = "ALIPAY_APP_CERT"        // certificate mode: the app certificate; or …_FILE
	EnvAlipayCert     = "ALIPAY_PUBLIC_CERT"     // certificate mode: Alipay's certificate; or …_FILE
	EnvAlipayRootCert = "ALIPAY_ROOT_CERT"       // certificate mode: Alipay's root certificates; or …_FILE
	EnvAESKey         = "ALIPAY_AES_KEY"         // the app's AES key (接口内容加密), optional; or …_FILE
	EnvAppAuthToken   = "ALIPAY_APP_AUTH_TOKEN"  // a merchant's app_auth_token, optional
)

// Env is a configuration read from the ALIPAY_* environment variables by
// [LoadEnv]. Keys and certificates are given inline (PEM or bare Base64)
// in NAME, or as a path in NAME_FILE, never both; a file is read when the
// client is built, by the SDK's With…File options (a regular file of at
// most 1 MiB). An Env prints without its secrets.
type Env struct {
	// AppID is ALIPAY_APP_ID.
	AppID string
	// GatewayURL is ALIPAY_GATEWAY_URL; empty means ProductionGateway.
	GatewayURL string
	// AppAuthToken is ALIPAY_APP_AUTH_TOKEN, for a tool acting for one
	// merchant (zero when unset); a service takes tokens from its
	// registry ([Client.ForMerchant]).
	AppAuthToken Secret

	privateKey, alipayKey, appCert, alipayCert, rootCert, aesKey envValue
}

// envValue is one key or certificate variable: inline, or a path.
type envValue struct {
	name   string // the variable, e.g. ALIPAY_APP_PRIVATE_KEY
	inline Secret
	path   string
}

func (v envValue) set() bool { return !v.inline.IsZero() || v.path != "" }

// describe names the variable without its value, and its path unless the
// path looks like a key (see shownPath).
func (v envValue) describe() string {
	switch {
	case v.path != "":
		return v.name + "_FILE=" + shownPath(v.path)
	case !v.inline.IsZero():
		return v.name + "=" + redacted
	}
	return v.name + " unset"
}

// Format prints e without a key, a token, a path that looks like a key (a
// key pasted into a …_FILE variable) or a gateway URL with a password,
// whatever the verb.
func (e Env) Format(f fmt.State, _ rune) {
	gw := e.GatewayURL
	if strings.Contains(gw, "@") {
		gw = describeURL(gw)
	}
	_, _ = fmt.Fprintf(f, "alipay.Env{AppID:%s GatewayURL:%s AppAuthToken:%v", e.AppID, gw, e.AppAuthToken)
	for _, v := range []envValue{e.privateKey, e.alipayKey, e.appCert, e.alipayCert, e.rootCert, e.aesKey} {
		_, _ = fmt.Fprintf(f, " %s", v.describe())
	}
	_, _ = fmt.Fprint(f, "}")
}

// option is the client option for the value, inline or from its file.
func (v envValue) option(inline func([]byte) Option, file func(string) Option) Option {
	if v.path != "" {
		return file(v.path)
	}
	return inline([]byte(v.inline.Reveal()))
}

// LoadEnv reads the configuration from the environment through getenv
// (os.Getenv; nil means os.Getenv):
//
//	ALIPAY_APP_ID               the app id (required)
//	ALIPAY_GATEWAY_URL          the gateway (default: production)
//	ALIPAY_APP_PRIVATE_KEY      the app private key (PEM or Base64), or
//	ALIPAY_APP_PRIVATE_KEY_FILE a file holding it
//	ALIPAY_PUBLIC_KEY           Alipay's public key (PEM or Base64), or
//	ALIPAY_PUBLIC_KEY_FILE      a file holding it; or, in certificate mode,
//	ALIPAY_APP_CERT_FILE        the app certificate (appCertPublicKey_<appid>.crt),
//	ALIPAY_PUBLIC_CERT_FILE     Alipay's certificate (alipayCertPublicKey_RSA2.crt),
//	ALIPAY_ROOT_CERT_FILE       Alipay's root certificates (alipayRootCert.crt)
//	                            (each also inline, without _FILE)
//	ALIPAY_AES_KEY              the app's AES key, optional (or _FILE)
//	ALIPAY_APP_AUTH_TOKEN       a merchant's app_auth_token, optional
//
// Surrounding blanks are ignored; a blank variable is unset. It refuses a
// key given both inline and as a file, a …_FILE variable holding a key
// instead of a path, and an inline variable holding a path. Errors name
// the variable, never its value. Whether the keys a use needs are set is
// checked by [Env.NewClient] and [Env.NewNotifyVerifier].
func LoadEnv(getenv func(string) string) (*Env, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	e := &Env{AppID: get(EnvAppID), GatewayURL: get(EnvGatewayURL), AppAuthToken: NewSecret(get(EnvAppAuthToken))}
	if e.AppID == "" {
		return nil, errors.New("alipay: LoadEnv: " + EnvAppID + " is not set")
	}
	for _, v := range []struct {
		dst  *envValue
		name string
	}{
		{&e.privateKey, EnvAppPrivateKey}, {&e.alipayKey, EnvAlipayKey}, {&e.appCert, EnvAppCert},
		{&e.alipayCert, EnvAlipayCert}, {&e.rootCert, EnvAlipayRootCert}, {&e.aesKey, EnvAESKey},
	} {
		val, err := readEnvValue(get, v.name)
		if err != nil {
			return nil, err
		}
		*v.dst = val
	}
	certs := e.appCert.set() || e.alipayCert.set() || e.rootCert.set()
	switch {
	case certs && e.alipayKey.set():
		return nil, fmt.Errorf("alipay: LoadEnv: set %s or the certificate-mode variables (%s…), not both", EnvAlipayKey, EnvAppCert)
	case certs && !(e.appCert.set() && e.alipayCert.set() && e.rootCert.set()):
		return nil, fmt.Errorf("alipay: LoadEnv: certificate mode needs %s, %s and %s (each inline or _FILE)", EnvAppCert, EnvAlipayCert, EnvAlipayRootCert)
	}
	return e, nil
}

// readEnvValue reads NAME and NAME_FILE.
func readEnvValue(get func(string) string, name string) (envValue, error) {
	v := envValue{name: name, path: get(name + "_FILE")}
	inline := get(name)
	switch {
	case inline != "" && v.path != "":
		return v, fmt.Errorf("alipay: LoadEnv: set %s or %s_FILE, not both", name, name)
	case strings.Contains(v.path, "-----BEGIN") || strings.ContainsAny(v.path, "\n\r") || len(v.path) > 4096:
		return v, fmt.Errorf("alipay: LoadEnv: %s_FILE holds what looks like a key or certificate, not a path: give it in %s", name, name)
	case inline != "" && !strings.Contains(inline, "-----BEGIN") && strings.Contains(inline, "."):
		// Base64 and PEM bodies have no '.', file names do.
		return v, fmt.Errorf("alipay: LoadEnv: %s holds what looks like a file path, not a key: give the path in %s_FILE", name, name)
	}
	v.inline = NewSecret(inline)
	return v, nil
}

// Options returns the client options the environment describes: the
// gateway, the app private key, Alipay's key (or the three certificates)
// and the AES key, when set. It returns an error naming the variables when
// the app private key or Alipay's key is missing.
func (e *Env) Options() ([]Option, error) {
	if !e.privateKey.set() {
		return nil, fmt.Errorf("alipay: LoadEnv: set %s or %s_FILE", EnvAppPrivateKey, EnvAppPrivateKey)
	}
	opts := []Option{e.privateKey.option(WithPrivateKey, WithPrivateKeyFile)}
	verify, err := e.verifyOptions()
	if err != nil {
		return nil, err
	}
	return append(opts, verify...), nil
}

// verifyOptions are the options that verify Alipay's answers and
// notifications: the gateway, Alipay's key or certificates, the AES key.
func (e *Env) verifyOptions() ([]Option, error) {
	var opts []Option
	if e.GatewayURL != "" {
		opts = append(opts, WithGatewayURL(e.GatewayURL))
	}
	switch {
	case e.alipayCert.set():
		opts = append(opts, e.appCert.option(WithAppCert, WithAppCertFile),
			e.alipayCert.option(WithAlipayCert, WithAlipayCertFile),
			e.rootCert.option(WithAlipayRootCert, WithAlipayRootCertFile))
	case e.alipayKey.set():
		opts = append(opts, e.alipayKey.option(WithAlipayPublicKey, WithAlipayPublicKeyFile))
	default:
		return nil, fmt.Errorf("alipay: LoadEnv: set %s or %s_FILE (or, in certificate mode, %s_FILE, %s_FILE and %s_FILE)",
			EnvAlipayKey, EnvAlipayKey, EnvAppCert, EnvAlipayCert, EnvAlipayRootCert)
	}
	if e.aesKey.set() {
		opts = append(opts, func(c *config) error {
			key := e.aesKey.inline.Reveal()
			if e.aesKey.path != "" {
				b, err := readKeyFile(EnvAESKey+"_FILE", e.aesKey.path)
				if err != nil {
					return err
				}
				key = strings.TrimSpace(string(b))
			}
			return WithAESKey(key)(c)
		})
	}
	return opts, nil
}

// NewClient builds the client the environment describes, with extra
// options applied last (WithLogger, WithObserver, …). The client acts as
// the app; for ALIPAY_APP_AUTH_TOKEN derive one with
// c.WithAppAuthToken(e.AppAuthToken.Reveal()).
func (e *Env) NewClient(extra ...Option) (*Client, error) {
	opts, err := e.Options()
	if err != nil {
		return nil, err
	}
	return NewClient(e.AppID, append(opts, extra...)...)
}

// NewNotifyVerifier builds a notification verifier from the environment:
// the app id and Alipay's key (or certificates). It needs no app private
// key, and ignores one that is set.
func (e *Env) NewNotifyVerifier(extra ...Option) (*NotifyVerifier, error) {
	opts, err := e.verifyOptions()
	if err != nil {
		return nil, err
	}
	return NewNotifyVerifier(e.AppID, append(opts, extra...)...)
}
