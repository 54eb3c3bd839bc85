package alipay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/isvkit/alipay/internal/certsn"
	"github.com/isvkit/alipay/internal/jsonnode"
)

// Certificate mode (公钥证书模式): requests carry app_cert_sn and
// alipay_root_cert_sn; each response names the Alipay certificate that
// signed it in alipay_cert_sn. This file selects the key for an SN and,
// with WithCertRotation, downloads and checks rotated Alipay certificates;
// cert_load.go loads the three certificate files.

// methodAlipayCertDownload downloads an Alipay public-key certificate by SN.
const methodAlipayCertDownload = "alipay.open.app.alipaycert.download"

// Bounds of automatic rotation: an attacker who can alter responses chooses
// the SNs, so failed downloads are remembered and limited.
const (
	certRetryAfter      = time.Minute      // a failed SN is not downloaded again sooner
	maxCertDownloads    = 16               // remembered failures plus downloads in flight
	certDownloadTimeout = 30 * time.Second // bound of one download, whoever waits for it
)

// certMode is the certificate-mode state shared by every client derived
// from one NewClient. The first group of fields never changes; the cache
// below mu is the only mutable state, and mu is never held across a
// network call.
type certMode struct {
	appSN      string
	rootSN     string
	alipaySN   string
	alipayKey  *rsa.PublicKey
	alipayCert *x509.Certificate // the configured one; rotation keeps its subject and issuer
	roots      *x509.CertPool
	rotation   bool

	mu       sync.Mutex
	rotated  map[string]*rsa.PublicKey // accepted downloads by SN
	inflight map[string]*certFlight    // downloads under way by SN
	failed   map[string]failedDownload // recent failures by SN
}

// certFlight is one download that concurrent callers share.
type certFlight struct {
	done   chan struct{} // closed when key or fail is set
	joined int           // callers that waited on it (guarded by certMode.mu)
	key    *rsa.PublicKey
	fail   *certFailure
}

// failedDownload remembers a failure until a retry is allowed.
type failedDownload struct {
	until time.Time
	fail  *certFailure
}

// certFailure is why no trusted key was found for an SN. It becomes a
// *VerifyError for each caller, with the caller's method.
type certFailure struct {
	step  VerifyStep // StepUnknownCertSN, StepCertNotTrusted or StepCertExpired
	cause string     // detail for the error text; never key material
}

// errorFor returns the failure as the error of a call to method.
func (f *certFailure) errorFor(method, sn string) error {
	ve := &VerifyError{Method: method, Step: f.step, CertSN: sn}
	if f.cause == "" {
		return ve
	}
	return fmt.Errorf("%w: %s", ve, f.cause)
}

// lookup returns the key of a known SN: the configured certificate's or an
// accepted rotated one's.
func (m *certMode) lookup(sn string) *rsa.PublicKey {
	if sn == m.alipaySN {
		return m.alipayKey
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rotated[sn]
}

// keys returns the configured key followed by the accepted rotated keys in
// SN order.
func (m *certMode) keys() []*rsa.PublicKey {
	m.mu.Lock()
	defer m.mu.Unlock()
	sns := make([]string, 0, len(m.rotated))
	for sn := range m.rotated {
		sns = append(sns, sn)
	}
	sort.Strings(sns)
	keys := make([]*rsa.PublicKey, 0, len(sns)+1)
	keys = append(keys, m.alipayKey)
	for _, sn := range sns {
		keys = append(keys, m.rotated[sn])
	}
	return keys
}

// validSN reports whether sn has the form of a certificate SN (32 lowercase
// hex digits); anything else is never downloaded.
func validSN(sn string) bool {
	if len(sn) != 32 {
		return false
	}
	for i := 0; i < len(sn); i++ {
		if c := sn[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// refuse returns the failure that stops a new download of sn at now, or
// nil. It is called with m.mu held.
func (m *certMode) refuse(sn string, now time.Time) *certFailure {
	if f, ok := m.failed[sn]; ok {
		if now.Before(f.until) {
			return &certFailure{step: f.fail.step, cause: f.fail.cause + " (remembered; no new download before " + f.until.Format(time.RFC3339) + ")"}
		}
		delete(m.failed, sn)
	}
	if len(m.failed)+len(m.inflight) >= maxCertDownloads {
		for k, f := range m.failed {
			if !now.Before(f.until) {
				delete(m.failed, k)
			}
		}
		if len(m.failed)+len(m.inflight) >= maxCertDownloads {
			return &certFailure{step: StepUnknownCertSN, cause: "too many failed or pending certificate downloads; not downloading"}
		}
	}
	return nil
}

// verifyLeaf decides whether a downloaded certificate may verify responses
// signed under sn: it must be Alipay's signing certificate named sn, with
// the configured one's subject and issuer, valid at now, chaining to the
// configured root bundle (see certsn.VerifyLeaf), and hold an RSA key of at
// least 2048 bits.
func (m *certMode) verifyLeaf(certs []*certsn.Cert, sn string, now time.Time) (*rsa.PublicKey, *certFailure) {
	leaf, err := certsn.VerifyLeaf(certs, sn, m.alipayCert, m.roots, now)
	if errors.Is(err, certsn.ErrExpired) {
		return nil, &certFailure{step: StepCertExpired, cause: "downloaded " + err.Error()}
	}
	if err != nil {
		return nil, &certFailure{step: StepCertNotTrusted, cause: "downloaded " + err.Error()}
	}
	key, err := checkPublicKey("downloaded certificate", leaf.PublicKey)
	if err != nil {
		return nil, &certFailure{step: StepCertNotTrusted, cause: err.Error()}
	}
	return key, nil
}

// certKey returns the Alipay key that must have signed a response naming
// sn, in certificate mode: the configured certificate's, an accepted
// rotated one's, or — with rotation on — one downloaded and checked now.
func (c *Client) certKey(ctx context.Context, method, sn string) (*rsa.PublicKey, error) {
	m := c.core.certs
	if sn == "" {
		return nil, &VerifyError{Method: method, Step: StepMissingCertSN}
	}
	if key := m.lookup(sn); key != nil {
		return key, nil
	}
	unknown := &certFailure{step: StepUnknownCertSN}
	switch {
	case !m.rotation:
		unknown.cause = "not the configured Alipay certificate " + m.alipaySN +
			": install the new alipayCertPublicKey_RSA2.crt, or enable WithCertRotation"
	case !validSN(sn):
		unknown.cause = "not a certificate SN (32 lowercase hex digits): not downloaded"
	default:
		return c.rotate(ctx, method, sn)
	}
	return nil, unknown.errorFor(method, sn)
}

// rotate waits for the one download of sn, starting it if needed. The
// download runs in its own goroutine, detached from the cancellation of the
// ctx that started it and bounded by certDownloadTimeout, so that a caller
// giving up never fails the others; each caller stops waiting when its own
// ctx ends.
func (c *Client) rotate(ctx context.Context, method, sn string) (*rsa.PublicKey, error) {
	m := c.core.certs
	m.mu.Lock()
	if key := m.rotated[sn]; key != nil {
		m.mu.Unlock()
		return key, nil
	}
	f := m.inflight[sn]
	if f == nil {
		if fail := m.refuse(sn, c.core.now()); fail != nil {
			m.mu.Unlock()
			return nil, fail.errorFor(method, sn)
		}
		f = &certFlight{done: make(chan struct{})}
		m.inflight[sn] = f
		go c.download(ctx, sn, f)
	}
	f.joined++
	m.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("alipay: %s: waiting for the download of Alipay certificate %s: %w", method, sn, ctx.Err())
	}
	if f.fail != nil {
		return nil, f.fail.errorFor(method, sn)
	}
	return f.key, nil
}

// download runs one certificate download and publishes its result.
func (c *Client) download(ctx context.Context, sn string, f *certFlight) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), certDownloadTimeout)
	defer cancel()
	key, fail := c.fetchCert(ctx, sn)
	m := c.core.certs
	m.mu.Lock()
	delete(m.inflight, sn)
	if fail == nil {
		m.rotated[sn] = key
	} else {
		m.failed[sn] = failedDownload{until: c.core.now().Add(certRetryAfter), fail: fail}
	}
	f.key, f.fail = key, fail
	m.mu.Unlock()
	close(f.done)
	if fail == nil {
		c.core.logger.LogAttrs(ctx, slog.LevelInfo, "alipay: accepted a rotated Alipay certificate",
			slog.String("alipay_cert_sn", sn), slog.String("app_id", c.core.appID))
	}
}

// fetchCert calls alipay.open.app.alipaycert.download for sn as the ISV's
// own app (no app_auth_token, biz_content never encrypted) and checks the
// answer.
//
// The download's own response may be signed with the very certificate it
// carries, so it cannot go through readResponse, whose key lookup would ask
// for the same download again. The Java SDK parses it without verifying and
// relies on the chain check. This client is stricter: it takes the
// certificate from the unverified node, accepts it only after
// certMode.verifyLeaf (right SN, valid now, chains to the configured roots,
// RSA ≥ 2048), and then requires the response to verify — with that
// certificate's key when the response names sn or no SN, or with an already
// known key when it names one. Nothing else is taken from the response.
func (c *Client) fetchCert(ctx context.Context, sn string) (*rsa.PublicKey, *certFailure) {
	const method = methodAlipayCertDownload
	isv := &Client{core: c.core}
	biz, err := marshalJSON(struct {
		SN string `json:"alipay_cert_sn"`
	}{sn})
	if err != nil {
		return nil, &certFailure{step: StepUnknownCertSN, cause: "certificate download: " + err.Error()}
	}
	var (
		key  *rsa.PublicKey
		fail *certFailure
	)
	read := func(_ context.Context, status int, h http.Header, body []byte) (*verifiedBody, error) {
		trace := traceHeader(h)
		if key, fail = isv.readCertDownload(sn, status, body, trace); fail != nil {
			return nil, fail.errorFor(method, sn)
		}
		return &verifiedBody{traceID: trace}, nil
	}
	if _, err := isv.do(ctx, &request{method: method, biz: biz, read: read}); err != nil && fail == nil {
		return nil, &certFailure{step: StepUnknownCertSN, cause: "certificate download failed: " + err.Error()}
	}
	return key, fail
}

// readCertDownload checks the answer of alipay.open.app.alipaycert.download
// for sn (see fetchCert for the policy) and returns the accepted key.
func (c *Client) readCertDownload(sn string, status int, body []byte, trace string) (*rsa.PublicKey, *certFailure) {
	unknown := func(cause string) *certFailure {
		return &certFailure{step: StepUnknownCertSN, cause: "certificate download: " + cause}
	}
	if status != http.StatusOK {
		return nil, unknown(fmt.Sprintf("HTTP %d", status))
	}
	env, err := jsonnode.Extract(body, jsonnode.NodeName(methodAlipayCertDownload))
	if err != nil {
		return nil, unknown(err.Error())
	}
	if env.Encrypted {
		return nil, unknown("unexpected encrypted response")
	}
	var node struct {
		nodeStatus
		Content string `json:"alipay_cert_content"`
	}
	if err := json.Unmarshal(env.Value, &node); err != nil {
		return nil, unknown("undecodable response")
	}
	if node.Code != "10000" || node.SubCode != "" {
		return nil, unknown(c.statusError(methodAlipayCertDownload, node.nodeStatus, trace, false).Error())
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(node.Content), ""))
	if err != nil || len(der) == 0 {
		return nil, unknown("alipay_cert_content is not Base64")
	}
	certs, err := certsn.Parse(der)
	if err != nil {
		return nil, unknown("alipay_cert_content: " + err.Error())
	}
	m := c.core.certs
	key, fail := m.verifyLeaf(certs, sn, c.core.now())
	if fail != nil {
		return nil, fail
	}
	signer := key
	if env.CertSN != "" && env.CertSN != sn {
		if signer = m.lookup(env.CertSN); signer == nil {
			return nil, &certFailure{step: StepCertNotTrusted, cause: "certificate download response is signed under another unknown certificate " + env.CertSN}
		}
	}
	sig, ok := decodeSign(env.Sign)
	if !env.SignOK || !ok {
		return nil, &certFailure{step: StepCertNotTrusted, cause: "certificate download response is unsigned or its sign is malformed"}
	}
	content, ok := verifyNode(signer, env.Value, sig)
	if !ok {
		return nil, &certFailure{step: StepCertNotTrusted, cause: "certificate download response: bad signature"}
	}
	var verified struct {
		Content string `json:"alipay_cert_content"`
	}
	if json.Unmarshal(content, &verified) != nil || verified.Content != node.Content {
		return nil, &certFailure{step: StepCertNotTrusted, cause: "certificate download response: the signed content differs"}
	}
	return key, nil
}
