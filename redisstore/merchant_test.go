package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/isvkit/alipay/merchanttest"
	"github.com/isvkit/alipay/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newKey returns a random sealing key.
func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, redisstore.SealingKeySize)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

// newMerchantStore builds a sealed store and fails the test on error.
func newMerchantStore(t *testing.T, c redis.UniversalClient, opts ...redisstore.MerchantOption) *redisstore.MerchantStore {
	t.Helper()
	s, err := redisstore.NewMerchantStore(c, opts...)
	require.NoError(t, err)
	return s
}

// TestMerchantContract runs the MerchantStore contract suite on one sealed
// store.
func TestMerchantContract(t *testing.T) {
	c := redisClient(t)
	key := newKey(t)
	merchanttest.Run(t, func(t *testing.T) alipay.MerchantStore {
		return newMerchantStore(t, c, redisstore.WithMerchantPrefix(uniquePrefix(t, c)), redisstore.WithSealingKey("k1", key))
	})
}

// TestMerchantContractReplicas runs it on two stores over two Redis
// connections with one prefix and key: two replicas. Its refresh case is
// the cross-replica single refresh: two clients, two stores, one Redis.
func TestMerchantContractReplicas(t *testing.T) {
	c1, c2 := redisClient(t), redisClient(t)
	key := newKey(t)
	merchanttest.RunReplicas(t, func(t *testing.T) (alipay.MerchantStore, alipay.MerchantStore) {
		prefix := uniquePrefix(t, c1)
		return newMerchantStore(t, c1, redisstore.WithMerchantPrefix(prefix), redisstore.WithSealingKey("k1", key)),
			newMerchantStore(t, c2, redisstore.WithMerchantPrefix(prefix), redisstore.WithSealingKey("k1", key))
	})
}

// TestMerchantContractPlaintext: the explicit plaintext mode keeps the
// contract too.
func TestMerchantContractPlaintext(t *testing.T) {
	c := redisClient(t)
	merchanttest.Run(t, func(t *testing.T) alipay.MerchantStore {
		return newMerchantStore(t, c, redisstore.WithMerchantPrefix(uniquePrefix(t, c)), redisstore.WithPlaintext())
	})
}

// secretRecord returns a record holding four distinct random secrets, and
// the secrets.
func secretRecord(t *testing.T, appID string) (*alipay.Merchant, []string) {
	t.Helper()
	var secrets []string
	next := func() alipay.Secret {
		var b [16]byte
		_, err := rand.Read(b[:])
		require.NoError(t, err)
		s := "leak" + hex.EncodeToString(b[:])
		secrets = append(secrets, s)
		return alipay.NewSecret(s)
	}
	m := &alipay.Merchant{AppID: appID, UserID: "2088000000000001", State: alipay.MerchantAuthorized,
		AppAuthToken: next(), RefreshToken: next(), AESKey: next(), PrevAESKey: next(),
		AuthCodeDigest: strings.Repeat("ab", 32), AuthorizedAt: time.Now()}
	return m, secrets
}

// dumpPrefix returns every key under prefix with every value it holds.
func dumpPrefix(t *testing.T, c redis.UniversalClient, prefix string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
	n := 0
	for iter.Next(ctx) {
		key := iter.Val()
		n++
		b.WriteString(key + "\n")
		typ, err := c.Type(ctx, key).Result()
		require.NoError(t, err)
		switch typ {
		case "hash":
			for f, v := range c.HGetAll(ctx, key).Val() {
				b.WriteString(f + "=" + v + "\n")
			}
		case "set":
			b.WriteString(strings.Join(c.SMembers(ctx, key).Val(), "\n") + "\n")
		default:
			t.Fatalf("unexpected %s key %s", typ, key)
		}
	}
	require.NoError(t, iter.Err())
	require.NotZero(t, n, "nothing under %s", prefix)
	return b.String()
}

// TestMerchantSealedAtRest scans every key and value the store wrote: no
// token, refresh token or AES key (nor their Base64) appears, nor the
// sealing key; in plaintext mode they do, so the scan sees values.
func TestMerchantSealedAtRest(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	key := newKey(t)
	prefix := uniquePrefix(t, c)
	s := newMerchantStore(t, c, redisstore.WithMerchantPrefix(prefix), redisstore.WithSealingKey("k1", key))
	m, secrets := secretRecord(t, "2021004000000002")
	require.NoError(t, s.Put(ctx, m))
	m.History = append(m.History, alipay.MerchantEvent{At: time.Now(), State: alipay.MerchantAuthorized, Reason: "refresh"})
	require.NoError(t, s.Put(ctx, m))
	dump := dumpPrefix(t, c, prefix)
	for _, sec := range append(secrets, string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key)) {
		assert.NotContains(t, dump, sec)
		assert.NotContains(t, dump, base64.StdEncoding.EncodeToString([]byte(sec)))
	}
	assert.NotContains(t, dump, "2088000000000001", "the user id is sealed too")
	assert.Contains(t, dump, "s1.k1.")

	plainPrefix := uniquePrefix(t, c)
	p := newMerchantStore(t, c, redisstore.WithMerchantPrefix(plainPrefix), redisstore.WithPlaintext())
	m2, secrets2 := secretRecord(t, "2021004000000002")
	require.NoError(t, p.Put(ctx, m2))
	assert.Contains(t, dumpPrefix(t, c, plainPrefix), secrets2[0], "plaintext mode stores the token (the scan works)")
}

// TestMerchantKeyRotation: records sealed under an old key open once it is
// listed as old; new writes use the current key; a store without the key
// refuses to read, naming the key id only.
func TestMerchantKeyRotation(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	k1, k2 := newKey(t), newKey(t)
	prefix := uniquePrefix(t, c)
	before := newMerchantStore(t, c, redisstore.WithMerchantPrefix(prefix), redisstore.WithSealingKey("k1", k1))
	m, secrets := secretRecord(t, "2021004000000002")
	require.NoError(t, before.Put(ctx, m))

	after := newMerchantStore(t, c, redisstore.WithMerchantPrefix(prefix),
		redisstore.WithSealingKey("k2", k2), redisstore.WithOldSealingKey("k1", k1))
	got, err := after.Get(ctx, m.AppID)
	require.NoError(t, err)
	assert.Equal(t, secrets[0], got.AppAuthToken.Reveal())
	require.NoError(t, after.Put(ctx, got))
	rec := c.HGet(ctx, after.Key(m.AppID), "rec").Val()
	assert.True(t, strings.HasPrefix(rec, "s1.k2."), "a write reseals with the current key")

	_, err = before.Get(ctx, m.AppID)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"k2"`)
	assert.NotContains(t, err.Error(), rec[6:20])

	sameID := newMerchantStore(t, c, redisstore.WithMerchantPrefix(prefix), redisstore.WithSealingKey("k2", newKey(t)))
	_, err = sameID.Get(ctx, m.AppID)
	assert.Error(t, err, "another key under the same id does not open")
}

// TestMerchantSealBoundToMerchant: a sealed value copied to another
// merchant's key, or a changed version, does not open.
func TestMerchantSealBoundToMerchant(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	prefix := uniquePrefix(t, c)
	s := newMerchantStore(t, c, redisstore.WithMerchantPrefix(prefix), redisstore.WithSealingKey("k1", newKey(t)))
	x, _ := secretRecord(t, "2021004000000002")
	y, _ := secretRecord(t, "2021004000000003")
	require.NoError(t, s.Put(ctx, x))
	require.NoError(t, s.Put(ctx, y))
	require.NoError(t, c.HSet(ctx, s.Key(y.AppID), "rec", c.HGet(ctx, s.Key(x.AppID), "rec").Val()).Err())
	_, err := s.Get(ctx, y.AppID)
	assert.ErrorContains(t, err, "does not open for this merchant")

	require.NoError(t, c.HSet(ctx, s.Key(x.AppID), "ver", "7").Err())
	_, err = s.Get(ctx, x.AppID)
	assert.ErrorContains(t, err, "altered")

	plain := newMerchantStore(t, c, redisstore.WithMerchantPrefix(prefix), redisstore.WithPlaintext())
	_, err = plain.Get(ctx, x.AppID)
	assert.Error(t, err, "a plaintext store does not read sealed records as plain")
}

// TestNewMerchantStoreRefuses: no key without explicit plaintext, bad
// keys, a zero store.
func TestNewMerchantStoreRefuses(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never contacted
	defer func() { _ = c.Close() }()
	key := make([]byte, 32)
	for name, opts := range map[string][]redisstore.MerchantOption{
		"no key":             nil,
		"short key":          {redisstore.WithSealingKey("k1", key[:16])},
		"empty id":           {redisstore.WithSealingKey("", key)},
		"id with a dot":      {redisstore.WithSealingKey("k.1", key)},
		"duplicate id":       {redisstore.WithSealingKey("k1", key), redisstore.WithOldSealingKey("k1", key)},
		"two current keys":   {redisstore.WithSealingKey("k1", key), redisstore.WithSealingKey("k2", key)},
		"plaintext and key":  {redisstore.WithSealingKey("k1", key), redisstore.WithPlaintext()},
		"old key only":       {redisstore.WithOldSealingKey("k1", key)},
		"plaintext, old key": {redisstore.WithPlaintext(), redisstore.WithOldSealingKey("k1", key)},
	} {
		_, err := redisstore.NewMerchantStore(c, opts...)
		assert.Error(t, err, name)
	}
	_, err := redisstore.NewMerchantStore(nil, redisstore.WithPlaintext())
	assert.Error(t, err)
	var zero redisstore.MerchantStore
	_, err = zero.Get(context.Background(), "2021004000000002")
	assert.Error(t, err)
	assert.Error(t, zero.Put(context.Background(), &alipay.Merchant{}))
}

// TestMerchantAuthNotifyReplicas: two replicas (two clients, two Redis
// connections) share the dedupe keys and the sealed registry; one
// authorization notify delivered to both at once is processed once, its
// token is stored sealed before "success", and later deliveries are
// acknowledged without processing.
func TestMerchantAuthNotifyReplicas(t *testing.T) {
	gw, err := alipaytest.NewServer() // signs the notify as Alipay would
	require.NoError(t, err)
	t.Cleanup(gw.Close)
	sealing := newKey(t)
	c1, c2 := redisClient(t), redisClient(t)
	merchants, notifies := uniquePrefix(t, c1), uniquePrefix(t, c1)
	var calls atomic.Int32
	var srvs []*httptest.Server
	for _, rdb := range []*redis.Client{c1, c2} {
		isv, err := gw.NewClient()
		require.NoError(t, err)
		store := newMerchantStore(t, rdb, redisstore.WithMerchantPrefix(merchants), redisstore.WithSealingKey("k1", sealing))
		h, err := isv.NewNotifyHandler(alipay.NotifyRoutes{AppAuthNotify: func(context.Context, *alipay.Notification, *alipay.AppAuthNotify) error {
			calls.Add(1)
			time.Sleep(50 * time.Millisecond) // let the deliveries overlap
			return nil
		}}, alipay.WithNotifyMerchantStore(store), alipay.WithDedupeStore(redisstore.New(rdb, redisstore.WithPrefix(notifies))))
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		srvs = append(srvs, srv)
	}
	const token, merchant = "202405BBredisNotifyToken000001", "2021004000000002"
	now := time.Now()
	body := gw.SignNotification(url.Values{
		"notify_id": {"2024052000222205656083451410599731"}, "notify_type": {"open_app_auth_notify"},
		"notify_time": {now.In(time.FixedZone("UTC+8", 8*3600)).Format(time.DateTime)}, "charset": {"UTF-8"},
		"version": {"1.0"}, "app_id": {gw.AppID()}, "auth_app_id": {merchant},
		"biz_content": {`{"detail":{"app_auth_token":"` + token + `","app_refresh_token":"` + token + `R","auth_app_id":"` + merchant +
			`","user_id":"2088000000000001","auth_time":` + strconv.FormatInt(now.UnixMilli(), 10) + `,"app_auth_code":"c1"},"error":{}}`},
	}).Encode()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(srvs[i%2].URL, "application/x-www-form-urlencoded", strings.NewReader(body))
			if assert.NoError(t, err) {
				resp.Body.Close()
				assert.Contains(t, []int{http.StatusOK, http.StatusConflict}, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	resp, err := http.Post(srvs[1].URL, "application/x-www-form-urlencoded", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a later delivery is acknowledged")
	assert.Equal(t, int32(1), calls.Load(), "processed once across replicas")

	m, err := newMerchantStore(t, c2, redisstore.WithMerchantPrefix(merchants), redisstore.WithSealingKey("k1", sealing)).
		Get(context.Background(), merchant)
	require.NoError(t, err)
	assert.Equal(t, token, m.AppAuthToken.Reveal())
	assert.EqualValues(t, 1, m.Version)
	assert.NotContains(t, dumpPrefix(t, c1, merchants), token, "sealed at rest")
}

// TestMerchantNotFoundReadsOnce: ForMerchant of a merchant the Redis
// registry does not hold says so once: one prefix, the app id once.
func TestMerchantNotFoundReadsOnce(t *testing.T) {
	c := redisClient(t)
	store := newMerchantStore(t, c, redisstore.WithMerchantPrefix(uniquePrefix(t, c)), redisstore.WithSealingKey("k1", newKey(t)))
	gw, err := alipaytest.NewServer(alipaytest.WithTB(t))
	require.NoError(t, err)
	isv, err := gw.NewClient()
	require.NoError(t, err)
	_, err = isv.ForMerchant(context.Background(), store, "2021004000009999")
	assert.ErrorIs(t, err, alipay.ErrMerchantNotFound)
	assert.EqualError(t, err, "alipay: ForMerchant: merchant 2021004000009999 is not in the registry")
}
