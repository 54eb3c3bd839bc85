package multipart

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// ErrDone is what a stopped [Body] returns: the call it belonged to is over.
var ErrDone = errors.New("multipart: upload finished")

// Session is what one upload call shares with the request bodies it hands
// to net/http: the first failure of a file source, the files to close, and
// the bodies to stop when the call ends, so that no source is read after
// the call returns (net/http may close a body asynchronously, and httpmock
// never does). It is safe for concurrent use.
type Session struct {
	mu      sync.Mutex
	err     error
	closers []io.Closer
	bodies  []*Body
	done    bool
}

// Fail records err unless a failure was recorded already.
func (s *Session) Fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// AddCloser registers c to be closed by Finish. After Finish it closes c at
// once and returns ErrDone.
func (s *Session) AddCloser(c io.Closer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		_ = c.Close()
		return ErrDone
	}
	s.closers = append(s.closers, c)
	return nil
}

// NewBody returns a stoppable body reading r, or nil once Finish was called.
func (s *Session) NewBody(r io.Reader) *Body {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	b := &Body{r: r, busy: make(chan struct{}, 1)}
	s.bodies = append(s.bodies, b)
	return b
}

// Finish stops every body, closes the registered closers and returns the
// first recorded failure. A read in progress is waited for until done is
// closed, then abandoned: a source whose Read never returns (a dead
// network stream) cannot hold the call past its deadline. No read starts
// after Finish. It may be called more than once.
func (s *Session) Finish(done <-chan struct{}) error {
	s.mu.Lock()
	s.done = true
	bodies := s.bodies
	s.mu.Unlock()
	for _, b := range bodies {
		b.stop(done)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.closers {
		_ = c.Close() // read-only sources: nothing to lose
	}
	s.closers = nil
	return s.err
}

// Record returns a reader over r that records r's first failure other than
// io.EOF in s, as wrap(err); r's own error is passed on unchanged.
func (s *Session) Record(r io.Reader, wrap func(error) error) io.Reader {
	return &recordReader{r: r, s: s, wrap: wrap}
}

type recordReader struct {
	r    io.Reader
	s    *Session
	wrap func(error) error
}

func (r *recordReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.s.Fail(r.wrap(err))
	}
	return n, err
}

// Body is a request body that can be stopped: after stop or Close, Read
// returns ErrDone without touching its source. No lock is held across the
// source's Read, so stopping never waits on a Read that may never return.
type Body struct {
	r       io.Reader
	busy    chan struct{} // holds a token while the source is being read
	stopped atomic.Bool
}

// Read reads from the source unless the body was stopped.
func (b *Body) Read(p []byte) (int, error) {
	b.busy <- struct{}{} // net/http reads a body from one goroutine: never waits in practice
	defer func() { <-b.busy }()
	if b.stopped.Load() {
		return 0, ErrDone
	}
	n, err := b.r.Read(p)
	if b.stopped.Load() {
		return 0, ErrDone // stopped while reading: what was read is dropped
	}
	return n, err
}

// Close stops the body without waiting; net/http calls it when it is done
// with the body, possibly while a Read is blocked.
func (b *Body) Close() error {
	b.stopped.Store(true)
	return nil
}

// stop stops the body and waits until no Read is in progress, or until
// done is closed.
func (b *Body) stop(done <-chan struct{}) {
	b.stopped.Store(true)
	select {
	case b.busy <- struct{}{}:
		<-b.busy
	case <-done:
	}
}
