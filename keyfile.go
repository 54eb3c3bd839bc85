package alipay

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// maxKeyFile bounds a key or certificate file (1 MiB): real ones take a
// few KiB (Alipay's root bundle about 5 KiB).
const maxKeyFile = 1 << 20

// readKeyFile reads a key or certificate file for option, bounded: only a
// regular file (or a link to one) of at most maxKeyFile bytes. The path is
// checked before it is opened, so a FIFO without a writer cannot block and
// /dev/zero cannot fill memory; the opened file is checked again, in case
// the path changed in between. Errors name the option and the path, never
// the content.
func readKeyFile(option, path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("alipay: %s: empty path", option)
	}
	before, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, err)
	}
	if err := checkKeyFile(option, path, before); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, err)
	}
	defer f.Close()
	after, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, err)
	}
	if !os.SameFile(before, after) {
		return nil, fmt.Errorf("alipay: %s: %s changed while it was opened", option, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, err)
	}
	if len(data) > maxKeyFile {
		return nil, tooLarge(option, path)
	}
	return data, nil
}

// checkKeyFile refuses what a key or certificate file cannot be.
func checkKeyFile(option, path string, fi fs.FileInfo) error {
	switch mode := fi.Mode(); {
	case !mode.IsRegular():
		return fmt.Errorf("alipay: %s: %s is %s, not a regular file: give the path of a key or certificate file", option, path, fileKind(mode))
	case fi.Size() > maxKeyFile:
		return tooLarge(option, path)
	}
	return nil
}

// tooLarge is the error of a file over maxKeyFile.
func tooLarge(option, path string) error {
	return fmt.Errorf("alipay: %s: %s is larger than 1 MiB: not a key or certificate file", option, path)
}

// fileKind names the type of a file that is not regular.
func fileKind(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a file of type " + mode.Type().String()
}
