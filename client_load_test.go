package alipay

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
