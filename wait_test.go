package alipay

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Records of field.query for the waits below.
const (
	wtAudit   = `{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile","package_code":"P1","status":"AUDIT"}`
	wtAgree   = `{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile","package_code":"P1","status":"agree"}`
	wtReject  = `{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile","package_code":"P1","status":"REJECT","reason":"演示视频未展示授权流程"}`
	wtOther   = `{"user_app_id":"2021004000000002","api_name":"alipay.user.info.share","field_name":"mobile","package_code":"P2","status":"AGREE"}`
	wtOtherID = `{"user_app_id":"2021004000000003","api_name":"getPhoneNumber","field_name":"mobile","package_code":"P1","status":"AGREE"}`
)

// wtNode is a field.query success node holding records.
func wtNode(records ...string) string {
	return `{"code":"10000","msg":"Success","auth_field_response":{"records":[` + strings.Join(records, ",") + `]}}`
}

// wtClient answers the n-th field.query with nodes[n] (the last one
// repeating) and counts the polls.
func wtClient(t *testing.T, nodes ...string) (*Client, *atomic.Int32) {
	t.Helper()
	c, mock := newMockClient(t)
	s := newGatewaySigner(t)
	bodies := make([]string, len(nodes))
	for i, n := range nodes {
		bodies[i] = n
		if strings.HasPrefix(n, "{") {
			bodies[i] = s.body(methodAppAPIFieldQuery, n)
		}
	}
	var calls atomic.Int32
	mock.RegisterResponder(http.MethodPost, testGW, func(*http.Request) (*http.Response, error) {
		i := int(calls.Add(1)) - 1
		b := bodies[min(i, len(bodies)-1)]
		if b == "502" {
			return httpmock.NewStringResponse(http.StatusBadGateway, "bad gateway"), nil
		}
		return httpmock.NewStringResponse(http.StatusOK, b), nil
	})
	return c.WithAppAuthToken(testToken), &calls
}

// wtTimers is an injected timer: each timer fires at once (or never, when
// never is set) and its duration is recorded.
type wtTimers struct {
	mu     sync.Mutex
	delays []time.Duration
	never  bool
}

func (w *wtTimers) timer(d time.Duration) (<-chan time.Time, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.delays = append(w.delays, d)
	if w.never {
		return nil, func() {}
	}
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch, func() {}
}

func wtReq() *WaitFieldAuditRequest {
	return &WaitFieldAuditRequest{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "P1"}
}

func TestWaitFieldAuditBackoff(t *testing.T) {
	t.Parallel()
	c, calls := wtClient(t, wtNode(wtAudit), wtNode(wtOther, wtAudit), wtNode(), wtNode(wtAudit), wtNode(wtReject, wtAgree))
	timers := &wtTimers{}
	req := wtReq()
	req.Interval, req.MaxInterval = 30*time.Second, 100*time.Second
	rec, err := c.waitFieldAudit(context.Background(), req, timers.timer)
	require.NoError(t, err)
	assert.Equal(t, AuthFieldStatusAgree, rec.Status)
	assert.Equal(t, "agree", rec.StatusRaw)
	assert.Equal(t, int32(5), calls.Load())
	assert.Equal(t, []time.Duration{30 * time.Second, 60 * time.Second, 100 * time.Second, 100 * time.Second}, timers.delays)
}

func TestWaitFieldAuditOutcome(t *testing.T) {
	t.Parallel()
	rec := func(app, status string) AuthFieldDTO {
		return AuthFieldDTO{UserAppID: app, APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "P1",
			Status: parseAuthFieldStatus(status), StatusRaw: status}
	}
	other := AuthFieldDTO{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "P2", Status: AuthFieldStatusAgree}
	cases := []struct {
		name string
		app  string
		recs []AuthFieldDTO
		want AuthFieldStatus // "" pending
	}{
		{"none", "", nil, ""},
		{"other package only", "", []AuthFieldDTO{other}, ""},
		{"audit", "", []AuthFieldDTO{rec("A", "AUDIT")}, ""},
		{"old reject beside new audit", "", []AuthFieldDTO{rec("A", "REJECT"), rec("A", "AUDIT")}, ""},
		{"unknown status is pending", "", []AuthFieldDTO{rec("A", "PAUSED")}, ""},
		{"reject", "", []AuthFieldDTO{rec("A", "reject")}, AuthFieldStatusReject},
		{"agree wins", "", []AuthFieldDTO{rec("A", "AGREE"), rec("A", "REJECT")}, AuthFieldStatusAgree},
		{"last terminal", "", []AuthFieldDTO{rec("A", "REJECT"), rec("A", "INVALID")}, AuthFieldStatusInvalid},
		{"user app filter", "B", []AuthFieldDTO{rec("A", "AGREE"), rec("B", "AUDIT")}, ""},
		{"user app filter terminal", "B", []AuthFieldDTO{rec("A", "AUDIT"), rec("B", "REJECT")}, AuthFieldStatusReject},
	}
	for _, tc := range cases {
		req := wtReq()
		req.UserAppID = tc.app
		got := req.finalRecord(tc.recs)
		if tc.want == "" {
			assert.Nil(t, got, tc.name)
			continue
		}
		require.NotNil(t, got, tc.name)
		assert.Equal(t, tc.want, got.Status, tc.name)
	}
}

func TestWaitFieldAuditRejectWithReason(t *testing.T) {
	t.Parallel()
	c, _ := wtClient(t, wtNode(wtOtherID, wtReject))
	req := wtReq()
	req.UserAppID = "2021004000000002"
	rec, err := c.waitFieldAudit(context.Background(), req, (&wtTimers{}).timer)
	require.NoError(t, err)
	assert.Equal(t, AuthFieldStatusReject, rec.Status)
	assert.Equal(t, "演示视频未展示授权流程", rec.Reason)
}

// wtResult is what a wait returned.
type wtResult struct {
	rec *AuthFieldDTO
	err error
}

// wtStart runs the wait for req, with timers that never fire, in a
// goroutine, and returns its Updates channel and its result.
func wtStart(c *Client, req *WaitFieldAuditRequest) (chan<- AuthFieldDTO, <-chan wtResult) {
	updates := make(chan AuthFieldDTO)
	req.Updates = updates
	done := make(chan wtResult, 1)
	go func() {
		rec, err := c.waitFieldAudit(context.Background(), req, (&wtTimers{never: true}).timer)
		done <- wtResult{rec, err}
	}()
	return updates, done
}

// TestWaitFieldAuditUpdates drives the wait with field.changed records only:
// the timer never fires.
func TestWaitFieldAuditUpdates(t *testing.T) {
	t.Parallel()
	agree := AuthFieldDTO{UserAppID: "2021004000000002", APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "P1", Status: AuthFieldStatusAgree}
	run := func(_ *testing.T, c *Client, req *WaitFieldAuditRequest) (chan<- AuthFieldDTO, func() (*AuthFieldDTO, error)) {
		updates, done := wtStart(c, req)
		return updates, func() (*AuthFieldDTO, error) { r := <-done; return r.rec, r.err }
	}
	t.Run("matching terminal message ends the wait", func(t *testing.T) {
		t.Parallel()
		c, calls := wtClient(t, wtNode(wtAudit))
		updates, result := run(t, c, wtReq())
		msg := agree
		msg.Reason = "from the message"
		updates <- msg
		rec, err := result()
		require.NoError(t, err)
		assert.Equal(t, msg, *rec)
		assert.Equal(t, int32(1), calls.Load(), "no poll after the message")
	})
	t.Run("other message polls at once", func(t *testing.T) {
		t.Parallel()
		c, calls := wtClient(t, wtNode(wtAudit), wtNode(wtAgree))
		updates, result := run(t, c, wtReq())
		updates <- AuthFieldDTO{APIName: "getPhoneNumber", FieldName: "mobile", Status: AuthFieldStatusAgree} // no package_code
		rec, err := result()
		require.NoError(t, err)
		assert.Equal(t, AuthFieldStatusAgree, rec.Status)
		assert.Equal(t, int32(2), calls.Load())
	})
	t.Run("one message poll per pause", func(t *testing.T) {
		t.Parallel()
		c, calls := wtClient(t, wtNode(wtAudit))
		req := wtReq()
		req.UserAppID = "2021004000000002"
		updates, result := run(t, c, req)
		updates <- AuthFieldDTO{APIName: "x"}
		updates <- AuthFieldDTO{APIName: "y"}
		wrongApp := agree
		wrongApp.UserAppID = "2021004000000003"
		updates <- wrongApp
		updates <- agree
		rec, err := result()
		require.NoError(t, err)
		assert.Equal(t, agree, *rec)
		assert.Equal(t, int32(2), calls.Load(), "the first poll and one message poll")
	})
}

// TestWaitFieldAuditOtherMerchantAgreeDoesNotEndWait is the attack of
// issue 12 point 12: with UserAppID unset and one Updates channel shared by
// every merchant, merchant B's verified AGREE for the same api, field and
// package must not end merchant A's wait while A's own field.query says
// AUDIT. It wakes a poll; A's own AGREE (its user_app_id, learned from A's
// field.query) then ends the wait.
func TestWaitFieldAuditOtherMerchantAgreeDoesNotEndWait(t *testing.T) {
	t.Parallel()
	c, calls := wtClient(t, wtNode(wtAudit)) // merchant A (…002): AUDIT, always
	updates, done := wtStart(c, wtReq())
	other := AuthFieldDTO{UserAppID: "2021004000000003", APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "P1",
		Status: AuthFieldStatusAgree, Reason: "merchant B"}
	updates <- other
	deadline := time.After(10 * time.Second)
	for calls.Load() < 2 { // B's message wakes a poll
		select {
		case r := <-done:
			require.FailNow(t, "another merchant's AGREE ended the wait", "%+v, %v", r.rec, r.err)
		case <-deadline:
			require.FailNow(t, "B's message did not wake a poll")
		case <-time.After(time.Millisecond):
		}
	}
	own := other
	own.UserAppID, own.Reason = "2021004000000002", "merchant A"
	updates <- own
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, own, *r.rec, "only A's own record ends A's wait")
}

// TestWaitFieldAuditUnknownMerchantOnlyWakes: before the client's own
// field.query shows a matching record, no message can be told to be this
// merchant's: a terminal one only wakes a poll, whose answer decides.
func TestWaitFieldAuditUnknownMerchantOnlyWakes(t *testing.T) {
	t.Parallel()
	c, calls := wtClient(t, wtNode(), wtNode(wtReject))
	updates := make(chan AuthFieldDTO, 1)
	req := wtReq()
	req.Updates = updates
	updates <- AuthFieldDTO{UserAppID: "2021004000000002", APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "P1",
		Status: AuthFieldStatusAgree}
	rec, err := c.waitFieldAudit(context.Background(), req, (&wtTimers{never: true}).timer)
	require.NoError(t, err)
	assert.Equal(t, AuthFieldStatusReject, rec.Status, "the client's own field.query decides")
	assert.Equal(t, int32(2), calls.Load())
}

func TestWaitFieldAuditClosedUpdates(t *testing.T) {
	t.Parallel()
	c, calls := wtClient(t, wtNode(wtAudit), wtNode(wtAgree))
	updates := make(chan AuthFieldDTO)
	close(updates)
	req := wtReq()
	req.Updates = updates
	rec, err := c.waitFieldAudit(context.Background(), req, (&wtTimers{}).timer)
	require.NoError(t, err)
	assert.Equal(t, AuthFieldStatusAgree, rec.Status)
	assert.Equal(t, int32(2), calls.Load())
}

func TestWaitFieldAuditErrors(t *testing.T) {
	t.Parallel()
	t.Run("transient failures are retried until ctx ends", func(t *testing.T) {
		t.Parallel()
		c, calls := wtClient(t, "502")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		timers := &wtTimers{}
		timer := func(d time.Duration) (<-chan time.Time, func()) {
			if calls.Load() == 3 { // three failed polls: end the wait
				cancel()
				return nil, func() {}
			}
			return timers.timer(d)
		}
		rec, err := c.waitFieldAudit(ctx, wtReq(), timer)
		assert.Nil(t, rec)
		require.ErrorIs(t, err, context.Canceled)
		assert.Contains(t, err.Error(), "alipay: WaitFieldAudit: context canceled (last poll: ")
		assert.Contains(t, err.Error(), "HTTP 502")
		assert.NotContains(t, err.Error(), testToken)
	})
	t.Run("token invalid ends the wait", func(t *testing.T) {
		t.Parallel()
		c, calls := wtClient(t, `{"code":"20001","msg":"Insufficient Token Permissions","sub_code":"aop.invalid-app-auth-token","sub_msg":"无效的应用授权令牌"}`)
		rec, err := c.waitFieldAudit(context.Background(), wtReq(), (&wtTimers{}).timer)
		assert.Nil(t, rec)
		assert.True(t, IsAppAuthTokenInvalid(err))
		assert.Equal(t, int32(1), calls.Load())
	})
	t.Run("deadline with real timers", func(t *testing.T) {
		t.Parallel()
		c, calls := wtClient(t, wtNode(wtAudit))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond) // room for several polls on a busy machine
		defer cancel()
		req := wtReq()
		req.Interval, req.MaxInterval = time.Millisecond, 4*time.Millisecond
		rec, err := c.WaitFieldAudit(ctx, req)
		assert.Nil(t, rec)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Greater(t, calls.Load(), int32(1))
	})
	t.Run("real timers reach the result", func(t *testing.T) {
		t.Parallel()
		c, _ := wtClient(t, wtNode(wtAudit), "502", wtNode(wtAudit), wtNode(wtAgree))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := wtReq()
		req.Interval = time.Millisecond
		rec, err := c.WaitFieldAudit(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, AuthFieldStatusAgree, rec.Status)
	})
}

func TestWaitFieldAuditValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, field string
		req         *WaitFieldAuditRequest
	}{
		{"nil", "api_name", nil},
		{"package", "package_code", &WaitFieldAuditRequest{APIName: "a", FieldName: "f"}},
		{"negative interval", "interval", &WaitFieldAuditRequest{APIName: "a", FieldName: "f", PackageCode: "p", Interval: -1}},
		{"negative max", "max_interval", &WaitFieldAuditRequest{APIName: "a", FieldName: "f", PackageCode: "p", MaxInterval: -1}},
		{"max below interval", "max_interval", &WaitFieldAuditRequest{APIName: "a", FieldName: "f", PackageCode: "p", Interval: time.Hour, MaxInterval: time.Minute}},
	}
	for _, tc := range cases {
		c, mock := newMockClient(t)
		_, err := c.WaitFieldAudit(context.Background(), tc.req)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, tc.name)
		assert.Equal(t, tc.field, ve.Field, tc.name)
		assert.Equal(t, 0, mock.GetTotalCallCount(), tc.name)
	}
}

func TestWaitFieldAuditIntervals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, max, wantFirst, wantMax time.Duration }{
		{0, 0, DefaultWaitInterval, DefaultWaitMaxInterval},
		{time.Second, 0, time.Second, DefaultWaitMaxInterval},
		{time.Hour, 0, time.Hour, time.Hour},
		{0, 5 * time.Second, 5 * time.Second, 5 * time.Second},
		{0, time.Hour, DefaultWaitInterval, time.Hour},
	} {
		req := wtReq()
		req.Interval, req.MaxInterval = tc.in, tc.max
		first, maxDelay, err := req.intervals()
		require.NoError(t, err)
		assert.Equal(t, tc.wantFirst, first, "%v/%v", tc.in, tc.max)
		assert.Equal(t, tc.wantMax, maxDelay, "%v/%v", tc.in, tc.max)
	}
}
