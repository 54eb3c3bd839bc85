// Package alipay is a client for the Alipay Open Platform (支付宝开放平台)
// gateway, built for service providers (ISVs, 服务商) who apply for users'
// sensitive information fields on behalf of merchants' mini-programs.
//
// One [Client] per process signs every request with RSA2 and verifies every
// response; [Client.ForMerchant] derives a cheap client that acts for one
// merchant, with the merchant's token from the registry ([MerchantStore]),
// where [Client.AuthRedirectHandler] and the authorization notify
// ([Client.NewNotifyHandler]) put it when the merchant authorised the ISV
// (each err is checked in real code; the README has the whole story):
//
//	isv, err := alipay.NewClient(appID,
//		alipay.WithPrivateKeyFile("app_private.pem"),
//		alipay.WithAlipayPublicKeyFile("alipay_public.pem"))
//	m, err := isv.ForMerchant(ctx, store, merchantAppID) // alipay.IsReauthorizationNeeded(err): authorise again
//	info, err := m.MiniBaseInfoQuery(ctx, nil)          // category
//	apis, err := m.AppAPIQuery(ctx, nil)                // what can be applied for
//	phone, ok := apis.Find("getPhoneNumber", "mobile")
//	scenes, err := m.AppAPISceneQuery(ctx, &alipay.AppAPISceneQueryRequest{APIName: phone.APIName, FieldName: phone.FieldName})
//	res, err := m.ApplyFieldOnce(ctx, &alipay.AppAPIFieldApplyRequest{AuthFieldApply: app, Pictures: []alipay.File{alipay.FileFromPath("login.png")}})
//	rec, err := m.WaitFieldAudit(ctx, &alipay.WaitFieldAuditRequest{APIName: phone.APIName, FieldName: phone.FieldName, PackageCode: phone.PackageCode, UserAppID: merchantAppID})
//
// A one-off tool holding a token itself derives the merchant's client with
// [Client.WithAppAuthToken].
//
// A success is returned only when its signature verified. Gateway failures
// are [*APIError]; signature problems unwrap to [ErrSignature]; requests
// refused before sending unwrap to [ErrInvalidRequest].
package alipay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Protocol constants sent with every request.
const (
	signTypeRSA2    = "RSA2"
	protoFormat     = "JSON"
	protoCharset    = "utf-8"
	protoVersion    = "1.0"
	formMediaType   = "application/x-www-form-urlencoded;charset=utf-8"
	maxResponse     = 10 << 20 // bytes of a response body read at most
	maxErrorSnippet = 512
	userAgent       = "isvkit-alipay-go/1"
)

// Client calls the Alipay gateway. It is immutable and safe for concurrent
// use by many goroutines and many merchants. Build one with [NewClient] and
// derive per-merchant clients with [Client.ForMerchant] (or
// [Client.WithAppAuthToken] from a token you hold).
type Client struct {
	core *core
	// token is the app_auth_token of the merchant this client acts for; nil
	// for the ISV's own client. It is a pointer so that fmt, which prints
	// the unexported fields of a struct holding a Client without calling
	// its String method, shows an address, never the token.
	token    *secret
	merchant bool // derived by WithAppAuthToken: the token must be non-empty
	// onError, when set, receives the final error of every call
	// (withErrorHook).
	onError func(ctx context.Context, err error)
}

// core is what every client derived from one NewClient shares. It is never
// written after NewClient returns.
type core struct {
	appID     string
	gateway   string // full gateway URL, no query
	key       *rsa.PrivateKey
	alipayKey *rsa.PublicKey
	http      *http.Client // every request, form or upload
	logger    *slog.Logger
	now       func() time.Time
	certs     *certMode // certificate mode (cert.go); nil in public-key mode
	// *coreSecrets holds the secrets, one pointer further: fmt prints a
	// struct's unexported fields without calling any method, and a verb
	// like %s unfolds a pointed-to struct one level (holder → Client →
	// core), never two. Keep every secret of core in coreSecrets; its
	// fields are promoted (c.core.aesKey).
	*coreSecrets
	timeout  time.Duration
	retry    retryPolicy
	observer Observer // nil: none
	sleep    func(ctx context.Context, d time.Duration) error
	flights  flightGroup  // merchant token refreshes in progress (refresh.go); has its own lock
	aesKeys  AESKeySource // merchant apps' AES keys for open data (opendata.go); nil when off
}

// coreSecrets are the secrets of a core (see core): never a plain field of
// core or Client.
type coreSecrets struct {
	aesKey secret // raw AES content-encryption key (aes.go); "" when off
}

// NewClient returns a client for the app appID (the ISV's own app id).
// The app private key and the Alipay public key are required: a client that
// cannot verify responses is never built (docs/wire.md#keys).
func NewClient(appID string, opts ...Option) (*Client, error) {
	if err := checkAppID(appID); err != nil {
		return nil, err
	}
	cfg := config{gateway: ProductionGateway, timeout: DefaultTimeout, clock: time.Now, retry: defaultRetry}
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("alipay: NewClient: option %d is nil", i)
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.privateKey == nil {
		return nil, errors.New("alipay: NewClient: no app private key: use WithPrivateKey or WithPrivateKeyFile")
	}
	certs, err := newCertMode(&cfg) // sets cfg.alipayKey in certificate mode
	if err != nil {
		return nil, err
	}
	if cfg.alipayKey == nil {
		return nil, errors.New("alipay: NewClient: no Alipay public key: use WithAlipayPublicKey or WithAlipayPublicKeyFile, or certificate mode (WithAppCert…, WithAlipayCert…, WithAlipayRootCert…); responses are always verified")
	}
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	timeout := cfg.timeout
	if !cfg.timeoutSet && hc.Timeout > 0 {
		timeout = hc.Timeout // the given client's timeout bounds the whole call, as before
	}
	hc.CheckRedirect = refuseRedirect
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(discardHandler{})
	}
	return &Client{core: &core{
		appID:       appID,
		gateway:     cfg.gateway,
		key:         cfg.privateKey,
		alipayKey:   cfg.alipayKey,
		http:        hc,
		logger:      logger,
		now:         cfg.clock,
		certs:       certs,
		coreSecrets: &coreSecrets{aesKey: cfg.aesKey},
		timeout:     timeout,
		retry:       cfg.retry,
		observer:    cfg.observer,
		sleep:       sleepCtx,
		aesKeys:     cfg.aesKeySource,
	}}, nil
}

// discardHandler is a slog.Handler that drops everything (slog.DiscardHandler
// needs Go 1.24).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }

// refuseRedirect is the CheckRedirect of every client: a redirect is never
// followed, so the token, the biz_content and uploaded files never reach a
// host other than the configured gateway. The 3xx answer itself becomes a
// *ResponseError (reason "redirect").
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// WithAppAuthToken returns a client that acts for the merchant who granted
// token (app_auth_token). It shares everything with c and costs one small
// allocation; c is unchanged (an error hook of c is not carried over: the
// new client acts for another merchant). An empty token makes every call fail before
// anything is sent, because silently acting as the ISV's own app is the
// dangerous outcome of a lookup bug.
func (c *Client) WithAppAuthToken(token string) *Client {
	d := &struct {
		c   Client
		tok secret
	}{tok: secret(token)} // one allocation for the client and its token
	d.c = Client{core: c.core, token: &d.tok, merchant: true}
	return &d.c
}

// withErrorHook returns a copy of c whose every call passes its final
// non-nil error to fn before returning it (on the calling goroutine, with
// the caller's ctx): the merchant registry marks a merchant "needs
// re-authorization" on a token error this way. A client derived from the
// copy with WithAppAuthToken acts for another merchant and has no hook.
func (c *Client) withErrorHook(fn func(ctx context.Context, err error)) *Client {
	cp := *c
	cp.onError = fn
	return &cp
}

// appAuthToken returns the merchant's token, "" for the ISV's own client.
func (c *Client) appAuthToken() secret {
	if c.token == nil {
		return ""
	}
	return *c.token
}

// AppID returns the app id the client signs as.
func (c *Client) AppID() string { return c.core.appID }

// String describes the client without secrets.
func (c Client) String() string {
	s := "alipay.Client{app_id=" + c.core.appID + " gateway=" + c.core.gateway
	if c.merchant {
		s += " merchant=" + c.appAuthToken().fingerprint()
	}
	return s + "}"
}

// GoString is String, so %#v reveals no secret either.
func (c Client) GoString() string { return c.String() }

// LogValue logs the client as its app id, gateway and merchant fingerprint.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("app_id", c.core.appID), slog.String("gateway", c.core.gateway),
		slog.String("merchant", c.appAuthToken().fingerprint()))
}

// Call invokes any gateway method that takes a biz_content (or nothing) and
// returns the verified JSON of its response node. bizContent is marshalled
// once, without HTML escaping, and those bytes are signed and sent; nil sends
// no biz_content. Failures are the same as for the typed methods.
func (c *Client) Call(ctx context.Context, method string, bizContent any) (json.RawMessage, error) {
	if method == "" {
		return nil, &ValidationError{Method: "Call", Field: "method", Problem: "empty method"}
	}
	var biz []byte
	if bizContent != nil {
		var err error
		if biz, err = marshalJSON(bizContent); err != nil {
			return nil, &ValidationError{Method: method, Field: "biz_content", Problem: err.Error()}
		}
	}
	safe := retrySafe(ctx) && !knownWrite(method)
	res, err := c.do(ctx, &request{method: method, biz: biz, retry: safe, write: !safe && !isReadMethod(method),
		sealed: encryptedOnly(method)})
	if err != nil {
		return nil, err
	}
	return res.body, nil
}

// marshalJSON marshals v once, without HTML escaping and without the
// trailing newline of json.Encoder: the bytes to sign and to send.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// signed is a request after signing: the URL (protocol params and sign in
// the query) and the business params for the body.
type signed struct {
	url  string
	body []param // app_auth_token, biz_content, flat text params; none empty
}

// sign builds and signs one request (docs/wire.md#signing). Protocol
// params go to the URL query, business params to the body
// (docs/wire.md#placement); empty params are neither
// signed nor sent, and a key given twice is refused. Its scratch space (the
// params to sort, the string to sign, the signature) lives on the stack for
// ordinary requests; what it returns is allocated once.
func (c *Client) sign(method string, bizContent []byte, text []param) (*signed, error) {
	token := c.appAuthToken()
	if c.merchant && token == "" {
		return nil, &ValidationError{Method: method, Field: "app_auth_token", Problem: "empty token given to WithAppAuthToken"}
	}
	extra, bizContent, err := c.core.modeParams(method, bizContent) // cert SNs; AES
	if err != nil {
		return nil, err
	}
	var protoBuf [10]param
	proto := append(append(protoBuf[:0],
		param{"app_id", c.core.appID}, param{"method", method}, param{"format", protoFormat},
		param{"charset", protoCharset}, param{"sign_type", signTypeRSA2},
		param{"timestamp", formatTimestamp(c.core.now())}, param{"version", protoVersion}), extra...)
	body := make([]param, 0, len(text)+2)
	if token != "" {
		body = append(body, param{"app_auth_token", string(token)})
	}
	if len(bizContent) > 0 {
		body = append(body, param{"biz_content", string(bizContent)})
	}
	for _, p := range text {
		if p.value != "" {
			body = append(body, p)
		}
	}
	var allBuf [16]param
	all := append(append(allBuf[:0], proto...), body...)
	var contentBuf [1024]byte
	content := appendSignContent(contentBuf[:0], all)
	for i := 1; i < len(all); i++ {
		if all[i].key == all[i-1].key {
			return nil, &ValidationError{Method: method, Field: all[i].key, Problem: "parameter given twice"}
		}
	}
	sig, err := signRSA2Raw(c.core.key, content)
	if err != nil {
		return nil, err
	}
	var sigBuf [512]byte // a 2048- or 3072-bit signature; larger ones grow it
	sig64 := base64.StdEncoding.AppendEncode(sigBuf[:0], sig)

	n := len(c.core.gateway) + len("?sign=") + queryEscapedLen(sig64)
	for _, p := range proto {
		n += len(p.key) + 2 + queryEscapedLen(p.value)
	}
	var u strings.Builder
	u.Grow(n)
	u.WriteString(c.core.gateway)
	u.WriteByte('?')
	for _, p := range proto {
		u.WriteString(p.key)
		u.WriteByte('=')
		writeQueryEscaped(&u, p.value)
		u.WriteByte('&')
	}
	u.WriteString("sign=")
	writeQueryEscaped(&u, sig64)
	return &signed{url: u.String(), body: body}, nil
}

// upload runs one call with files through the pipeline, after checking
// each file once (the pipeline then opens and measures them). Uploads are
// writes (field.apply, baseinfo.modify): never retried.
func (c *Client) upload(ctx context.Context, method string, text []param, files []uploadFile) (*verifiedBody, error) {
	for _, f := range files {
		if err := f.check(method); err != nil {
			return nil, err
		}
	}
	if files == nil {
		files = []uploadFile{}
	}
	return c.do(ctx, &request{method: method, text: text, files: files, write: true})
}

// callBound is how long one call may take: the client's timeout, or
// DefaultTimeout when it has none. Leases and detached contexts that must
// outlive a call (a token refresh, a redirect's code exchange) use it.
func (k *core) callBound() time.Duration {
	if k.timeout > 0 {
		return k.timeout
	}
	return DefaultTimeout
}
