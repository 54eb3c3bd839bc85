package merchanttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writers is how many goroutines race in the concurrency cases.
const writers = 16

func storeCases() []pairCase {
	return []pairCase{
		{"UnknownIsNotFound", testNotFound},
		{"RoundTripEveryField", testRoundTrip},
		{"CreateTwiceConflicts", testCreateTwice},
		{"StaleWriteConflicts", testStaleWrite},
		{"ConcurrentWritersOneWins", testConcurrentWriters},
		{"RecordsAreCopies", testCopies},
		{"InvalidRecordRefused", testInvalid},
		{"DistinctMerchantsIndependent", testDistinct},
		{"AuthCodeDigestFound", testAuthCode},
	}
}

// newAppID returns a fresh random merchant app id.
func newAppID(t *testing.T) string {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1e11))
	require.NoError(t, err)
	return fmt.Sprintf("20210%011d", n)
}

// newSecret returns a fresh random token-like secret with a label.
func newSecret(t *testing.T, label string) alipay.Secret {
	t.Helper()
	var b [12]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return alipay.NewSecret("merchanttest" + label + hex.EncodeToString(b[:]))
}

// fullRecord returns a record of appID with every field set, and checks
// that it is: a field added to Merchant fails here until the sample sets
// it, so that every store is checked for it.
func fullRecord(t *testing.T, appID string) *alipay.Merchant {
	t.Helper()
	at := time.Date(2024, 5, 20, 13, 14, 15, 123456789, time.FixedZone("UTC+8", 8*3600))
	m := &alipay.Merchant{
		AppID: appID, UserID: "2088000000000001",
		AppAuthToken: newSecret(t, "Token"), RefreshToken: newSecret(t, "Refresh"),
		AuthorizedAt: at, RefreshedAt: at.Add(time.Hour), AuthCodeDigest: hex.EncodeToString(make([]byte, 32)),
		State: alipay.MerchantNeedsReauthorization, Reason: "aop.invalid-app-auth-token on alipay.open.mini.baseinfo.query",
		StateSince: at.Add(2 * time.Hour),
		History: []alipay.MerchantEvent{
			{At: at, State: alipay.MerchantAuthorized, Reason: "redirect"},
			{At: at.Add(2 * time.Hour), State: alipay.MerchantNeedsReauthorization, Reason: "aop.invalid-app-auth-token"},
		},
		AESKey: newSecret(t, "AES"), PrevAESKey: newSecret(t, "PrevAES"),
		Refresh: alipay.RefreshLease{Owner: "owner-1", Until: at.Add(3 * time.Hour)},
	}
	v := reflect.ValueOf(m).Elem()
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Name != "Version" && v.Field(i).IsZero() {
			t.Fatalf("merchanttest: the sample record leaves Merchant.%s unset: extend fullRecord", v.Type().Field(i).Name)
		}
	}
	return m
}

// view renders a record as plain values (Secrets revealed, times as Unix
// nanoseconds) so that two records compare field by field.
func view(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case alipay.Secret:
		return "secret:" + x.Reveal()
	case time.Time:
		if x.IsZero() {
			return "zero time"
		}
		return x.UnixNano()
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return view(v.Elem())
	case reflect.Struct:
		out := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				out[v.Type().Field(i).Name] = view(v.Field(i))
			}
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return []any{}
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = view(v.Index(i))
		}
		return out
	default:
		return v.Interface()
	}
}

// assertSame checks that two records hold the same values.
func assertSame(t *testing.T, want, got *alipay.Merchant, msg string) {
	t.Helper()
	assert.Equal(t, view(reflect.ValueOf(want)), view(reflect.ValueOf(got)), msg)
}

func get(t *testing.T, s alipay.MerchantStore, appID string) *alipay.Merchant {
	t.Helper()
	m, err := s.Get(context.Background(), appID)
	require.NoError(t, err, "Get(%s)", appID)
	require.NotNil(t, m)
	return m
}

func put(t *testing.T, s alipay.MerchantStore, m *alipay.Merchant) {
	t.Helper()
	require.NoError(t, s.Put(context.Background(), m), "Put(%s, version %d)", m.AppID, m.Version)
}

func testNotFound(t *testing.T, a, _ alipay.MerchantStore) {
	_, err := a.Get(context.Background(), newAppID(t))
	assert.ErrorIs(t, err, alipay.ErrMerchantNotFound)
}

func testRoundTrip(t *testing.T, a, b alipay.MerchantStore) {
	m := fullRecord(t, newAppID(t))
	put(t, a, m)
	assert.Equal(t, int64(1), m.Version, "Put sets the new version")
	got := get(t, b, m.AppID)
	assertSame(t, m, got, "the record read back")
	got.AppAuthToken = newSecret(t, "Token2")
	got.History = append(got.History, alipay.MerchantEvent{At: time.Now(), State: alipay.MerchantAuthorized, Reason: "refresh"})
	got.Refresh = alipay.RefreshLease{}
	got.State, got.Reason = alipay.MerchantAuthorized, ""
	put(t, b, got)
	assert.Equal(t, int64(2), got.Version)
	assertSame(t, got, get(t, a, m.AppID), "the second write read back")
}

func testCreateTwice(t *testing.T, a, b alipay.MerchantStore) {
	m := fullRecord(t, newAppID(t))
	put(t, a, m)
	again := fullRecord(t, m.AppID)
	err := b.Put(context.Background(), again)
	assert.ErrorIs(t, err, alipay.ErrVersionConflict, "a second create")
	assertSame(t, m, get(t, a, m.AppID), "the first record stays")
}

func testStaleWrite(t *testing.T, a, b alipay.MerchantStore) {
	m := fullRecord(t, newAppID(t))
	put(t, a, m)
	r1, r2 := get(t, a, m.AppID), get(t, b, m.AppID)
	r1.UserID = "2088000000000111"
	put(t, a, r1)
	r2.UserID = "2088000000000222"
	assert.ErrorIs(t, b.Put(context.Background(), r2), alipay.ErrVersionConflict, "a write from a stale read")
	assert.Equal(t, int64(1), r2.Version, "a failed Put leaves Version")
	assert.Equal(t, "2088000000000111", get(t, b, m.AppID).UserID)
	future := get(t, a, m.AppID)
	future.Version += 5
	assert.ErrorIs(t, a.Put(context.Background(), future), alipay.ErrVersionConflict, "a version from the future")
}

func testConcurrentWriters(t *testing.T, a, b alipay.MerchantStore) {
	m := fullRecord(t, newAppID(t))
	put(t, a, m)
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, writers)
	)
	for i := 0; i < writers; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		r := get(t, s, m.AppID)
		r.UserID = fmt.Sprintf("2088%012d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Put(context.Background(), r)
		}()
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, won, "two writers from one version both won")
			won = i
			continue
		}
		require.ErrorIs(t, err, alipay.ErrVersionConflict, "writer %d", i)
	}
	require.NotEqual(t, -1, won, "no writer won")
	got := get(t, a, m.AppID)
	assert.Equal(t, fmt.Sprintf("2088%012d", won), got.UserID)
	assert.Equal(t, int64(2), got.Version)
}

func testCopies(t *testing.T, a, _ alipay.MerchantStore) {
	m := fullRecord(t, newAppID(t))
	put(t, a, m)
	want := get(t, a, m.AppID)
	m.History[0].Reason = "changed after Put"
	m.UserID = "changed after Put"
	got := get(t, a, m.AppID)
	got.History[0].Reason = "changed after Get"
	got.History = append(got.History, alipay.MerchantEvent{Reason: "appended after Get"})
	assertSame(t, want, get(t, a, m.AppID), "the stored record")
}

func testInvalid(t *testing.T, a, _ alipay.MerchantStore) {
	ctx := context.Background()
	id := newAppID(t)
	for name, m := range map[string]*alipay.Merchant{
		"nil":                 nil,
		"empty app id":        {State: alipay.MerchantCancelled},
		"app id with a colon": {AppID: "2021:1", State: alipay.MerchantCancelled},
		"unknown state":       {AppID: id, State: "paused"},
		"authorized no token": {AppID: id, State: alipay.MerchantAuthorized},
		"negative version":    {AppID: id, State: alipay.MerchantCancelled, Version: -1},
	} {
		assert.Error(t, a.Put(ctx, m), name)
	}
	_, err := a.Get(ctx, id)
	assert.ErrorIs(t, err, alipay.ErrMerchantNotFound, "nothing was written")
}

func testDistinct(t *testing.T, a, b alipay.MerchantStore) {
	x, y := fullRecord(t, newAppID(t)), fullRecord(t, newAppID(t))
	put(t, a, x)
	put(t, b, y)
	gx, gy := get(t, b, x.AppID), get(t, a, y.AppID)
	assert.True(t, gx.AppAuthToken.Equal(x.AppAuthToken))
	assert.True(t, gy.AppAuthToken.Equal(y.AppAuthToken))
	assert.False(t, gx.AppAuthToken.Equal(gy.AppAuthToken))
}

func testAuthCode(t *testing.T, a, b alipay.MerchantStore) {
	ctx := context.Background()
	digest := func() string {
		var d [32]byte
		_, err := rand.Read(d[:])
		require.NoError(t, err)
		return hex.EncodeToString(d[:])
	}
	shared, other := digest(), digest()
	x, y, z := fullRecord(t, newAppID(t)), fullRecord(t, newAppID(t)), fullRecord(t, newAppID(t))
	x.AuthCodeDigest, y.AuthCodeDigest, z.AuthCodeDigest = shared, shared, other
	for _, m := range []*alipay.Merchant{x, y, z} {
		put(t, a, m)
	}
	ids, err := b.AppIDsByAuthCode(ctx, shared)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{x.AppID, y.AppID}, ids)
	ids, err = b.AppIDsByAuthCode(ctx, digest())
	require.NoError(t, err)
	assert.Empty(t, ids)
	ids, err = a.AppIDsByAuthCode(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, []string{z.AppID}, ids)
	ids, err = a.AppIDsByAuthCode(ctx, "")
	assert.NoError(t, err, "an empty digest")
	assert.Empty(t, ids, "an empty digest finds nothing")
}
