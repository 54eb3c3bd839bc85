package redisstore_test

import (
	"context"
	"encoding/base64"
	"log"
	"os"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every replica builds the same store: one Redis, one prefix, the same
// sealing keys (here from the environment, in production from a secret
// manager). After a rotation, the new key is current and the old one
// still opens the records written before.
func ExampleNewMerchantStore() {
	isv, err := alipay.NewClient(os.Getenv("ALIPAY_APP_ID"),
		alipay.WithPrivateKeyFile("app_private.pem"),
		alipay.WithAlipayPublicKeyFile("alipay_public.pem"))
	if err != nil {
		log.Fatal(err)
	}
	current, err := base64.StdEncoding.DecodeString(os.Getenv("MERCHANT_SEALING_KEY_2025")) // 32 random bytes
	if err != nil {
		log.Fatal(err)
	}
	previous, err := base64.StdEncoding.DecodeString(os.Getenv("MERCHANT_SEALING_KEY_2024"))
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	defer rdb.Close()
	store, err := redisstore.NewMerchantStore(rdb,
		redisstore.WithMerchantPrefix("myapp:prod:alipay:merchant:"),
		redisstore.WithSealingKey("2025", current),
		redisstore.WithOldSealingKey("2024", previous))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	m, err := isv.ForMerchant(ctx, store, "2021004000000002")
	if alipay.IsReauthorizationNeeded(err) {
		log.Print("ask the merchant to authorise again: ", err)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	if _, err := m.MiniBaseInfoQuery(ctx, nil); err != nil {
		log.Print(err) // a 20001 has marked the merchant in the store already
	}
}
