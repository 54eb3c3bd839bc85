package merchanttest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/require"
)

// Methods the fake gateway knows.
const (
	methodToken = "alipay.open.auth.token.app"
	methodQuery = "alipay.open.auth.token.app.query"
	methodInfo  = "alipay.open.mini.baseinfo.query" // stands for any call on behalf of a merchant
	isvAppID    = "2021000000000001"
)

// refreshDelay widens the window in which concurrent refreshes overlap.
const refreshDelay = 200 * time.Millisecond

// gateway is a loopback fake of the Alipay gateway for the token calls:
// it issues tokens, refreshes them (the old token dies at once), answers
// 20001 for a dead token, and counts refreshes. It does not check request
// signatures (the alipay package's own tests do); it signs its answers.
type gateway struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	appPEM []byte // the ISV app's private key
	pubPEM []byte // Alipay's public key

	mu        sync.Mutex
	tokens    map[string]string // live app_auth_token → merchant app id
	refreshes map[string]string // live refresh token → merchant app id
	calls     map[string]int    // refresh calls per merchant app id
	dead      map[string]bool   // merchants whose refresh tokens are refused
}

func newGateway(t *testing.T) *gateway {
	t.Helper()
	alipayKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(&alipayKey.PublicKey)
	require.NoError(t, err)
	priv, err := x509.MarshalPKCS8PrivateKey(appKey)
	require.NoError(t, err)
	g := &gateway{
		key:    alipayKey,
		appPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}),
		pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		tokens: map[string]string{}, refreshes: map[string]string{}, calls: map[string]int{}, dead: map[string]bool{},
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

// client builds a new ISV client of the gateway: each call stands for
// another replica (its own single-flight group).
func (g *gateway) client(t *testing.T) *alipay.Client {
	t.Helper()
	c, err := alipay.NewClient(isvAppID, alipay.WithPrivateKey(g.appPEM), alipay.WithAlipayPublicKey(g.pubPEM),
		alipay.WithGatewayURL(g.srv.URL+"/gateway.do"), alipay.WithTimeout(10*time.Second))
	require.NoError(t, err)
	return c
}

// authorize issues a live token pair for appID, as a merchant's
// authorization does.
func (g *gateway) authorize(t *testing.T, appID string) alipay.AppToken {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.issue(appID)
}

// issue makes a new live pair for appID; g.mu is held.
func (g *gateway) issue(appID string) alipay.AppToken {
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok, ref := "tok"+hex.EncodeToString(b[:8]), "ref"+hex.EncodeToString(b[8:])
	g.tokens[tok], g.refreshes[ref] = appID, appID
	return alipay.AppToken{AppAuthToken: alipay.NewSecret(tok), AppRefreshToken: alipay.NewSecret(ref),
		AuthAppID: appID, UserID: "2088000000000001"}
}

// revoke kills every token of appID (the merchant cancelled).
func (g *gateway) revoke(appID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for tok, id := range g.tokens {
		if id == appID {
			delete(g.tokens, tok)
		}
	}
}

// refuseRefresh makes every refresh of appID fail with REFRESH_TOKEN_NOT_VALID.
func (g *gateway) refuseRefresh(appID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dead[appID] = true
}

// refreshCalls returns how many refresh calls appID got.
func (g *gateway) refreshCalls(appID string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[appID]
}

// live reports whether token works.
func (g *gateway) live(token string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.tokens[token]
	return ok
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	method := r.URL.Query().Get("method")
	var biz map[string]string
	if s := r.PostForm.Get("biz_content"); s != "" {
		_ = json.Unmarshal([]byte(s), &biz)
	}
	token := r.PostForm.Get("app_auth_token")
	var node string
	switch method {
	case methodToken:
		node = g.refresh(token, biz)
	case methodQuery:
		status := "invalid"
		if g.live(biz["app_auth_token"]) {
			status = "valid"
		}
		node = `{"code":"10000","msg":"Success","status":"` + status + `"}`
	default:
		if !g.live(token) {
			node = `{"code":"20001","msg":"Insufficient Token Permissions","sub_code":"aop.invalid-app-auth-token","sub_msg":"无效的应用授权令牌"}`
		} else {
			node = `{"code":"10000","msg":"Success","app_name":"merchanttest"}`
		}
	}
	digest := sha256.Sum256([]byte(node))
	sig, err := rsa.SignPKCS1v15(nil, g.key, crypto.SHA256, digest[:])
	if err != nil {
		http.Error(w, "sign", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	_, _ = w.Write([]byte(`{"` + strings.ReplaceAll(method, ".", "_") + `_response":` + node +
		`,"sign":"` + base64.StdEncoding.EncodeToString(sig) + `"}`))
}

// refresh answers a token.app refresh: the old pair dies, a new one is
// issued, after refreshDelay.
func (g *gateway) refresh(token string, biz map[string]string) string {
	if token != "" || biz["grant_type"] != "refresh_token" {
		return `{"code":"40004","msg":"Business Failed","sub_code":"GRANT_TYPE_INVALID","sub_msg":"merchanttest refreshes only"}`
	}
	time.Sleep(refreshDelay)
	g.mu.Lock()
	defer g.mu.Unlock()
	appID, ok := g.refreshes[biz["refresh_token"]]
	if ok {
		g.calls[appID]++
	}
	if !ok || g.dead[appID] {
		return `{"code":"40004","msg":"Business Failed","sub_code":"REFRESH_TOKEN_NOT_VALID","sub_msg":"刷新令牌无效"}`
	}
	delete(g.refreshes, biz["refresh_token"])
	for tok, id := range g.tokens {
		if id == appID {
			delete(g.tokens, tok)
		}
	}
	n := g.issue(appID)
	return `{"code":"10000","msg":"Success","tokens":[{"app_auth_token":"` + n.AppAuthToken.Reveal() +
		`","app_refresh_token":"` + n.AppRefreshToken.Reveal() + `","auth_app_id":"` + appID +
		`","user_id":"2088000000000001","expires_in":31536000,"re_expires_in":"32140800"}]}`
}
