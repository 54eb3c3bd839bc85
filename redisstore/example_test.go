package redisstore_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/redisstore"
	"github.com/redis/go-redis/v9"
)

// Several replicas behind a load balancer share one Redis, so that each
// notification reaches the function once, whichever replica Alipay
// delivers it to. Short client timeouts make the handler answer fail
// quickly while Redis is down; Alipay then retries.
func ExampleNew() {
	client, err := alipay.NewClient(os.Getenv("ALIPAY_APP_ID"),
		alipay.WithPrivateKeyFile("app_private.pem"),
		alipay.WithAlipayPublicKeyFile("alipay_public.pem"))
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{
		Addr:         os.Getenv("REDIS_ADDR"),
		Password:     os.Getenv("REDIS_PASSWORD"),
		DialTimeout:  2 * time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		MaxRetries:   1,
	})
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.WithPrefix("myapp:prod:alipay:notify:"))

	h, err := client.NewNotifyHandler(alipay.NotifyRoutes{
		AppAPIFieldChanged: func(ctx context.Context, n *alipay.Notification, ev *alipay.AppAPIFieldChanged) error {
			log.Printf("notify_id=%s status=%s", n.NotifyID, ev.Status)
			return nil // answered success, once; an error answers fail and Alipay retries
		},
	}, alipay.WithDedupeStore(store), alipay.WithNotifyLease(2*time.Minute))
	if err != nil {
		log.Fatal(err) // a configuration error, when the handler is built
	}
	http.Handle("/alipay/notify", h)
}
