package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/require"
)

// One merchant's flow in the soak (soak_test.go), and what every test of
// this package uses: the ISV backend's server, a demo picture, a ctx, a
// clock.

// soakResult is how one merchant's flow ended.
type soakResult struct {
	appID  string
	status alipay.AuthFieldStatus
	step   string // where it failed
	err    error
}

// flow runs the whole flow for the merchant appID.
func (w *soakWorld) flow(appID string) soakResult {
	ctx, cancel := context.WithTimeout(context.Background(), soakFlowLimit)
	defer cancel()
	res := soakResult{appID: appID}
	fail := func(step string, err error) soakResult {
		res.step, res.err = step, err
		return res
	}
	updates := make(chan alipay.AuthFieldDTO, 4)
	w.mu.Lock()
	w.updates[appID] = updates
	w.mu.Unlock()

	if err := w.authorize(ctx, appID); err != nil {
		return fail("authorize", err)
	}
	m, err := w.isv.ForMerchant(ctx, w.store, appID)
	if err != nil {
		return fail("registry", err)
	}
	if err := w.again(ctx, "category", func() error { return soakCategory(ctx, m) }); err != nil {
		return fail("category", err)
	}
	apply := &alipay.AppAPIFieldApplyRequest{
		AuthFieldApply: alipay.AuthFieldApply{
			APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444", SceneCode: "14",
			QPSAnswer: "预计峰值 10 QPS", CustomerAnswer: "自有客服团队", Memo: "物流下单时填写联系手机号",
		},
		Pictures: []alipay.File{alipay.FileFromBytes("login.png", w.picture)},
	}
	if err := w.again(ctx, "apply", func() error {
		r, err := m.ApplyFieldOnce(ctx, apply)
		if err == nil {
			w.count(&w.applied, string(r.Outcome))
		}
		return err
	}); err != nil {
		return fail("apply", err)
	}
	var rec *alipay.AuthFieldDTO
	if err := w.again(ctx, "audit", func() (err error) {
		rec, err = m.WaitFieldAudit(ctx, &alipay.WaitFieldAuditRequest{
			APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444",
			UserAppID: appID, Interval: 200 * time.Millisecond, MaxInterval: 2 * time.Second, Updates: updates,
		})
		return err
	}); err != nil {
		return fail("audit", err)
	}
	res.status = rec.Status
	return res
}

// authorize plays the merchant authorising the ISV: Alipay posts the
// authorization notify, and the merchant's browser comes to the redirect
// URL (reloading it when the page fails, as a merchant would). Either way
// of delivering the token may fail under faults; the flow goes on when
// the registry holds the merchant.
func (w *soakWorld) authorize(ctx context.Context, appID string) error {
	state, err := w.states.Issue(appID)
	if err != nil {
		return err
	}
	code, err := w.gw.Authorize(appID)
	if err != nil {
		return err
	}
	u := w.app + "/authorized?" + url.Values{"app_auth_code": {code}, "state": {state}}.Encode()
	outcome := "failed"
	for try := 0; try < 3 && outcome == "failed"; try++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		res, err := w.browser.Do(req)
		if err != nil {
			continue
		}
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusOK && res.Header.Get("X-Already-Stored") != "":
			outcome = "ok, already stored by the notify"
		case res.StatusCode == http.StatusOK:
			outcome = "ok"
		}
	}
	w.count(&w.redirects, outcome)
	for { // the notify's token, when the redirect failed (or both)
		m, err := w.store.Get(ctx, appID)
		if err == nil && m.State == alipay.MerchantAuthorized {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("neither the redirect nor the notify stored the token: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// soakCategory gives the mini-program its category, looked up with
// category.query: a modify whose outcome is unknown is checked with
// baseinfo.query on the next try before it is sent again.
func soakCategory(ctx context.Context, m *alipay.Client) error {
	info, err := m.MiniBaseInfoQuery(ctx, nil)
	if err != nil || info.HasCategory("交通出行", "物流快递") {
		return err
	}
	cats, err := m.MiniCategoryQuery(ctx, &alipay.MiniCategoryQueryRequest{IsFilter: true})
	if err != nil {
		return err
	}
	path, err := cats.Tree().Find("交通出行", "物流快递")
	if err != nil {
		return err
	}
	_, err = m.MiniBaseInfoModify(ctx, &alipay.MiniBaseInfoModifyRequest{MiniCategoryIDs: alipay.MiniCategoryIDs(path)})
	return err
}

// again runs a step up to soakTries times, as a job runner would: every
// step looks before it writes (baseinfo.query before modify, field.query
// inside ApplyFieldOnce), so it may run again after any failure but a
// refusal (a request refused before sending, or a gateway answer that is
// final). The client itself retries only reads, and only transient
// failures (not a 4xx page, not a broken signature).
func (w *soakWorld) again(ctx context.Context, step string, fn func() error) error {
	var err error
	for try := 0; try < soakTries; try++ {
		if err = fn(); err == nil || ctx.Err() != nil || soakFinal(err) {
			return err
		}
		w.count(&w.retries, step)
		w.count(&w.retryCauses, soakCause(err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(100<<try) * time.Millisecond):
		}
	}
	return err
}

// soakFinal reports a refusal: trying again cannot change it.
func soakFinal(err error) bool {
	var apiErr *alipay.APIError
	return errors.Is(err, alipay.ErrInvalidRequest) || alipay.IsReauthorizationNeeded(err) ||
		(errors.As(err, &apiErr) && !alipay.IsTransient(err) && !errors.Is(err, alipay.ErrOutcomeUnknown))
}

func (w *soakWorld) count(m *map[string]int, key string) {
	w.mu.Lock()
	(*m)[key]++
	w.mu.Unlock()
}

func (w *soakWorld) snapshot(m *map[string]int) map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(*m))
	for k, v := range *m {
		out[k] = v
	}
	return out
}

// storyBackend serves handler as the ISV's backend on a loopback port,
// with the read timeouts a notification handler needs, until the test
// ends; it returns the base URL.
func storyBackend(t *testing.T, handler http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Config.ReadTimeout = 30 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// storyPNG returns a small real PNG: field.apply checks the format.
func storyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func storyCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// storyClock is a clock a test moves; a gateway and a client share it.
type storyClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *storyClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *storyClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
