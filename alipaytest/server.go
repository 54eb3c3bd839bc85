package alipaytest

import (
	"context"
	crand "crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/isvkit/alipay"
)

// gatewayPath is the path of the gateway URL.
const gatewayPath = "/gateway.do"

// Server is a running fake gateway on a loopback address. Build it with
// [NewServer] and stop it with [Server.Close].
type Server struct {
	// URL is the gateway URL, e.g. "http://127.0.0.1:41234/gateway.do",
	// for alipay.WithGatewayURL.
	URL string

	srv          *httptest.Server
	cfg          config // read-only after NewServer
	alipayKey    *rsa.PrivateKey
	alipayPubPEM []byte
	notifyHTTP   *http.Client
	stop         chan struct{} // closed by Close
	closeOnce    sync.Once
	wg           sync.WaitGroup // notification deliveries and automatic audits

	mu         sync.Mutex
	closed     bool
	apps       map[string]*rsa.PublicKey
	merchants  map[string]*merchant // by mini-program app id
	grants     map[string]*grant    // by app_auth_token
	refreshes  map[string]*grant    // by app_refresh_token
	codes      map[string]*authCode // by app_auth_code
	grantSeq   int
	faults     []*Fault
	rng        *rand.Rand     // draws of rate-based faults
	requests   []Request      // the last cfg.logLimit
	reqTotal   int            // requests recorded since the start
	reqDropped int            // of which no longer kept
	reqCounts  map[string]int // by method, since the start
	notifyURL  string
	notes      []*note
	lastNote   *note
	seq        int
	pending    int           // deliveries in progress
	idle       chan struct{} // closed when pending drops to 0
	timers     map[*time.Timer]struct{}
	onDelay    func() // test hook: called when a FaultDelay wait starts

	panicMu       sync.Mutex // guards the fields below; never held with s.mu taken after it
	panics        []*PanicError
	panicsDropped int
	unreported    *PanicError // not yet reported through an answer
}

// NewServer starts a fake gateway on a loopback address. Without options
// it knows one ISV app, [DefaultAppID] (keys: [Server.AppPrivateKeyPEM]),
// and one merchant, [DefaultMerchantToken] → [DefaultMerchantAppID].
//
// It returns an error, and starts nothing, when an option is invalid or no
// loopback port can be opened; unlike httptest.NewServer it never panics.
// Stop the server with [Server.Close].
func NewServer(opts ...Option) (*Server, error) {
	cfg := config{
		clock: time.Now, window: DefaultTimestampWindow, maxBody: DefaultMaxBodyBytes,
		apps: map[string]*rsa.PublicKey{}, notifyAttempts: DefaultNotifyAttempts,
		notifyBackoff: DefaultNotifyBackoff, readTimeout: DefaultReadTimeout, faultSeed: 1,
		authCodeTTL: DefaultAuthCodeTTL, refreshGrace: DefaultRefreshGrace, logLimit: DefaultLogLimit,
	}
	var err error
	if cfg.categories, err = newCategoryTable(DefaultCategories()); err != nil {
		return nil, fmt.Errorf("alipaytest: NewServer: default categories: %v", err)
	}
	appPub, err := parsePublicKey([]byte(testAppPublicKeyPEM))
	if err != nil {
		return nil, fmt.Errorf("alipaytest: NewServer: embedded app key: %v", err)
	}
	cfg.apps[DefaultAppID] = appPub
	if cfg.alipayKey, err = parsePrivateKey([]byte(testAlipayPrivateKeyPEM)); err != nil {
		return nil, fmt.Errorf("alipaytest: NewServer: embedded Alipay key: %v", err)
	}
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("alipaytest: NewServer: option %d: nil option", i)
		}
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("alipaytest: NewServer: option %d: %w", i, err)
		}
	}
	ln, err := listenLoopback()
	if err != nil {
		return nil, fmt.Errorf("alipaytest: NewServer: %w", err)
	}
	s := &Server{
		cfg: cfg, alipayKey: cfg.alipayKey, alipayPubPEM: []byte(testAlipayPublicKeyPEM),
		stop: make(chan struct{}), apps: cfg.apps, merchants: map[string]*merchant{},
		reqCounts: map[string]int{}, grants: map[string]*grant{}, refreshes: map[string]*grant{}, codes: map[string]*authCode{},
		notifyURL: cfg.notifyURL, timers: map[*time.Timer]struct{}{},
		rng: rand.New(rand.NewPCG(cfg.faultSeed, faultSeedStream)),
	}
	if cfg.alipayKeySet {
		s.alipayPubPEM = publicKeyPEM(&cfg.alipayKey.PublicKey)
	}
	for _, m := range append([]Merchant{defaultMerchant()}, cfg.merchants...) {
		s.register(m)
	}
	s.notifyHTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	mux := http.NewServeMux()
	mux.HandleFunc(gatewayPath, s.serveGateway)
	// httptest.NewServer panics when it cannot listen; this shape is what
	// httptest.NewUnstartedServer builds, with a listener opened here.
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{
		Handler: mux,
		// A client that stalls in its headers or body cannot hold a
		// connection (and Close) for longer than this.
		ReadHeaderTimeout: s.cfg.readTimeout, ReadTimeout: s.cfg.readTimeout,
	}}
	s.srv.Start()
	s.URL = s.srv.URL + gatewayPath
	if cfg.tb != nil {
		cfg.tb.Cleanup(s.Close)
	}
	return s, nil
}

// listenLoopback opens a TCP port on the IPv4 loopback, else the IPv6 one.
func listenLoopback() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err == nil {
		return ln, nil
	}
	ln, err6 := net.Listen("tcp6", "[::1]:0")
	if err6 != nil {
		return nil, fmt.Errorf("cannot listen on a loopback port: %v; %v", err, err6)
	}
	return ln, nil
}

// Close stops the server: pending automatic audits are dropped, slow
// answers end, notification retries stop, and Close waits for all of them.
// Requests in progress get [CloseGrace] to finish; then their connections
// are closed, so a client that sent half a body cannot hold Close. It is
// safe to call more than once, and on a nil *Server (what a failed
// [NewServer] returns), where it does nothing.
func (s *Server) Close() {
	if s == nil {
		return
	}
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for t := range s.timers {
			if t.Stop() { // it will not fire: its callback will not call Done
				s.wg.Done()
			}
		}
		s.timers = nil
		s.mu.Unlock()
		close(s.stop)
		ctx, cancel := context.WithTimeout(context.Background(), CloseGrace)
		if s.srv.Config.Shutdown(ctx) != nil {
			s.srv.Config.Close() // cut the connections still active
		}
		cancel()
		s.srv.Close()
		s.wg.Wait()
		s.notifyHTTP.CloseIdleConnections()
	})
}

// AppID returns the ISV app id the server knows by default, [DefaultAppID].
func (s *Server) AppID() string { return DefaultAppID }

// NewClient returns a client of the root package for [DefaultAppID], wired
// to this server: its gateway URL, the PUBLIC TEST app private key, the
// server's Alipay public key, and, when the server has [WithAppAESKey] for
// DefaultAppID, alipay.WithAESKey with that key (as a real app's console
// key is configured on both sides: its calls are then encrypted). opts are
// applied after those, so they can override any of them. A client without
// content encryption, to test the server's refusal of an unencrypted
// aes.set say, is built with alipay.NewClient from the server's URL and
// keys.
func (s *Server) NewClient(opts ...alipay.Option) (*alipay.Client, error) {
	base := []alipay.Option{
		alipay.WithGatewayURL(s.URL),
		alipay.WithPrivateKey(s.AppPrivateKeyPEM()),
		alipay.WithAlipayPublicKey(s.AlipayPublicKeyPEM()),
	}
	if k := s.cfg.appAESKeys[DefaultAppID]; k != nil {
		base = append(base, alipay.WithAESKey(base64.StdEncoding.EncodeToString(k)))
	}
	return alipay.NewClient(DefaultAppID, append(base, opts...)...)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := crand.Read(b); err != nil { // crypto/rand does not fail on supported platforms
		return fmt.Sprintf("%0*x", 2*n, time.Now().UnixNano())
	}
	return hex.EncodeToString(b)
}
