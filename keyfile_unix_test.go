//go:build unix

package alipay

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyFileDevZeroRefused: a path to /dev/zero (an endless device) would
// eat memory without limit; it is refused before it is read. The options
// run in a child process whose address space is capped, so that code
// without the check fails this test instead of exhausting the machine.
func TestKeyFileDevZeroRefused(t *testing.T) {
	if os.Getenv("ALIPAY_TEST_DEVZERO_CHILD") == "1" {
		limit := syscall.Rlimit{Cur: 1 << 30, Max: 1 << 30}
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_AS, &limit))
		for name := range fileOptions {
			assert.EqualError(t, fileOptionError(name, "/dev/zero"),
				"alipay: "+name+": /dev/zero is a character device, not a regular file: give the path of a key or certificate file")
		}
		_, err := readKeyFile("WithPrivateKeyFile", "/dev/zero") // what every …File option reads with
		assert.Error(t, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKeyFileDevZeroRefused$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ALIPAY_TEST_DEVZERO_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// TestKeyFileFIFOWithoutWriterFailsFast: opening a FIFO that no process
// writes blocks forever; the option refuses it without opening it.
func TestKeyFileFIFOWithoutWriterFailsFast(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for name := range fileOptions {
		done := make(chan error, 1)
		go func() { done <- fileOptionError(name, fifo) }()
		select {
		case err := <-done:
			assert.EqualError(t, err, "alipay: "+name+": "+fifo+" is a named pipe, not a regular file: give the path of a key or certificate file")
		case <-time.After(20 * time.Second):
			// Unblock the reader so the test binary can end, then fail.
			if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
				_ = w.Close()
			}
			t.Fatalf("%s: blocked opening a FIFO without a writer", name)
		}
	}
}
