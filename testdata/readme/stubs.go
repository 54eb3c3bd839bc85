// Package readmecheck holds the README's Go snippets, compiled by
// TestREADMESnippetsCompile (docs_test.go) after these declarations: the
// free variables and functions the snippets assume, as a reader's program
// would have them.
package readmecheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/isvkit/alipay/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// Every import is used by some snippet; these keep the file compiling
// whichever snippets change.
var (
	_ = context.Background
	_ = errors.New
	_ = fmt.Println
	_ = io.ReadAll
	_ = log.Fatal
	_ = slog.Info
	_ = http.NewServeMux
	_ = httptest.NewServer
	_ = os.Getenv
	_ = testing.Short
	_ = time.Second
	_ = alipaytest.NewServer
	_ = redisstore.New
	_ = redis.NewClient
	_ = require.NoError
)

var (
	ctx           = context.Background()
	logger        = slog.Default()
	isv           *alipay.Client
	m             *alipay.Client
	store         alipay.MerchantStore
	rdb           *redis.Client
	mux           = http.NewServeMux()
	appID         = "2021000000000000"
	merchantAppID = "2021004000000002"
	isvUserID     = "user-42"
	stateKey      []byte
	sealingKey    []byte
	addr          = "127.0.0.1:6379"
	routes        alipay.NotifyRoutes
	req           *alipay.AppAPISceneQueryRequest
	shot          io.Reader
	shotSize      int64
	hub           alipay.FieldChangedHub
)

func use(any)                                                                  {}
func sendToMerchant(pageURL string)                                            {}
func alert()                                                                   {}
func askMerchantToAuthoriseAgain(merchantAppID string) error                   { return nil }
func linkAccount(isvUserID string, merchants []*alipay.Merchant)               {}
func linkByOutBizNo(ctx context.Context, outBizNo, merchantAppID string) error { return nil }
func notifyAccountManager(ctx context.Context, merchantAppID string, confirmed bool) error {
	return nil
}
func miniAppIDOf(r *http.Request) string                   { return "" }
func saveContact(ctx context.Context, mobile string) error { return nil }
func onAudit(ctx context.Context, n *alipay.Notification, ev *alipay.AppAPIFieldChanged) error {
	return nil
}

type auditStore struct{}

func (auditStore) Save(ctx context.Context, appID, api, field string, status alipay.AuthFieldStatus, reason string) error {
	return nil
}

var audits auditStore
