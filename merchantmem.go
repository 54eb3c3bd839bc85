package alipay

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// MemoryMerchantStore is a [MerchantStore] in the process's memory: for
// tests, examples and single-process tools. Its records die with the
// process, and replicas do not share it (use redisstore's MerchantStore).
// It is safe for concurrent use. The zero value is not usable: build one
// with [NewMemoryMerchantStore].
type MemoryMerchantStore struct {
	mu      sync.Mutex
	records map[string]*Merchant
}

var _ MerchantStore = (*MemoryMerchantStore)(nil)

// NewMemoryMerchantStore returns an empty store.
func NewMemoryMerchantStore() *MemoryMerchantStore {
	return &MemoryMerchantStore{records: make(map[string]*Merchant)}
}

// Get returns a copy of the record of appID.
func (s *MemoryMerchantStore) Get(ctx context.Context, appID string) (*Merchant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.records[appID]
	if !ok {
		return nil, &notFoundError{appID: appID}
	}
	return m.Clone(), nil
}

// Put writes m if the stored version is m.Version (see [MerchantStore]).
func (s *MemoryMerchantStore) Put(ctx context.Context, m *Merchant) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var stored int64
	if cur, ok := s.records[m.AppID]; ok {
		stored = cur.Version
	}
	if stored != m.Version {
		return fmt.Errorf("alipay: merchant %s: stored version %d, put version %d: %w", m.AppID, stored, m.Version, ErrVersionConflict)
	}
	cp := normalizeTimes(m.Clone())
	cp.Version = stored + 1
	s.records[m.AppID] = cp
	m.Version = cp.Version
	return nil
}

// AppIDsByAuthCode returns the app ids whose record holds digest.
func (s *MemoryMerchantStore) AppIDsByAuthCode(ctx context.Context, digest string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if digest == "" {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, m := range s.records {
		if m.AuthCodeDigest == digest {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Len returns the number of records.
func (s *MemoryMerchantStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// normalizeTimes returns m with every time in UTC and without monotonic
// clock reading, as a store that serialises them gives them back.
func normalizeTimes(m *Merchant) *Merchant {
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return t.UTC()
	}
	m.AuthorizedAt, m.RefreshedAt, m.StateSince = utc(m.AuthorizedAt), utc(m.RefreshedAt), utc(m.StateSince)
	m.Refresh.Until = utc(m.Refresh.Until)
	for i := range m.History {
		m.History[i].At = utc(m.History[i].At)
	}
	return m
}
