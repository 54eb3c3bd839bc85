package alipay

import (
	"errors"
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
// the path changed in between. Errors name the option and the path (not a
// path that looks like a key: see shownPath), never the content.
func readKeyFile(option, path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("alipay: %s: empty path", option)
	}
	shown := shownPath(path)
	before, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, hidePath(err, shown))
	}
	if err := checkKeyFile(option, shown, before); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, hidePath(err, shown))
	}
	defer f.Close()
	after, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, hidePath(err, shown))
	}
	if !os.SameFile(before, after) {
		return nil, fmt.Errorf("alipay: %s: %s changed while it was opened", option, shown)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("alipay: %s: %w", option, hidePath(err, shown))
	}
	if len(data) > maxKeyFile {
		return nil, tooLarge(option, shown)
	}
	return data, nil
}

// shownPath is path as an error shows it. A key pasted where a path
// belongs (bare Base64, which the key options accept, in a …File option
// or a …_FILE variable) is a missing file whose error would quote the
// key: a path made only of Base64 characters, 16 or more, is not shown.
func shownPath(path string) string {
	if len(path) < 16 {
		return path
	}
	for i := 0; i < len(path); i++ {
		if b := path[i]; !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=') {
			return path
		}
	}
	return "(a path that looks like a key, not shown)"
}

// hidePath returns err with the path of an *fs.PathError replaced by
// shown.
func hidePath(err error, shown string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path != shown {
		return &fs.PathError{Op: pe.Op, Path: shown, Err: pe.Err}
	}
	return err
}

// checkKeyFile refuses what a key or certificate file cannot be; path is
// as errors show it.
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
