package alipaytest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultsOnTheWire(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)

	s.InjectFault(Fault{Kind: FaultTamperSignature, Count: 1})
	r := newCall(t, s, methodAPIQuery).do(t)
	assert.Equal(t, "10000", r.code)
	assert.True(t, r.hasSign)
	assert.False(t, r.verified, "a tampered signature must not verify")

	s.InjectFault(Fault{Kind: FaultMissingSignature, Count: 1})
	r = newCall(t, s, methodAPIQuery).do(t)
	assert.Equal(t, "10000", r.code)
	assert.False(t, r.hasSign)

	s.InjectFault(Fault{Kind: FaultDuplicateNode, Count: 1})
	r = newCall(t, s, methodAPIQuery).do(t)
	assert.Equal(t, 2, strings.Count(r.raw, `"alipay_open_app_api_query_response":`), r.raw)

	s.InjectFault(Fault{Kind: FaultUnsignedError, Count: 1})
	r = newCall(t, s, methodAPIQuery).do(t)
	assert.Equal(t, "20000", r.code)
	assert.Equal(t, "isp.unknow-error", r.subCode)
	assert.False(t, r.hasSign)

	s.InjectFault(Fault{Kind: FaultHTTPStatus, Count: 1})
	r = newCall(t, s, methodAPIQuery).do(t)
	assert.Equal(t, http.StatusBadGateway, r.status)
	assert.Contains(t, r.raw, "<html>")
	assert.Equal(t, "text/html", r.header.Get("Content-Type"))

	s.InjectFault(Fault{Kind: FaultHTTPStatus, Status: 503, Count: 1})
	assert.Equal(t, http.StatusServiceUnavailable, newCall(t, s, methodAPIQuery).do(t).status)

	requireCode(t, newCall(t, s, methodAPIQuery).do(t), "10000", "") // every fault was used up

	kinds := []FaultKind{}
	for _, rec := range s.Requests() {
		kinds = append(kinds, rec.Fault)
	}
	assert.Equal(t, []FaultKind{FaultTamperSignature, FaultMissingSignature, FaultDuplicateNode, FaultUnsignedError,
		FaultHTTPStatus, FaultHTTPStatus, 0}, kinds)
	assert.Equal(t, "TamperSignature", FaultTamperSignature.String())
	assert.Equal(t, "FaultKind(99)", FaultKind(99).String())
}

func TestFaultSelection(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	require.Error(t, s.InjectFault(Fault{Kind: FaultKind(99)}))                     // refused
	s.InjectFault(Fault{Method: methodFieldQuery, Kind: FaultHTTPStatus, Count: 2}) // only field.query
	requireCode(t, newCall(t, s, methodAPIQuery).do(t), "10000", "")
	assert.Equal(t, http.StatusBadGateway, newCall(t, s, methodFieldQuery).do(t).status)
	assert.Equal(t, http.StatusBadGateway, newCall(t, s, methodFieldQuery).do(t).status)
	requireCode(t, newCall(t, s, methodFieldQuery).do(t), "10000", "")

	s.InjectFault(Fault{Kind: FaultMissingSignature}) // Count 0: until ClearFaults
	for i := 0; i < 3; i++ {
		assert.False(t, newCall(t, s, methodAPIQuery).do(t).hasSign)
	}
	s.ClearFaults()
	requireCode(t, newCall(t, s, methodAPIQuery).do(t), "10000", "")
}

func TestFaultsAndState(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)

	// Answered by a "proxy": the application never reached the gateway.
	s.InjectFault(Fault{Kind: FaultHTTPStatus, Count: 1})
	assert.Equal(t, http.StatusBadGateway, applyCall(t, s).do(t).status)
	s.InjectFault(Fault{Kind: FaultUnsignedError, Count: 1})
	assert.Equal(t, "20000", applyCall(t, s).do(t).code)
	assert.Empty(t, s.Applications(DefaultMerchantToken))

	// Handled, then the connection dropped: applied without an answer.
	s.InjectFault(Fault{Kind: FaultDisconnect, Count: 1})
	_, err := testHTTP.Do(applyCall(t, s).request(t))
	require.Error(t, err)
	require.Len(t, s.Applications(DefaultMerchantToken), 1)
	recs := s.Requests()
	assert.Equal(t, 0, recs[len(recs)-1].HTTPStatus)

	// Slow: the client gives up, the application is still recorded.
	require.NoError(t, s.Reject(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444", ""))
	s.InjectFault(Fault{Kind: FaultDelay, Delay: time.Hour, Count: 1})
	start := time.Now()
	_, err = testHTTP.Do(applyCall(t, s).request(t).WithContext(giveUpInDelay(t, s)))
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Len(t, s.Applications(DefaultMerchantToken), 2)
	recs = s.Requests()
	assert.Equal(t, FaultDelay, recs[len(recs)-1].Fault, "the slow request took the fault")

	// A short delay simply answers late.
	s.InjectFault(Fault{Kind: FaultDelay, Delay: 20 * time.Millisecond, Count: 1})
	start = time.Now()
	requireCode(t, newCall(t, s, methodFieldQuery).do(t), "10000", "")
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
}

// The hang of a loaded machine, pinned: a client that gives up before its
// request is sent leaves a Count 1 FaultDelay queued (only a request that
// arrives takes it), and the next request would wait the whole hour.
// Giving up once the server is in the wait takes the fault every time.
func TestDelayFaultIsTakenOnlyByARequestThatArrives(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	require.NoError(t, s.InjectFault(Fault{Kind: FaultDelay, Delay: time.Hour, Count: 1}))
	gone, cancel := context.WithCancel(context.Background())
	cancel() // as a 50 ms timer that ran out while the client signed or dialled
	_, err := testHTTP.Do(newCall(t, s, methodAPIQuery).request(t).WithContext(gone))
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, s.RequestCount(""), "the request never arrived")

	_, err = testHTTP.Do(newCall(t, s, methodAPIQuery).request(t).WithContext(giveUpInDelay(t, s)))
	require.ErrorIs(t, err, context.Canceled)
	recs := s.Requests()
	require.Len(t, recs, 1)
	assert.Equal(t, FaultDelay, recs[0].Fault, "the fault was still queued, and is now used")

	start := time.Now()
	requireCode(t, newCall(t, s, methodAPIQuery).do(t), "10000", "")
	assert.Less(t, time.Since(start), 10*time.Second, "no fault left")
}

func TestCloseEndsSlowAnswers(t *testing.T) {
	t.Parallel()
	s, err := NewServer()
	require.NoError(t, err)
	t.Cleanup(s.Close) // when the test fails before its own Close
	s.InjectFault(Fault{Kind: FaultDelay, Delay: time.Hour})
	waiting := make(chan struct{})
	s.mu.Lock()
	s.onDelay = func() { close(waiting) }
	s.mu.Unlock()
	got := make(chan error, 1)
	req := newCall(t, s, methodAPIQuery).request(t)
	go func() {
		resp, err := testHTTP.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	recv(t, waiting, "the slow answer's wait")
	bounded(t, "Close (it waited for the one-hour delay)", s.Close)
	recv(t, got, "the client's end") // answered at once, or cut: either way it ends
}

func TestGatewayFailureFaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)

	// Answered without handling: nothing is applied, and the answer is signed.
	require.NoError(t, s.InjectFault(Fault{Kind: FaultUnknownError, Count: 1}))
	requireCode(t, applyCall(t, s).do(t), "20000", "isp.unknow-error")
	require.NoError(t, s.InjectFault(Fault{Kind: FaultCallLimited, Count: 1}))
	r := applyCall(t, s).do(t)
	requireCode(t, r, "40005", "isv.app-call-limited")
	assert.Equal(t, "alipay_open_app_api_field_apply_response", r.node)
	require.NoError(t, s.InjectFault(Fault{Kind: FaultCallLimited, SubCode: "isv.method-call-limited", Count: 1}))
	requireCode(t, applyCall(t, s).do(t), "40005", "isv.method-call-limited")
	require.NoError(t, s.InjectFault(Fault{Method: methodBaseInfoModify, Kind: FaultError,
		SubCode: "CANNOT_MODIFY_CATEGORY_WITH_RELATION_VERSION", SubMsg: "请通过版本审核修改类目", Count: 1}))
	r = newCall(t, s, methodBaseInfoModify).set("mini_category_ids", "XS1011_XS2089").do(t)
	requireCode(t, r, "40004", "CANNOT_MODIFY_CATEGORY_WITH_RELATION_VERSION")
	assert.Equal(t, "请通过版本审核修改类目", r.subMsg)
	info, _ := s.BaseInfo(DefaultMerchantToken)
	assert.Empty(t, info.MiniCategoryIDs, "a refused modify changes nothing")

	require.NoError(t, s.InjectFault(Fault{Kind: FaultHTTPStatus, Status: http.StatusRequestEntityTooLarge, Count: 1}))
	r = applyCall(t, s).do(t)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	assert.Contains(t, r.raw, "413 Request Entity Too Large")

	// Dropped before any status: the client hears nothing, nothing is applied.
	require.NoError(t, s.InjectFault(Fault{Method: methodFieldApply, Kind: FaultDropRequest, Count: 1}))
	_, err := testHTTP.Do(applyCall(t, s).request(t))
	require.Error(t, err)
	assert.Empty(t, s.Applications(DefaultMerchantToken))
	recs := s.Requests()
	last := recs[len(recs)-1]
	assert.Equal(t, FaultDropRequest, last.Fault)
	assert.Equal(t, 0, last.HTTPStatus)

	// Applied, then dropped: the record is there, the client never heard.
	require.NoError(t, s.InjectFault(Fault{Method: methodFieldApply, Kind: FaultDisconnect, Count: 1}))
	_, err = testHTTP.Do(applyCall(t, s).request(t))
	require.Error(t, err)
	assert.Len(t, s.Applications(DefaultMerchantToken), 1)

	requireCode(t, newCall(t, s, methodAPIQuery).do(t), "10000", "")
}

func TestInjectFaultRefusesBadFaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, f := range []Fault{
		{Kind: FaultKind(99)}, {Kind: 0}, {Kind: FaultDelay, Count: -1}, {Kind: FaultDelay, Rate: 1.5},
		{Kind: FaultDelay, Rate: -0.1}, {Kind: FaultHTTPStatus, Status: 302}, {Kind: FaultError},
		{Kind: FaultError, Code: "10000", SubCode: "X"},
	} {
		assert.Error(t, s.InjectFault(f), "%+v", f)
	}
	requireCode(t, newCall(t, s, methodAPIQuery).do(t), "10000", "")
}

// faultPattern makes n calls and returns which ones were faulted.
func faultPattern(t *testing.T, s *Server, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = newCall(t, s, methodAPIQuery).do(t).code != "10000"
	}
	return out
}

func TestRateFaultsAreSeeded(t *testing.T) {
	t.Parallel()
	const n = 200
	run := func(seed uint64) []bool {
		s := newTestServer(t, WithFaultSeed(seed))
		require.NoError(t, s.InjectFault(Fault{Kind: FaultUnknownError, Rate: 0.25}))
		return faultPattern(t, s, n)
	}
	a, b, c := run(7), run(7), run(8)
	assert.Equal(t, a, b, "the same seed faults the same calls")
	assert.NotEqual(t, a, c, "another seed faults other calls")
	hits := 0
	for _, hit := range a {
		if hit {
			hits++
		}
	}
	assert.InDelta(t, n/4, hits, n/8, "about a quarter of the calls")

	// Count bounds the hits of a rate; a spared request goes on to the next fault.
	s := newTestServer(t)
	require.NoError(t, s.InjectFault(Fault{Kind: FaultUnknownError, Rate: 0.5, Count: 3}))
	require.NoError(t, s.InjectFault(Fault{Kind: FaultCallLimited, Rate: 1, Count: 5}))
	faulted := 0
	for _, hit := range faultPattern(t, s, 40) {
		if hit {
			faulted++
		}
	}
	assert.Equal(t, 8, faulted)
	kinds := map[FaultKind]int{}
	for _, rec := range s.Requests() {
		kinds[rec.Fault]++
	}
	assert.Equal(t, map[FaultKind]int{FaultUnknownError: 3, FaultCallLimited: 5, 0: 32}, kinds)
}
