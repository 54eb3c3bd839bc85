package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The soak: soakMerchants merchants run the whole flow at once against a
// gateway that faults soakFaultRate of all calls.
const (
	soakMerchants = 200
	soakFaultRate = 0.20
	soakFlowLimit = 50 * time.Second // each flow's ctx: generous, for -race on a loaded machine
	soakTries     = 6                // a flow's own tries of one step, as a job runner would
)

// soakFaults are the gateway's failures, as alipaytest injects them, each
// at the same rate; together they hit soakFaultRate of the calls. A
// tampered signature stands for a forged answer: no success may come of it.
var soakFaults = []alipaytest.Fault{
	{Kind: alipaytest.FaultUnknownError},                         // signed 20000 isp.unknow-error, not handled
	{Kind: alipaytest.FaultCallLimited},                          // signed 40005, not handled
	{Kind: alipaytest.FaultHTTPStatus, Status: 502},              // a proxy's HTML page, not handled
	{Kind: alipaytest.FaultHTTPStatus, Status: 413},              // the access layer's HTML page, not handled
	{Kind: alipaytest.FaultDelay, Delay: 300 * time.Millisecond}, // handled, answered late
	{Kind: alipaytest.FaultDropRequest},                          // dropped before any status, not handled
	{Kind: alipaytest.FaultDisconnect},                           // handled, then dropped: applied, never heard
	{Kind: alipaytest.FaultTamperSignature},                      // handled, the answer's signature broken
}

// TestSoakFaultedFlows runs soakMerchants merchants through the whole
// flow concurrently (authorize → registry → category → ApplyFieldOnce →
// WaitFieldAudit → AGREE) while the gateway faults soakFaultRate of all
// calls. Every flow must end in AGREE or an error naming its cause; no
// merchant may be applied for twice (counted on the gateway); no success
// may come from an answer that was faulted in a way that breaks it.
func TestSoakFaultedFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short")
	}
	t.Parallel()
	w := newSoakWorld(t)
	// The first field.apply answers are lost after the application is
	// recorded, so that ApplyFieldOnce's look-after path always runs.
	require.NoError(t, w.gw.InjectFault(alipaytest.Fault{Method: "alipay.open.app.api.field.apply", Kind: alipaytest.FaultDisconnect, Count: 3}))
	r := 1 - math.Pow(1-soakFaultRate, 1/float64(len(soakFaults)))
	for _, f := range soakFaults {
		f.Rate = r
		require.NoError(t, w.gw.InjectFault(f))
	}
	start := time.Now()
	results := make([]soakResult, soakMerchants)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = w.flow(fmt.Sprintf("20210050%08d", i))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.NoError(t, w.gw.Err())

	causes := map[string]int{}
	agree := 0
	for _, r := range results {
		switch {
		case r.err == nil && r.status == alipay.AuthFieldStatusAgree:
			agree++
		case r.err == nil:
			t.Errorf("%s ended in %s without an error", r.appID, r.status)
		default:
			causes[r.step+": "+soakCause(r.err)]++
			t.Logf("%s failed at %s: %v", r.appID, r.step, r.err)
		}
	}

	// No merchant is applied for twice; each AGREE is its one application.
	doubles := 0
	for _, r := range results {
		apps := w.gw.Applications(r.appID)
		if len(apps) > 1 {
			doubles++
		}
		if r.err == nil && assert.Len(t, apps, 1, r.appID) {
			assert.Equal(t, alipaytest.StatusAgree, apps[0].Status, "the AGREE a flow saw is the gateway's")
		}
	}
	assert.Zero(t, doubles, "merchants applied for twice")

	faults, verified := w.checkNoForgedSuccess(t)
	attempts, retried, unknown := w.obs.counts()
	requests := w.gw.RequestCount("")
	t.Logf("soak: %d flows in %v: %d AGREE, %d errors %v; double applications: %d",
		len(results), elapsed.Round(time.Millisecond), agree, len(results)-agree, causes, doubles)
	t.Logf("soak: %d gateway requests, %d faulted (%.1f %%): %v", requests, sumCounts(faults),
		100*float64(sumCounts(faults))/float64(requests), faults)
	t.Logf("soak: %d client attempts, %d followed by a client retry, %d with the outcome unknown; %d successes, each matched to a whole, signed gateway answer",
		attempts, retried, unknown, verified)
	t.Logf("soak: flow re-runs of a step %v, after %v", w.snapshot(&w.retries), w.snapshot(&w.retryCauses))
	t.Logf("soak: ApplyFieldOnce %v; redirects %v", w.snapshot(&w.applied), w.snapshot(&w.redirects))

	assert.Equal(t, soakMerchants, w.store.Len(), "one record per merchant")
	assert.GreaterOrEqual(t, agree, soakMerchants*95/100, "nearly every flow survives the faults")
	// The faults did happen, at about the rate asked.
	rate := float64(sumCounts(faults)) / float64(requests)
	assert.InDelta(t, soakFaultRate, rate, 0.05, "fault rate")
	for _, f := range soakFaults {
		assert.Positive(t, faults[soakFaultName(f)], soakFaultName(f))
	}
	assert.Positive(t, w.snapshot(&w.applied)[string(alipay.ApplyFieldConfirmed)], "applications whose answer was lost, found by field.query")
}

// TestSoakFlowEndsWithItsCause: a flow that cannot reach AGREE ends with
// an error naming its step and cause, and applies for nothing: a refusal
// ends it at once, an outcome that stays unknown after the flow's tries
// ends it with ErrOutcomeUnknown (Alipay never recorded the application).
func TestSoakFlowEndsWithItsCause(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		fault alipaytest.Fault
		cause string
		runs  int
	}{
		"refused": {alipaytest.Fault{Kind: alipaytest.FaultError, SubCode: "AUTH_API_NOT_SUPPORT", SubMsg: "不支持"},
			"code 40004 AUTH_API_NOT_SUPPORT", 1},
		"unknown": {alipaytest.Fault{Kind: alipaytest.FaultUnknownError}, "code 20000 isp.unknow-error, outcome unknown", soakTries},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newSoakWorld(t)
			tc.fault.Method = "alipay.open.app.api.field.apply"
			require.NoError(t, w.gw.InjectFault(tc.fault))
			r := w.flow("2021005100000001")
			require.Error(t, r.err)
			assert.Equal(t, "apply", r.step)
			assert.Equal(t, tc.cause, soakCause(r.err))
			assert.Empty(t, w.gw.Applications(r.appID))
			assert.Equal(t, tc.runs, w.gw.RequestCount("alipay.open.app.api.field.apply"))
		})
	}
}

// soakWorld is the ISV's side (its client, registry, app gateway and
// redirect URL) and Alipay's (the faulting fake gateway).
type soakWorld struct {
	t       *testing.T
	gw      *alipaytest.Server
	isv     *alipay.Client
	store   *alipay.MemoryMerchantStore
	states  *alipay.StateSigner
	app     string // the ISV backend's base URL
	obs     *soakObserver
	browser *http.Client
	picture []byte

	mu          sync.Mutex
	updates     map[string]chan alipay.AuthFieldDTO // field.changed by merchant app id
	retries     map[string]int                      // a flow's re-runs of a step, by step
	retryCauses map[string]int                      // … and by the failure that caused them
	applied     map[string]int                      // ApplyFieldOnce outcomes
	redirects   map[string]int                      // how each redirect ended
}

func newSoakWorld(t *testing.T) *soakWorld {
	w := &soakWorld{
		t: t, store: alipay.NewMemoryMerchantStore(), obs: &soakObserver{},
		updates: map[string]chan alipay.AuthFieldDTO{}, retries: map[string]int{}, retryCauses: map[string]int{},
		applied: map[string]int{}, redirects: map[string]int{},
		browser: &http.Client{Timeout: soakFlowLimit, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		picture: storyPNG(t),
	}
	mux := http.NewServeMux()
	w.app = storyBackend(t, mux)
	gw, err := alipaytest.NewServer(alipaytest.WithTB(t),
		alipaytest.WithNotifyURL(w.app+"/notify"),
		alipaytest.WithAutoAudit(50*time.Millisecond, nil), // the fast audit: AGREE
		alipaytest.WithLogLimit(1_000_000),                 // keep every request record
		alipaytest.WithFaultSeed(13))
	require.NoError(t, err)
	w.gw = gw
	w.isv, err = gw.NewClient(alipay.WithObserver(w.obs), alipay.WithTimeout(soakFlowLimit/2))
	require.NoError(t, err)
	w.states, err = alipay.NewStateSigner([]byte(strings.Repeat("soak-state-key!!", 2)), time.Hour)
	require.NoError(t, err)

	notify, err := w.isv.NewNotifyHandler(alipay.NotifyRoutes{
		AppAPIFieldChanged: func(_ context.Context, _ *alipay.Notification, ev *alipay.AppAPIFieldChanged) error {
			w.mu.Lock()
			ch := w.updates[ev.UserAppID]
			w.mu.Unlock()
			select {
			case ch <- ev.AuthFieldDTO:
			default: // a nil channel or a full one: the wait polls anyway
			}
			return nil
		},
	}, alipay.WithNotifyMerchantStore(w.store))
	require.NoError(t, err)
	redirect, err := w.isv.AuthRedirectHandler(w.store, w.states, func(rw http.ResponseWriter, _ *http.Request, a *alipay.AuthRedirect) {
		if a.AlreadyStored {
			rw.Header().Set("X-Already-Stored", "1")
		}
		fmt.Fprintln(rw, "authorized")
	})
	require.NoError(t, err)
	mux.Handle("/notify", notify)
	mux.Handle("/authorized", redirect)

	return w
}

// checkNoForgedSuccess matches every successful attempt the client
// reported with the gateway's record of it (by trace_id): each must be an
// answer the gateway sent whole and signed, never one it faulted (a
// broken signature, an error page, 20000, 40005). It returns the faults
// injected, by kind, and the successes checked.
func (w *soakWorld) checkNoForgedSuccess(t *testing.T) (faults map[string]int, successes int) {
	byTrace := map[string]alipaytest.Request{}
	faults = map[string]int{}
	for _, r := range w.gw.Requests() {
		if r.TraceID != "" {
			byTrace[r.TraceID] = r
		}
		if r.Fault != 0 {
			name := r.Fault.String()
			if r.Fault == alipaytest.FaultHTTPStatus {
				name = fmt.Sprintf("%s %d", name, r.HTTPStatus)
			}
			faults[name]++
		}
	}
	require.Len(t, w.gw.Requests(), w.gw.RequestCount(""), "every request record kept")
	for _, a := range w.obs.all() {
		if a.Err != nil {
			continue
		}
		successes++
		r, ok := byTrace[a.TraceID]
		if assert.True(t, ok, "a success the gateway never answered: %s %s", a.Method, a.TraceID) {
			assert.Contains(t, []alipaytest.FaultKind{0, alipaytest.FaultDelay}, r.Fault, "success from a faulted answer: %s", a.Method)
			assert.Equal(t, "10000", r.Code, a.Method)
		}
	}
	assert.Positive(t, successes)
	return faults, successes
}

// soakFaultName names a fault kind as checkNoForgedSuccess counts it.
func soakFaultName(f alipaytest.Fault) string {
	if f.Kind == alipaytest.FaultHTTPStatus {
		return fmt.Sprintf("%s %d", f.Kind, f.Status)
	}
	return f.Kind.String()
}

// soakCause names the cause of a failure.
func soakCause(err error) string {
	var (
		apiErr  *alipay.APIError
		respErr *alipay.ResponseError
	)
	cause := "transport"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, alipay.ErrSignature):
		cause = "signature"
	case errors.As(err, &apiErr):
		cause = "code " + apiErr.Code + " " + apiErr.SubCode
	case errors.As(err, &respErr):
		cause = fmt.Sprintf("HTTP %d %s", respErr.StatusCode, respErr.Reason)
	}
	if errors.Is(err, alipay.ErrOutcomeUnknown) {
		cause += ", outcome unknown"
	}
	return cause
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// soakObserver keeps every attempt the client reports.
type soakObserver struct {
	mu       sync.Mutex
	attempts []alipay.Attempt
}

func (o *soakObserver) StartCall(ctx context.Context, _ alipay.CallInfo) context.Context { return ctx }

func (o *soakObserver) ObserveAttempt(_ context.Context, a *alipay.Attempt) {
	o.mu.Lock()
	o.attempts = append(o.attempts, *a)
	o.mu.Unlock()
}

func (o *soakObserver) all() []alipay.Attempt {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]alipay.Attempt(nil), o.attempts...)
}

// counts returns the attempts, those followed by another, and those whose
// outcome is unknown.
func (o *soakObserver) counts() (attempts, retried, unknown int) {
	for _, a := range o.all() {
		attempts++
		if a.Retry {
			retried++
		}
		if a.OutcomeUnknown {
			unknown++
		}
	}
	return attempts, retried, unknown
}
