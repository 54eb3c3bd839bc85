package alipay

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadNodes returns the success node of each query method for a merchant
// whose token has fingerprint fp: every answer carries fp in a field the
// caller can check, so a response given to the wrong merchant shows.
func loadNodes(fp string) map[string]string {
	return map[string]string{
		methodMiniBaseInfoQuery: `{"code":"10000","msg":"Success","app_name":"` + fp + `","app_english_name":"load"}`,
		methodAppAPIQuery:       `{"code":"10000","msg":"Success","apis":[{"api_name":"getPhoneNumber","field_name":"mobile","package_code":"` + fp + `"}]}`,
		methodAppAPISceneQuery:  `{"code":"10000","msg":"Success","auth_field_scene":[{"scene_code":"14","scene_desc":"` + fp + `"}]}`,
		methodAppAPIFieldQuery: `{"code":"10000","msg":"Success","auth_field_response":{"records":[{"user_app_id":"` + fp +
			`","api_name":"getPhoneNumber","field_name":"mobile","package_code":"1","status":"AUDIT"}]}}`,
	}
}

// loadCall runs call i (one of the four query calls, by i%4) for merchant m
// and returns the merchant field of the answer and its verified node.
func loadCall(ctx context.Context, m *Client, i int) (string, []byte, error) {
	switch i % 4 {
	case 0:
		r, err := m.MiniBaseInfoQuery(ctx, nil)
		if err != nil {
			return "", nil, err
		}
		return r.AppName, r.Raw, nil
	case 1:
		r, err := m.AppAPIQuery(ctx, nil)
		if err != nil || len(r.APIs) != 1 {
			return "", nil, fmt.Errorf("%v %v", r, err)
		}
		return r.APIs[0].PackageCode, r.Raw, nil
	case 2:
		r, err := m.AppAPISceneQuery(ctx, &AppAPISceneQueryRequest{APIName: "getPhoneNumber", FieldName: "mobile"})
		if err != nil || len(r.AuthFieldScene) != 1 {
			return "", nil, fmt.Errorf("%v %v", r, err)
		}
		return r.AuthFieldScene[0].SceneDesc, r.Raw, nil
	default:
		r, err := m.AppAPIFieldQuery(ctx, nil)
		if err != nil || len(r.AuthFieldResponse.Records) != 1 {
			return "", nil, fmt.Errorf("%v %v", r, err)
		}
		return r.AuthFieldResponse.Records[0].UserAppID, r.Raw, nil
	}
}

// TestLoadConcurrentMerchants sends 1 000 concurrent calls for 50 merchants
// (the four query calls in turn) through one shared client to a loopback
// gateway that checks every request as Alipay would (placement, signature
// with the app key, timestamp) and answers each merchant with a node signed
// by the test Alipay key that names the merchant's token fingerprint. Every
// call must succeed (a success is returned only once verified), carry its
// own merchant's fingerprint, and hold exactly the node signed for that
// merchant and method; the gateway must see every merchant 20 times.
func TestLoadConcurrentMerchants(t *testing.T) {
	t.Parallel()
	const merchants, calls = 50, 1000
	signer, appPub := newGatewaySigner(t), parsePublicPEM(t, "keys/app_public.pem")
	tokens := make([]string, merchants)
	answers := map[string]string{} // token + method → signed body
	nodes := map[string]string{}   // token + method → node
	for i := range tokens {
		tokens[i] = fmt.Sprintf("202405BBloadMerchantToken%04d", i)
		for method, node := range loadNodes(secret(tokens[i]).fingerprint()) {
			nodes[tokens[i]+method], answers[tokens[i]+method] = node, signer.body(method, node)
		}
	}
	var served sync.Map // token → *atomic.Int32
	var bad atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gr, err := checkGatewayRequest(r, appPub, fixedTime, 0)
		if err != nil {
			bad.Store(err.Error())
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		token := gr.Form.Get("app_auth_token")
		body, ok := answers[token+gr.Query.Get("method")]
		if !ok {
			bad.Store("unknown merchant or method")
			http.Error(w, "unknown", http.StatusNotFound)
			return
		}
		n, _ := served.LoadOrStore(token, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		_, _ = io.WriteString(w, body) // a failed write fails the call, which the test sees
	}))
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 64, 64
	isv, err := NewClient(testAppID, append(baseOptions(t), WithGatewayURL(srv.URL+"/gateway.do"),
		WithHTTPClient(&http.Client{Transport: tr}))...)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start, errs := make(chan struct{}), make(chan error, calls)
	var wg sync.WaitGroup
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token := tokens[i%merchants]
			<-start
			got, raw, err := loadCall(ctx, isv.WithAppAuthToken(token), i)
			switch {
			case err != nil:
				errs <- fmt.Errorf("call %d: %w", i, err)
			case got != secret(token).fingerprint():
				errs <- fmt.Errorf("call %d for merchant %d got merchant %q", i, i%merchants, got)
			case string(raw) != nodes[token+[]string{methodMiniBaseInfoQuery, methodAppAPIQuery, methodAppAPISceneQuery, methodAppAPIFieldQuery}[i%4]]:
				errs <- fmt.Errorf("call %d: verified node %q is not the one signed for it", i, raw)
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	close(errs)
	t.Logf("%d calls for %d merchants in %v", calls, merchants, time.Since(began))
	for err := range errs {
		t.Error(err)
	}
	require.NoError(t, ctx.Err(), "the calls took longer than the bound")
	assert.Nil(t, bad.Load(), "the gateway refused a request")
	for _, token := range tokens {
		n, ok := served.Load(token)
		require.True(t, ok, "merchant never served")
		assert.Equal(t, int32(calls/merchants), n.(*atomic.Int32).Load())
	}
}

// floodID is the kind of a notify_id in TestNotificationFlood.
type floodID struct {
	failFirst bool          // fn fails on its first call: Alipay must redeliver
	held      bool          // fn blocks until another delivery was answered "fail" as in progress
	conflict  chan struct{} // closed at the first in-progress answer (held ids)
	once      sync.Once
	calls     atomic.Int32 // fn calls
	done      atomic.Int32 // fn calls that returned nil
	statuses  sync.Map     // HTTP status → struct{}
}

// TestNotificationFlood delivers 300 signed notifications 3 to 5 times each,
// every delivery concurrently, to one NotifyHandler, retrying each delivery
// answered "fail" as Alipay does, until it reads "success". Some ids make
// the function fail once (answer 500, "fail", then the redelivery succeeds)
// and some hold the function until a concurrent delivery has been answered
// 409 "fail" (in progress). Every answer must be 200 "success" or a
// documented failure status with "fail", and each notify_id must reach the
// function exactly once successfully (failing ids: one failed call, then one
// successful call).
func TestNotificationFlood(t *testing.T) {
	t.Parallel()
	const ids = 300
	key := testNotifySigner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	byID := map[string]*floodID{}
	bodies := make([]string, ids)
	for i := range bodies {
		id := fmt.Sprintf("2024052000262171013056307524%06d", i)
		byID[id] = &floodID{failFirst: i%10 == 3, held: i%25 == 7, conflict: make(chan struct{})}
		bodies[i] = signNotification(t, key, fieldChangedParams(id)).Encode()
	}
	h := newNotifyClient(t).NotifyHandler(func(fctx context.Context, n *Notification) error {
		f := byID[n.NotifyID]
		if f.calls.Add(1) == 1 {
			if f.failFirst {
				return fmt.Errorf("first attempt of %s fails", n.NotifyID)
			}
			if f.held {
				select {
				case <-f.conflict:
				case <-fctx.Done():
					return fctx.Err()
				}
			}
		}
		f.done.Add(1)
		return nil
	})
	deliver := func(body string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(body))
		req.Header.Set("Content-Type", notifyFormType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	var wg sync.WaitGroup
	var deliveries, bad atomic.Int32
	for i, body := range bodies {
		f := byID[fmt.Sprintf("2024052000262171013056307524%06d", i)]
		for n := 0; n < 3+i%3; n++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil { // Alipay redelivers until it reads "success"
					deliveries.Add(1)
					status, ack := deliver(body)
					f.statuses.Store(status, struct{}{})
					switch {
					case status == http.StatusOK && ack == ackSuccess:
						return
					case ack != ackFail || (status != http.StatusConflict && status != http.StatusInternalServerError):
						bad.Add(1)
						return
					case status == http.StatusConflict:
						f.once.Do(func() { close(f.conflict) })
					}
					runtime.Gosched()
				}
			}()
		}
	}
	wg.Wait()
	require.NoError(t, ctx.Err(), "the flood took longer than the bound")
	assert.Zero(t, bad.Load(), "answers other than 200 success, 409 fail or 500 fail")
	t.Logf("%d deliveries of %d notifications", deliveries.Load(), ids)
	for id, f := range byID {
		assert.Equal(t, int32(1), f.done.Load(), "%s: successful function calls", id)
		want := int32(1)
		if f.failFirst {
			want = 2
			_, failed := f.statuses.Load(http.StatusInternalServerError)
			assert.True(t, failed, "%s: the failed call was answered 500", id)
		}
		assert.Equal(t, want, f.calls.Load(), "%s: function calls", id)
		if f.held {
			_, conflict := f.statuses.Load(http.StatusConflict)
			assert.True(t, conflict, "%s: a concurrent delivery was answered 409", id)
		}
	}
}
