package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/redisstore"
	"github.com/redis/go-redis/v9"
)

// dedupeOptions returns the handler options for ALIPAY_NOTIFY_REDIS_ADDR
// (host:port; ALIPAY_NOTIFY_REDIS_PASSWORD optional): unset, none, so the
// handler keeps its in-memory store (one process); set, a Redis store
// shared by every replica. The returned func closes the Redis client.
func dedupeOptions(ctx context.Context, getenv func(string) string, logger *slog.Logger) ([]alipay.NotifyOption, func()) {
	addr := getenv("ALIPAY_NOTIFY_REDIS_ADDR")
	if addr == "" {
		return nil, func() {}
	}
	rdb := redis.NewClient(&redis.Options{
		Addr:         addr,
		Password:     getenv("ALIPAY_NOTIFY_REDIS_PASSWORD"),
		DialTimeout:  2 * time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		MaxRetries:   1,
	})
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		// Not fatal: until Redis answers, the handler answers fail and Alipay retries.
		logger.Warn("notify: Redis not reachable yet", slog.String("addr", addr), slog.String("error", err.Error()))
	}
	store := redisstore.New(rdb, redisstore.WithPrefix("alipay:notify:"+getenv("ALIPAY_APP_ID")+":"))
	closeStore := func() {
		if err := rdb.Close(); err != nil {
			logger.Warn("notify: closing the Redis client", slog.String("error", err.Error()))
		}
	}
	return []alipay.NotifyOption{alipay.WithDedupeStore(store)}, closeStore
}
