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
	s.InjectFault(Fault{Kind: FaultKind(99)})                                       // ignored
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
	_, err := http.DefaultClient.Do(applyCall(t, s).request(t))
	require.Error(t, err)
	require.Len(t, s.Applications(DefaultMerchantToken), 1)
	recs := s.Requests()
	assert.Equal(t, 0, recs[len(recs)-1].HTTPStatus)

	// Slow: the client gives up, the application is still recorded.
	require.NoError(t, s.Reject(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444", ""))
	s.InjectFault(Fault{Kind: FaultDelay, Delay: time.Hour, Count: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = http.DefaultClient.Do(applyCall(t, s).request(t).WithContext(ctx))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Len(t, s.Applications(DefaultMerchantToken), 2)

	// A short delay simply answers late.
	s.InjectFault(Fault{Kind: FaultDelay, Delay: 20 * time.Millisecond, Count: 1})
	start = time.Now()
	requireCode(t, newCall(t, s, methodFieldQuery).do(t), "10000", "")
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
}

func TestCloseEndsSlowAnswers(t *testing.T) {
	t.Parallel()
	s, err := NewServer()
	require.NoError(t, err)
	s.InjectFault(Fault{Kind: FaultDelay, Delay: time.Hour})
	waiting := make(chan struct{})
	s.mu.Lock()
	s.onDelay = func() { close(waiting) }
	s.mu.Unlock()
	got := make(chan error, 1)
	req := newCall(t, s, methodAPIQuery).request(t)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	<-waiting
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the delay")
	}
	<-got
}
