package multipart

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type countCloser struct{ n int }

func (c *countCloser) Close() error { c.n++; return nil }

func TestSessionStopsBodiesAndClosesFiles(t *testing.T) {
	t.Parallel()
	var s Session
	f := &countCloser{}
	require.NoError(t, s.AddCloser(f))
	b := s.NewBody(bytes.NewReader([]byte("abc")))
	require.NotNil(t, b)
	p := make([]byte, 2)
	n, err := b.Read(p)
	assert.Equal(t, 2, n)
	assert.NoError(t, err)

	assert.NoError(t, s.Finish(nil))
	assert.Equal(t, 1, f.n)
	n, err = b.Read(p)
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, ErrDone)
	assert.Nil(t, s.NewBody(bytes.NewReader(nil)), "no body after Finish")

	late := &countCloser{}
	assert.ErrorIs(t, s.AddCloser(late), ErrDone)
	assert.Equal(t, 1, late.n, "a closer added late is closed at once")
	assert.NoError(t, s.Finish(nil))
	assert.Equal(t, 1, f.n, "closed once")
}

func TestSessionRecordsFirstFailure(t *testing.T) {
	t.Parallel()
	var s Session
	first, second := errors.New("first"), errors.New("second")
	wrap := func(err error) error { return errors.Join(errors.New("wrapped"), err) }
	_, err := io.ReadAll(s.Record(iotest.ErrReader(first), wrap))
	assert.ErrorIs(t, err, first, "the reader's own error passes unchanged")
	_, _ = io.ReadAll(s.Record(iotest.ErrReader(second), wrap))
	_, _ = io.ReadAll(s.Record(bytes.NewReader([]byte("ok")), wrap))
	got := s.Finish(nil)
	assert.ErrorIs(t, got, first)
	assert.NotErrorIs(t, got, second)
}

func TestBodyCloseStops(t *testing.T) {
	t.Parallel()
	var s Session
	b := s.NewBody(bytes.NewReader([]byte("abc")))
	require.NoError(t, b.Close())
	_, err := b.Read(make([]byte, 1))
	assert.ErrorIs(t, err, ErrDone)
}

// TestFinishWaitsForReadInProgress shows that after Finish returns no
// source is read any more, even when a read was in flight.
func TestFinishWaitsForReadInProgress(t *testing.T) {
	t.Parallel()
	var s Session
	entered, release := make(chan struct{}), make(chan struct{})
	src := readerFunc(func(p []byte) (int, error) {
		close(entered)
		<-release
		return 1, nil
	})
	b := s.NewBody(src)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = b.Read(make([]byte, 4))
	}()
	<-entered
	finished := make(chan struct{})
	go func() {
		_ = s.Finish(nil)
		close(finished)
	}()
	select {
	case <-finished:
		t.Fatal("Finish returned while a read was in progress")
	default:
	}
	close(release)
	<-finished
	wg.Wait()
}

// TestFinishAbandonsStalledRead: a source whose Read never returns holds
// Finish only until done is closed, and Close never waits for it.
func TestFinishAbandonsStalledRead(t *testing.T) {
	t.Parallel()
	var s Session
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var once sync.Once
	b := s.NewBody(readerFunc(func(p []byte) (int, error) {
		once.Do(func() { close(entered) })
		<-release
		return len(p), nil
	}))
	read := make(chan error, 1)
	go func() {
		_, err := b.Read(make([]byte, 4))
		read <- err
	}()
	<-entered
	require.NoError(t, b.Close(), "Close does not wait for the stalled Read")
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		_ = s.Finish(done)
		close(finished)
	}()
	close(done)
	<-finished
	select {
	case <-read:
		t.Fatal("the stalled Read returned")
	default:
	}
	release <- struct{}{}
	assert.ErrorIs(t, <-read, ErrDone, "what a stopped body read late is dropped")
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
