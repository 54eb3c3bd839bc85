// Package ttlstore is the bounded, in-memory claim/done table behind the
// notification dedupe store of package alipay.
//
// Each id is either claimed (held by one handler until its lease ends) or
// done (remembered until its TTL ends). Expired entries are dropped at every
// operation through a min-heap on the expiry time; when the table is full
// and nothing has expired, the entry written least recently is evicted. The
// caller passes the current time to every method, so the logic is pure and
// testable without a clock. A Store is safe for concurrent use.
package ttlstore

import (
	"container/heap"
	"container/list"
	"sync"
	"time"
)

// State is the answer of [Store.Claim].
type State int

// Answers of Claim.
const (
	// Claimed: the id was free (never seen, expired, released or evicted)
	// and is now held by the caller until the lease ends.
	Claimed State = iota + 1
	// AlreadyDone: the id was marked done and its TTL has not ended.
	AlreadyDone
	// InProgress: another caller holds a live claim on the id.
	InProgress
)

// entry is one id. index is its position in the expiry heap, elem its node
// in the age list.
type entry struct {
	id      string
	done    bool
	expires time.Time
	index   int
	elem    *list.Element
}

// expiryHeap orders entries by expiry time, earliest first.
type expiryHeap []*entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *expiryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	e.index = -1
	return e
}

// Store is a bounded table of claimed and done ids.
type Store struct {
	mu      sync.Mutex
	limit   int
	entries map[string]*entry
	expiry  expiryHeap
	age     *list.List // least recently written first
	evicted uint64
}

// New returns a store holding at most limit ids (at least 1).
func New(limit int) *Store {
	if limit < 1 {
		limit = 1
	}
	return &Store{limit: limit, entries: make(map[string]*entry), age: list.New()}
}

// Claim takes id for lease unless it is done or claimed by someone else.
func (s *Store) Claim(id string, now time.Time, lease time.Duration) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if e, ok := s.entries[id]; ok {
		if e.done {
			return AlreadyDone
		}
		return InProgress
	}
	s.put(id, false, now.Add(lease))
	return Claimed
}

// Done marks id done until now+ttl, whether or not it was claimed (its
// claim may have expired or been evicted while the handler ran).
func (s *Store) Done(id string, now time.Time, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.put(id, true, now.Add(ttl))
}

// Release drops a live claim on id so that the next Claim takes it at once.
// A done id stays done.
func (s *Store) Release(id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if e, ok := s.entries[id]; ok && !e.done {
		s.remove(e)
	}
}

// Len returns the number of ids held, expired ones included until the next
// operation drops them.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Evicted returns how many live ids were dropped because the store was full.
func (s *Store) Evicted() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted
}

// put writes id (new or existing) and makes room first when needed.
func (s *Store) put(id string, done bool, expires time.Time) {
	if e, ok := s.entries[id]; ok {
		e.done, e.expires = done, expires
		heap.Fix(&s.expiry, e.index)
		s.age.MoveToBack(e.elem)
		return
	}
	for len(s.entries) >= s.limit {
		oldest := s.age.Front().Value.(*entry)
		s.remove(oldest)
		s.evicted++
	}
	e := &entry{id: id, done: done, expires: expires}
	e.elem = s.age.PushBack(e)
	heap.Push(&s.expiry, e)
	s.entries[id] = e
}

// sweep drops every entry whose expiry is not after now.
func (s *Store) sweep(now time.Time) {
	for len(s.expiry) > 0 && !s.expiry[0].expires.After(now) {
		s.remove(s.expiry[0])
	}
}

// remove drops e from all three structures.
func (s *Store) remove(e *entry) {
	heap.Remove(&s.expiry, e.index)
	s.age.Remove(e.elem)
	delete(s.entries, e.id)
}
