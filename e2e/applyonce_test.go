package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const e2eFieldApply = "alipay.open.app.api.field.apply"

// onceSetup is a fake gateway whose audits never end by themselves, and a
// client acting for its default merchant.
func onceSetup(t *testing.T, opts ...alipay.Option) (*alipaytest.Server, *alipay.Client, context.Context) {
	t.Helper()
	s := e2eServer(t, alipaytest.WithAutoAudit(0, func(alipaytest.Application) (alipaytest.Status, string) {
		return alipaytest.StatusAudit, ""
	}))
	opts = append(opts, alipay.WithRetry(3, time.Millisecond, time.Millisecond))
	return s, e2eClient(t, s, opts...).WithAppAuthToken(alipaytest.DefaultMerchantToken), e2eCtx(t)
}

func onceRequest(t *testing.T) *alipay.AppAPIFieldApplyRequest {
	return e2eApply(alipay.FileFromBytes("login.png", e2ePNG(t, 8, 8)))
}

// TestApplyFieldOnceSubmitsThenFindsExisting: the first call submits; the
// second finds the application under audit and sends no field.apply; an
// approval is found too; a rejection lets a new application through.
func TestApplyFieldOnceSubmitsThenFindsExisting(t *testing.T) {
	t.Parallel()
	s, m, ctx := onceSetup(t)
	res, err := m.ApplyFieldOnce(ctx, onceRequest(t))
	require.NoError(t, err)
	assert.Equal(t, alipay.ApplyFieldSubmitted, res.Outcome)
	require.NotNil(t, res.Response)
	assert.Nil(t, res.Record)

	res, err = m.ApplyFieldOnce(ctx, onceRequest(t))
	require.NoError(t, err)
	assert.Equal(t, alipay.ApplyFieldExisting, res.Outcome)
	require.NotNil(t, res.Record)
	assert.Equal(t, alipay.AuthFieldStatusAudit, res.Record.Status)
	assert.Equal(t, 1, s.RequestCount(e2eFieldApply), "nothing sent when the query shows the application")

	require.NoError(t, s.Approve(alipaytest.DefaultMerchantToken, e2eAPI, e2eField, e2ePkg))
	res, err = m.ApplyFieldOnce(ctx, onceRequest(t))
	require.NoError(t, err)
	assert.Equal(t, alipay.ApplyFieldExisting, res.Outcome)
	assert.Equal(t, alipay.AuthFieldStatusAgree, res.Record.Status)
	assert.Len(t, s.Applications(alipaytest.DefaultMerchantToken), 1)

	_, other := onceSetupRejected(t)
	assert.Equal(t, alipay.ApplyFieldSubmitted, other)
}

// onceSetupRejected applies, has the application rejected, and applies
// through ApplyFieldOnce again.
func onceSetupRejected(t *testing.T) (*alipaytest.Server, alipay.ApplyFieldOutcome) {
	s, m, ctx := onceSetup(t)
	_, err := m.AppAPIFieldApply(ctx, onceRequest(t))
	require.NoError(t, err)
	require.NoError(t, s.Reject(alipaytest.DefaultMerchantToken, e2eAPI, e2eField, e2ePkg, "场景不符"))
	res, err := m.ApplyFieldOnce(ctx, onceRequest(t))
	require.NoError(t, err)
	assert.Len(t, s.Applications(alipaytest.DefaultMerchantToken), 2)
	return s, res.Outcome
}

// TestApplyFieldOnceAnswerLost: the gateway records the application and
// the answer never arrives (the connection drops, or the client times
// out): the outcome is confirmed by field.query, with one application.
func TestApplyFieldOnceAnswerLost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault alipaytest.Fault
		opts  []alipay.Option
	}{
		{name: "connection dropped", fault: alipaytest.Fault{Kind: alipaytest.FaultDisconnect}},
		{name: "timeout after sending", fault: alipaytest.Fault{Kind: alipaytest.FaultDelay, Delay: time.Hour},
			opts: []alipay.Option{alipay.WithTimeout(2 * time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, m, ctx := onceSetup(t, tc.opts...)
			f := tc.fault
			f.Method, f.Count = e2eFieldApply, 1
			s.InjectFault(f)

			_, err := m.AppAPIFieldApply(ctx, onceRequest(t))
			require.ErrorIs(t, err, alipay.ErrOutcomeUnknown, "the plain call says it does not know")
			s.ClearFaults()
			require.NoError(t, s.Reject(alipaytest.DefaultMerchantToken, e2eAPI, e2eField, e2ePkg, "reset"))

			s.InjectFault(f)
			res, err := m.ApplyFieldOnce(ctx, onceRequest(t))
			require.NoError(t, err)
			assert.Equal(t, alipay.ApplyFieldConfirmed, res.Outcome)
			require.NotNil(t, res.Record)
			assert.Equal(t, alipay.AuthFieldStatusAudit, res.Record.Status)
			apps := s.Applications(alipaytest.DefaultMerchantToken)
			require.Len(t, apps, 2, "one rejected, one recorded once")
			assert.Equal(t, alipaytest.StatusAudit, apps[1].Status)
		})
	}
}

// TestApplyFieldOnceNotRecorded: the answer is a failure that may hide an
// application (a proxy's 502, an unsigned 20000) but nothing was recorded:
// the error stays ErrOutcomeUnknown, nothing is resent, and the next call
// applies once.
func TestApplyFieldOnceNotRecorded(t *testing.T) {
	t.Parallel()
	for _, kind := range []alipaytest.FaultKind{alipaytest.FaultHTTPStatus, alipaytest.FaultUnsignedError} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			s, m, ctx := onceSetup(t)
			s.InjectFault(alipaytest.Fault{Method: e2eFieldApply, Kind: kind, Count: 1})
			_, err := m.ApplyFieldOnce(ctx, onceRequest(t))
			require.ErrorIs(t, err, alipay.ErrOutcomeUnknown)
			assert.Contains(t, err.Error(), "field.query does not show the application")
			var re *alipay.ResponseError
			var apiErr *alipay.APIError
			assert.True(t, errors.As(err, &re) || errors.As(err, &apiErr), "the cause is inside: %v", err)
			assert.Equal(t, 1, s.RequestCount(e2eFieldApply))
			assert.Empty(t, s.Applications(alipaytest.DefaultMerchantToken))

			res, err := m.ApplyFieldOnce(ctx, onceRequest(t))
			require.NoError(t, err)
			assert.Equal(t, alipay.ApplyFieldSubmitted, res.Outcome)
			assert.Len(t, s.Applications(alipaytest.DefaultMerchantToken), 1)
		})
	}
}

// TestApplyFieldOnceRefusesBeforeSending: an invalid request, or a query
// that fails, sends no application.
func TestApplyFieldOnceRefusesBeforeSending(t *testing.T) {
	t.Parallel()
	s, m, ctx := onceSetup(t)
	_, err := m.ApplyFieldOnce(ctx, &alipay.AppAPIFieldApplyRequest{})
	require.ErrorIs(t, err, alipay.ErrInvalidRequest)
	_, err = m.ApplyFieldOnce(ctx, nil)
	require.ErrorIs(t, err, alipay.ErrInvalidRequest)
	assert.Empty(t, s.Requests())

	s.InjectFault(alipaytest.Fault{Method: e2eFieldQuery, Kind: alipaytest.FaultTamperSignature})
	_, err = m.ApplyFieldOnce(ctx, onceRequest(t))
	require.ErrorIs(t, err, alipay.ErrSignature)
	assert.Zero(t, s.RequestCount(e2eFieldApply))

	s.ClearFaults()
	s.InjectFault(alipaytest.Fault{Method: e2eFieldQuery, Kind: alipaytest.FaultHTTPStatus, Status: http.StatusServiceUnavailable, Count: 1})
	res, err := m.ApplyFieldOnce(ctx, onceRequest(t))
	require.NoError(t, err, "the query is a read: a 503 is retried")
	assert.Equal(t, alipay.ApplyFieldSubmitted, res.Outcome)
}
