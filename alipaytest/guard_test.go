package alipaytest

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logTB records what the server logs and runs its cleanups on demand.
type logTB struct {
	mu       sync.Mutex
	lines    []string
	cleanups []func()
}

func (l *logTB) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logTB) Cleanup(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cleanups = append(l.cleanups, f)
}

func (l *logTB) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// waitErr polls until the server has recovered a panic.
func waitErr(t *testing.T, s *Server) error {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if err := s.Err(); err != nil {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no panic recovered")
	return nil
}

// Attack: a test's AuditFunc panics (or calls t.FailNow) in the server's
// timer goroutine. Before, the deferred unlock of a mutex the callback had
// released killed the whole test binary ("unlock of unlocked mutex").
func TestPanickingAuditFuncIsRecovered(t *testing.T) {
	t.Parallel()
	for name, decide := range map[string]AuditFunc{
		"panic":  func(Application) (Status, string) { panic("audit exploded") },
		"Goexit": func(Application) (Status, string) { runtime.Goexit(); return StatusAgree, "" },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tb := &logTB{}
			// The decision waits for the apply's answer: with a 0 delay it
			// could otherwise panic first, and the apply itself would
			// report the panic (on a loaded machine it sometimes did).
			gate := make(chan struct{})
			var open sync.Once
			openGate := func() { open.Do(func() { close(gate) }) }
			gated := func(a Application) (Status, string) { <-gate; return decide(a) }
			s, err := NewServer(WithAutoAudit(0, gated), WithTB(tb))
			require.NoError(t, err)
			defer s.Close()
			defer openGate() // before Close, which waits for the decision
			requireCode(t, applyCall(t, s).do(t), "10000", "")
			openGate()

			err = waitErr(t, s)
			var pe *PanicError
			require.True(t, errors.As(err, &pe), "%v", err)
			assert.Equal(t, "WithAutoAudit", pe.Func)
			assert.NotEmpty(t, pe.Stack)
			assert.Contains(t, tb.text(), "recovered panic in WithAutoAudit")

			// Reported once through the gateway, then it serves as before.
			r := newCall(t, s, methodFieldQuery).do(t)
			requireCode(t, r, "20000", "isp.unknow-error")
			assert.Contains(t, r.subMsg, "WithAutoAudit")
			r = newCall(t, s, methodFieldQuery).do(t)
			requireCode(t, r, "10000", "")
			assert.Contains(t, r.raw, `"status":"AUDIT"`, "a failed decision leaves the application under audit")
			require.NoError(t, s.Approve(DefaultMerchantToken, "getPhoneNumber", "mobile", "20180927110154092444"))
		})
	}
}

// Attack: a test's clock panics while a request is handled under the
// server's lock.
func TestPanickingClockIsRecovered(t *testing.T) {
	t.Parallel()
	var explode atomic.Bool
	clock := func() time.Time {
		if explode.Load() {
			panic("clock exploded")
		}
		return time.Now()
	}
	tb := &logTB{}
	s := newTestServer(t, WithClock(clock), WithTB(tb))
	explode.Store(true)
	r := applyCall(t, s).do(t)
	requireCode(t, r, "20000", "isp.unknow-error")
	assert.Contains(t, r.subMsg, "WithClock")
	assert.Contains(t, r.subMsg, "clock exploded")
	assert.Contains(t, tb.text(), "clock exploded")
	explode.Store(false)
	requireCode(t, newCall(t, s, methodAPIQuery).do(t), "10000", "")
	var pe *PanicError
	require.ErrorAs(t, s.Err(), &pe)
	assert.Equal(t, "WithClock", pe.Func)
}

func TestWithTBClosesTheServer(t *testing.T) {
	t.Parallel()
	tb := &logTB{}
	s, err := NewServer(WithTB(tb))
	require.NoError(t, err)
	require.Len(t, tb.cleanups, 1)
	tb.cleanups[0]()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	assert.True(t, closed)
	assert.NoError(t, s.Err())
}

// halfBody opens a connection and sends a request whose body stops halfway.
func halfBody(t *testing.T, s *Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(s.URL, gatewayPath), "http://"))
	require.NoError(t, err)
	_, err = conn.Write([]byte("POST " + gatewayPath + " HTTP/1.1\r\nHost: gw\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\napp_id=2021"))
	require.NoError(t, err)
	return conn
}

// Attack: a client sends half a body and stalls; Close waited for it
// forever.
func TestCloseDoesNotWaitForAHalfSentBody(t *testing.T) {
	t.Parallel()
	s, err := NewServer()
	require.NoError(t, err)
	conn := halfBody(t, s)
	defer conn.Close()
	time.Sleep(50 * time.Millisecond) // let the handler start reading the body
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Close hangs on a half-sent body")
	}
}

func TestReadTimeoutDropsAStalledBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithReadTimeout(100*time.Millisecond))
	conn := halfBody(t, s)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	buf := make([]byte, 4096)
	for { // the server answers or closes; either way the read ends well before the deadline
		if _, err := conn.Read(buf); err != nil {
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept the stalled connection: %v", err)
			break
		}
	}
	requireCode(t, newCall(t, s, methodAPIQuery).do(t), "10000", "")
}
