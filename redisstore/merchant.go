package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/isvkit/alipay"
	"github.com/redis/go-redis/v9"
)

// DefaultMerchantPrefix is the key prefix of a MerchantStore built without
// [WithMerchantPrefix].
const DefaultMerchantPrefix = "alipay:merchant:"

// codeIndexTTL keeps an app_auth_code's digest findable for twice the
// life of a code (24 h).
const codeIndexTTL = 48 * time.Hour

// putScript writes KEYS[1] = {ver: ARGV[2], rec: ARGV[3]} if its ver is
// ARGV[1] (an absent key has version 0); it returns 1, or 0 on conflict.
var putScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'ver')
if not cur then cur = '0' end
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'ver', ARGV[2], 'rec', ARGV[3])
return 1
`)

// MerchantStore is an [alipay.MerchantStore] in Redis, shared by every
// replica of the ISV's backend. Build it with [NewMerchantStore].
//
// # Keys
//
// Each merchant is one hash, prefix + "app:" + app id, with two fields:
// "ver", the record's version in decimal (the compare-and-swap of Put is a
// Lua script on this one key, so Redis Cluster works), and "rec", the
// record. The record is sealed: AES-256-GCM under the current sealing key,
// written "s1.<key id>.<base64url(nonce, ciphertext, tag)>", with the
// merchant's app id as additional data, so that a value copied under
// another merchant's key does not open; the version is inside the sealed
// record too and must match "ver". Tokens, refresh tokens, AES keys, user
// id, state and history are all inside: a Redis operator (or a dump, or a
// replica) sees app ids, versions and ciphertext.
//
// Merchant keys have no TTL: they are the registry. A set,
// prefix + "code:" + digest, maps the digest of an app_auth_code (never
// the code) to app ids, for 48 hours.
//
// # Sealing keys
//
// [WithSealingKey] gives the current key (32 random bytes, e.g. from a
// secret manager) and its id; new writes use it. [WithOldSealingKey] adds
// keys that still open records written before a rotation. To rotate: deploy
// the new key as current with the old one as old, let records be rewritten
// (every Put reseals), then drop the old key. A store without a sealing key
// refuses to start unless [WithPlaintext] says explicitly that tokens may
// be stored in clear text (tests, a Redis nobody else reads).
//
// An attacker who can write to Redis can still delete records or put back
// an older sealed record of the same merchant (a rollback); sealing
// protects what Redis reveals, not its integrity over time.
type MerchantStore struct {
	client redis.UniversalClient
	prefix string
	sealer *sealer // nil with WithPlaintext
}

var _ alipay.MerchantStore = (*MerchantStore)(nil)

// MerchantOption configures a [MerchantStore].
type MerchantOption func(*merchantOptions)

type sealingKey struct {
	id  string
	key []byte
}

type merchantOptions struct {
	prefix    string
	current   *sealingKey
	old       []sealingKey
	plaintext bool
	errs      []error
}

// WithMerchantPrefix sets the prefix of every key (default
// [DefaultMerchantPrefix]), shared by all replicas of one application and
// environment.
func WithMerchantPrefix(prefix string) MerchantOption {
	return func(o *merchantOptions) { o.prefix = prefix }
}

// WithSealingKey sets the current sealing key: [SealingKeySize] random
// bytes, and an id of 1 to 32 letters, digits, '_' or '-' that is stored
// with each record. The bytes are copied.
func WithSealingKey(id string, key []byte) MerchantOption {
	return func(o *merchantOptions) {
		if o.current != nil {
			o.errs = append(o.errs, errors.New("redisstore: WithSealingKey given twice (older keys go to WithOldSealingKey)"))
		}
		o.current = &sealingKey{id: id, key: append([]byte(nil), key...)}
	}
}

// WithOldSealingKey adds a key that opens records sealed before a
// rotation; it never seals. The bytes are copied.
func WithOldSealingKey(id string, key []byte) MerchantOption {
	return func(o *merchantOptions) { o.old = append(o.old, sealingKey{id: id, key: append([]byte(nil), key...)}) }
}

// WithPlaintext stores records unsealed: tokens and AES keys in clear text
// in Redis. Only for tests and Redis instances nobody else can read.
func WithPlaintext() MerchantOption {
	return func(o *merchantOptions) { o.plaintext = true }
}

// NewMerchantStore returns a MerchantStore over client (the caller keeps
// ownership and closes it). It fails without a sealing key unless
// WithPlaintext is given, with both, or with an invalid key. It does not
// contact Redis.
func NewMerchantStore(client redis.UniversalClient, opts ...MerchantOption) (*MerchantStore, error) {
	if client == nil {
		return nil, errors.New("redisstore: NewMerchantStore: nil Redis client")
	}
	o := merchantOptions{prefix: DefaultMerchantPrefix}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if len(o.errs) > 0 {
		return nil, o.errs[0]
	}
	s := &MerchantStore{client: client, prefix: o.prefix}
	switch {
	case o.plaintext && (o.current != nil || len(o.old) > 0):
		return nil, errors.New("redisstore: NewMerchantStore: WithPlaintext together with sealing keys")
	case o.plaintext:
		return s, nil
	case o.current == nil:
		return nil, errors.New("redisstore: NewMerchantStore: no sealing key: tokens would be stored in clear text; give WithSealingKey, or WithPlaintext to accept that")
	}
	var err error
	s.sealer, err = newSealer(*o.current, o.old)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// usable reports why s cannot be used, if it cannot (a zero MerchantStore).
func (s *MerchantStore) usable() error {
	if s == nil || s.client == nil {
		return errors.New("redisstore: MerchantStore has no Redis client (use NewMerchantStore)")
	}
	return nil
}

// Key returns the Redis key of the merchant appID.
func (s *MerchantStore) Key(appID string) string { return s.prefix + "app:" + appID }

// codeKey returns the Redis key of a code digest's index.
func (s *MerchantStore) codeKey(digest string) string { return s.prefix + "code:" + digest }

// Get returns the record of appID (see [alipay.MerchantStore]).
func (s *MerchantStore) Get(ctx context.Context, appID string) (*alipay.Merchant, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if appID == "" {
		return nil, fmt.Errorf("redisstore: get: empty app id: %w", alipay.ErrMerchantNotFound)
	}
	vals, err := s.client.HMGet(ctx, s.Key(appID), "ver", "rec").Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: get merchant %s: %w", appID, err)
	}
	ver, _ := vals[0].(string)
	rec, _ := vals[1].(string)
	if ver == "" && rec == "" {
		return nil, fmt.Errorf("redisstore: merchant %s: %w", appID, alipay.ErrMerchantNotFound)
	}
	version, err := strconv.ParseInt(ver, 10, 64)
	if err != nil || version < 1 {
		return nil, fmt.Errorf("redisstore: merchant %s: invalid version field", appID)
	}
	data, err := s.open(appID, rec)
	if err != nil {
		return nil, fmt.Errorf("redisstore: merchant %s: %w", appID, err)
	}
	return decodeRecord(appID, version, data)
}

// Put writes m if the stored version is m.Version (see
// [alipay.MerchantStore]); the record is sealed before it leaves the
// process.
func (s *MerchantStore) Put(ctx context.Context, m *alipay.Merchant) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	next := m.Version + 1
	data, err := encodeRecord(m, next)
	if err != nil {
		return fmt.Errorf("redisstore: put merchant %s: %w", m.AppID, err)
	}
	value, err := s.seal(m.AppID, data)
	if err != nil {
		return err
	}
	if m.AuthCodeDigest != "" {
		// Before the record: a failed compare-and-swap leaves an extra id,
		// which readers check; a missing one would hide a stored record.
		key := s.codeKey(m.AuthCodeDigest)
		_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SAdd(ctx, key, m.AppID)
			p.PExpire(ctx, key, codeIndexTTL)
			return nil
		})
		if err != nil {
			return fmt.Errorf("redisstore: put merchant %s: code index: %w", m.AppID, err)
		}
	}
	ok, err := putScript.Run(ctx, s.client, []string{s.Key(m.AppID)},
		strconv.FormatInt(m.Version, 10), strconv.FormatInt(next, 10), value).Int()
	if err != nil {
		return fmt.Errorf("redisstore: put merchant %s: %w", m.AppID, err)
	}
	if ok != 1 {
		return fmt.Errorf("redisstore: put merchant %s at version %d: %w", m.AppID, m.Version, alipay.ErrVersionConflict)
	}
	m.Version = next
	return nil
}

// AppIDsByAuthCode returns the app ids indexed under digest in the last 48
// hours (see [alipay.MerchantStore]).
func (s *MerchantStore) AppIDsByAuthCode(ctx context.Context, digest string) ([]string, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if digest == "" {
		return nil, nil
	}
	ids, err := s.client.SMembers(ctx, s.codeKey(digest)).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: app ids by code: %w", err)
	}
	return ids, nil
}

// seal returns the stored form of a record's JSON.
func (s *MerchantStore) seal(appID string, data []byte) (string, error) {
	if s.sealer == nil {
		return plainPrefix + string(data), nil
	}
	return s.sealer.seal(appID, data)
}

// open returns the JSON of a stored record.
func (s *MerchantStore) open(appID, value string) ([]byte, error) {
	if s.sealer == nil {
		if len(value) < len(plainPrefix) || value[:len(plainPrefix)] != plainPrefix {
			return nil, errWrongFormat
		}
		return []byte(value[len(plainPrefix):]), nil
	}
	return s.sealer.open(appID, value)
}
