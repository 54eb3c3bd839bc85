// Package ttlstore is the bounded, in-memory claim/done table behind the
// notification dedupe store of package alipay.
//
// Each id is either claimed (held by one handler until its lease ends) or
// done (remembered until its TTL ends). A claim is owned: Claim hands out a
// token, and only that token completes (Done) or frees (Release) the claim,
// so a handler whose lease ran out cannot end the claim of the handler that
// took the id after it. Expired entries are dropped at every
// operation through a min-heap on the expiry time; when the table is full
// and nothing has expired, the entry written least recently is evicted. The
// caller passes the current time to every method, so the logic is pure and
// testable without a clock. A Store is safe for concurrent use.
package ttlstore

import (
	"container/heap"
	"container/list"
	"strconv"
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

// entry is one id. token is the owner of a claim ("" once done); index is
// its position in the expiry heap, elem its node in the age list.
type entry struct {
	id      string
	token   string
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
	claims  uint64 // claims handed out: the source of tokens
}

// New returns a store holding at most limit ids (at least 1).
func New(limit int) *Store {
	if limit < 1 {
		limit = 1
	}
	return &Store{limit: limit, entries: make(map[string]*entry), age: list.New()}
}

// Claim takes id for lease unless it is done or claimed by someone else.
// When it answers Claimed it also returns the claim's token, which no other
// claim of this Store shares; otherwise the token is "".
func (s *Store) Claim(id string, now time.Time, lease time.Duration) (State, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if e, ok := s.entries[id]; ok {
		if e.done {
			return AlreadyDone, ""
		}
		return InProgress, ""
	}
	s.claims++
	token := strconv.FormatUint(s.claims, 10)
	s.put(id, token, now.Add(lease))
	return Claimed, token
}

// Done marks id done until now+ttl for the claim token holds, and reports
// whether id is now done. When the claim has ended meanwhile (its lease
// expired, or it was evicted) and nobody holds id, the work still happened,
// so id is marked done; a done id stays as it is. Only while another claim
// is live does Done change nothing and report false: that claim's owner
// decides.
func (s *Store) Done(id, token string, now time.Time, ttl time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if e, ok := s.entries[id]; ok && (e.done || e.token != token) {
		return e.done
	}
	s.put(id, "", now.Add(ttl))
	return true
}

// Release drops the claim token holds on id so that the next Claim takes it
// at once. Another claim, a done id and an absent one are left as they are.
func (s *Store) Release(id, token string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if e, ok := s.entries[id]; ok && !e.done && e.token == token {
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

// put writes id (new or existing), claimed by token or done when token is
// "", and makes room first when needed.
func (s *Store) put(id, token string, expires time.Time) {
	done := token == ""
	if e, ok := s.entries[id]; ok {
		e.token, e.done, e.expires = token, done, expires
		heap.Fix(&s.expiry, e.index)
		s.age.MoveToBack(e.elem)
		return
	}
	for len(s.entries) >= s.limit {
		oldest := s.age.Front().Value.(*entry)
		s.remove(oldest)
		s.evicted++
	}
	e := &entry{id: id, token: token, done: done, expires: expires}
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
