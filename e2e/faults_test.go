package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestE2EFaults injects each fault of the fake gateway and checks the
// client error it maps to.
func TestE2EFaults(t *testing.T) {
	t.Parallel()
	verifyStep := func(step alipay.VerifyStep) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			require.ErrorIs(t, err, alipay.ErrSignature)
			var ve *alipay.VerifyError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, step, ve.Step)
			var apiErr *alipay.APIError
			assert.False(t, errors.As(err, &apiErr), "nothing of an unverifiable body is trusted")
		}
	}
	timedOut := func(t *testing.T, err error) {
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var apiErr *alipay.APIError
		assert.False(t, errors.As(err, &apiErr))
		assert.NotContains(t, err.Error(), "sign=")
	}
	for _, tc := range []struct {
		name    string
		fault   alipaytest.Fault
		check   func(*testing.T, error)
		timeout time.Duration   // of the call's ctx, when set
		opts    []alipay.Option // of the client, for the faulty call only
	}{
		{name: "tampered signature", fault: alipaytest.Fault{Kind: alipaytest.FaultTamperSignature}, check: verifyStep(alipay.StepBadSignature)},
		{name: "missing signature", fault: alipaytest.Fault{Kind: alipaytest.FaultMissingSignature}, check: verifyStep(alipay.StepMissingSign)},
		{name: "duplicate node", fault: alipaytest.Fault{Kind: alipaytest.FaultDuplicateNode}, check: verifyStep(alipay.StepDuplicateNode)},
		{name: "HTTP 503", fault: alipaytest.Fault{Kind: alipaytest.FaultHTTPStatus, Status: http.StatusServiceUnavailable},
			check: func(t *testing.T, err error) {
				require.ErrorIs(t, err, alipay.ErrBadResponse)
				var re *alipay.ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, http.StatusServiceUnavailable, re.StatusCode)
				assert.Equal(t, alipay.ReasonHTTPStatus, re.Reason)
				assert.False(t, errors.Is(err, alipay.ErrSignature))
			}},
		{name: "HTTP default 502", fault: alipaytest.Fault{Kind: alipaytest.FaultHTTPStatus},
			check: func(t *testing.T, err error) {
				var re *alipay.ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, http.StatusBadGateway, re.StatusCode)
			}},
		{name: "unsigned 20000", fault: alipaytest.Fault{Kind: alipaytest.FaultUnsignedError},
			check: func(t *testing.T, err error) {
				var apiErr *alipay.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, "20000", apiErr.Code)
				assert.False(t, apiErr.Verified)
				assert.True(t, alipay.IsTemporary(err))
				assert.Contains(t, err.Error(), "[unverified]")
			}},
		{name: "disconnect", fault: alipaytest.Fault{Kind: alipaytest.FaultDisconnect},
			check: func(t *testing.T, err error) {
				require.Error(t, err)
				var apiErr *alipay.APIError
				assert.False(t, errors.As(err, &apiErr))
				assert.False(t, errors.Is(err, alipay.ErrSignature))
				assert.False(t, errors.Is(err, alipay.ErrBadResponse))
				assert.Contains(t, err.Error(), "alipay: alipay.open.app.api.query")
				assert.NotContains(t, err.Error(), "sign=")
			}},
		{name: "slow answer, ctx deadline", fault: alipaytest.Fault{Kind: alipaytest.FaultDelay, Delay: time.Hour},
			check: timedOut, timeout: 50 * time.Millisecond},
		{name: "slow answer, client timeout", fault: alipaytest.Fault{Kind: alipaytest.FaultDelay, Delay: time.Hour},
			check: timedOut, opts: []alipay.Option{alipay.WithTimeout(50 * time.Millisecond)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := e2eServer(t)
			ctx := e2eCtx(t)
			m := e2eClient(t, s).WithAppAuthToken(alipaytest.DefaultMerchantToken)
			// One attempt: the error each fault maps to; retries are retry_test.go's.
			faulty := e2eClient(t, s, append(tc.opts, alipay.WithRetry(1, 0, 0))...).WithAppAuthToken(alipaytest.DefaultMerchantToken)
			callCtx := ctx
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				callCtx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			f := tc.fault
			f.Count = 1
			s.InjectFault(f)
			res, err := faulty.AppAPIQuery(callCtx, nil)
			assert.Nil(t, res)
			tc.check(t, err)
			assert.NotContains(t, err.Error(), alipaytest.DefaultMerchantToken)
			s.ClearFaults() // a slow answer's fault may be unused if the call ended first
			_, err = m.AppAPIQuery(ctx, nil)
			require.NoError(t, err, "the client is fine after the fault")
		})
	}
}

// TestE2EFaultScope: a fault limited to one method leaves the others alone.
func TestE2EFaultScope(t *testing.T) {
	t.Parallel()
	s := e2eServer(t)
	ctx := e2eCtx(t)
	m := e2eClient(t, s).WithAppAuthToken(alipaytest.DefaultMerchantToken)
	s.InjectFault(alipaytest.Fault{Method: e2eFieldQuery, Kind: alipaytest.FaultTamperSignature})
	_, err := m.AppAPIQuery(ctx, nil)
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		_, err = m.AppAPIFieldQuery(ctx, nil)
		require.ErrorIs(t, err, alipay.ErrSignature, "Count 0: every matching request")
	}
	s.ClearFaults()
	_, err = m.AppAPIFieldQuery(ctx, nil)
	require.NoError(t, err)
}

// TestE2ETimedOutButApplied: a call whose ctx ends while the gateway is
// slow to answer returns the ctx's error, yet the application was
// recorded; resending meets AUTH_API_FIELD_IS_AUDITING, and field.query
// shows the record, as the documentation of AppAPIFieldApply says.
func TestE2ETimedOutButApplied(t *testing.T) {
	t.Parallel()
	recorded := make(chan struct{})
	var once sync.Once
	// The audit hook runs once an application is stored; it leaves it under
	// audit, and tells the test when to give up on the slow answer.
	s := e2eServer(t, alipaytest.WithAutoAudit(0, func(alipaytest.Application) (alipaytest.Status, string) {
		once.Do(func() { close(recorded) })
		return alipaytest.StatusAudit, ""
	}))
	ctx := e2eCtx(t)
	m := e2eClient(t, s).WithAppAuthToken(alipaytest.DefaultMerchantToken)
	s.InjectFault(alipaytest.Fault{Method: "alipay.open.app.api.field.apply", Kind: alipaytest.FaultDelay, Delay: time.Hour, Count: 1})
	short, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-recorded:
		case <-short.Done():
		}
		cancel()
	}()
	req := func() *alipay.AppAPIFieldApplyRequest {
		return e2eApply(alipay.FileFromBytes("login.png", e2ePNG(t, 8, 8)))
	}
	_, err := m.AppAPIFieldApply(short, req())
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, s.Applications(alipaytest.DefaultMerchantToken), 1, "applied although the call was cancelled")

	_, err = m.AppAPIFieldApply(ctx, req())
	var apiErr *alipay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, alipay.SubCodeAuthAPIFieldIsAuditing, apiErr.SubCode)
	recs, err := m.AppAPIFieldQuery(ctx, nil)
	require.NoError(t, err)
	require.Len(t, recs.Records(e2eAPI, e2eField, e2ePkg), 1)
	assert.Equal(t, alipay.AuthFieldStatusAudit, recs.Records(e2eAPI, e2eField, e2ePkg)[0].Status)

	// A tampered answer to an application that was recorded: the client
	// refuses the answer, the gateway still has the application.
	require.NoError(t, s.Approve(alipaytest.DefaultMerchantToken, e2eAPI, e2eField, e2ePkg))
	other := alipay.AuthFieldApply{APIName: "alipay.user.info.share", FieldName: "mobile", PackageCode: "20201019201538211864",
		SceneCode: "6", QPSAnswer: "10", CustomerAnswer: "有"}
	s.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultTamperSignature, Count: 1})
	_, err = m.AppAPIFieldApply(ctx, &alipay.AppAPIFieldApplyRequest{AuthFieldApply: other,
		Pictures: []alipay.File{alipay.FileFromBytes("login.png", e2ePNG(t, 8, 8))}})
	require.ErrorIs(t, err, alipay.ErrSignature)
	assert.Len(t, s.Applications(alipaytest.DefaultMerchantToken), 2)
	// A transient poll failure does not end a wait.
	s.InjectFault(alipaytest.Fault{Method: e2eFieldQuery, Kind: alipaytest.FaultHTTPStatus, Count: 1})
	rec, err := m.WaitFieldAudit(ctx, &alipay.WaitFieldAuditRequest{
		APIName: e2eAPI, FieldName: e2eField, PackageCode: e2ePkg, Interval: time.Millisecond,
	})
	require.NoError(t, err)
	assert.Equal(t, alipay.AuthFieldStatusAgree, rec.Status)
	assert.Equal(t, http.StatusBadGateway, s.Requests()[len(s.Requests())-2].HTTPStatus)
}

// TestE2EManyMerchants: one client serves 50 merchants at once; each
// merchant's answers are its own.
func TestE2EManyMerchants(t *testing.T) {
	t.Parallel()
	const merchants = 50
	token := func(i int) string { return fmt.Sprintf("202405BBmerchantToken%04d", i) }
	appID := func(i int) string { return fmt.Sprintf("20210040000%05d", i) }
	name := func(i int) string { return fmt.Sprintf("商户小程序%03d", i) }
	opts := []alipaytest.Option{alipaytest.WithAutoAudit(0, nil)}
	for i := 0; i < merchants; i++ {
		opts = append(opts, alipaytest.WithMerchant(alipaytest.Merchant{
			Token: token(i), AppID: appID(i),
			BaseInfo: alipaytest.BaseInfo{AppName: name(i), ServicePhone: "13110101010", MiniCategoryIDs: "XS1011_XS2089"},
		}))
	}
	s := e2eServer(t, opts...)
	ctx := e2eCtx(t)
	c := e2eClient(t, s)
	pic := e2ePNG(t, 8, 8)

	var wg sync.WaitGroup
	errs := make(chan error, merchants)
	for i := 0; i < merchants; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- merchantRun(ctx, c.WithAppAuthToken(token(i)), name(i), appID(i), pic)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, 3*merchants, s.RequestCount(""))
	for i := 0; i < merchants; i++ {
		apps := s.Applications(token(i))
		if assert.Len(t, apps, 1) {
			assert.Equal(t, appID(i), apps[0].UserAppID)
		}
	}
}

// merchantRun makes one merchant's calls and checks that every answer is
// about that merchant.
func merchantRun(ctx context.Context, m *alipay.Client, name, appID string, pic []byte) error {
	info, err := m.MiniBaseInfoQuery(ctx, nil)
	if err != nil {
		return err
	}
	if info.AppName != name {
		return fmt.Errorf("%s got the base info of %s", name, info.AppName)
	}
	if _, err := m.AppAPIFieldApply(ctx, e2eApply(alipay.FileFromBytes("login.png", pic))); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	recs, err := m.AppAPIFieldQuery(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	got := recs.AuthFieldResponse.Records
	if len(got) != 1 || got[0].UserAppID != appID {
		return fmt.Errorf("%s (%s) got records %+v", name, appID, got)
	}
	return nil
}
