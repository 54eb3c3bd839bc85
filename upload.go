package alipay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	imultipart "github.com/isvkit/alipay/internal/multipart"
)

// Size limits of uploaded files (docs/protocol.md#limits). Alipay writes
// "10M" without saying whether it means 10×10⁶ or 10×2²⁰ bytes; we take the
// larger reading (row U16), which never refuses a file Alipay accepts, and
// the gateway's FILE_SIZE_OUT_LIMIT decides the rest.
const (
	// MaxFieldApplyFileSize bounds each picture and the video of
	// [Client.AppAPIFieldApply]: 10 MiB.
	MaxFieldApplyFileSize = 10 << 20
	// MaxFieldApplyPictures is the number of picture slots of
	// [Client.AppAPIFieldApply] (picture_1 … picture_5).
	MaxFieldApplyPictures = 5
	// MaxAppLogoSize bounds the logo of [Client.MiniBaseInfoModify]: 2 MiB.
	MaxAppLogoSize = 2 << 20
)

// fileSource says where a File's bytes come from.
type fileSource uint8

const (
	srcNone fileSource = iota
	srcPath
	srcReader
	srcBytes
)

// File is a file to upload: a path, a reader with a name, or bytes. Files
// are streamed, never held in memory by the SDK, and never signed. The part's
// Content-Type is sniffed from the first bytes (image/jpeg, image/png,
// image/gif, image/bmp, video/mp4, else application/octet-stream); the
// gateway checks the format, so give the filename the right extension.
//
// Sizes known before sending (a path's, bytes', a reader's declared size) are
// checked before anything is sent; a reader of unknown size is counted while
// it streams and aborts the upload with a [*ValidationError] naming the part
// once it passes the limit, so the gateway never receives a complete request.
// Empty files are refused. The zero File is no file.
type File struct {
	src  fileSource
	name string
	path string
	r    io.Reader
	b    []byte
	size int64 // -1: unknown until read
}

// FileFromPath uploads the file at path, named by its base name. The file is
// opened, measured and sniffed when the call is made, and closed after it.
// A call whose files all come from paths or bytes can be resent by net/http
// when a connection turns out stale before anything was written.
func FileFromPath(path string) File {
	return File{src: srcPath, path: path, name: filepath.Base(path), size: -1}
}

// FileFromReader uploads what r yields, under the filename name. size is the
// number of bytes r will yield, or negative (-1) when unknown: a known size
// is checked before sending and r must then yield exactly size bytes; an
// unknown size is enforced while streaming. The SDK reads r only during the
// call and does not close it; such a File is consumed by the call that
// sends it. A Read that blocks (a dead network stream) cannot hold the call
// past its deadline or a cancelled ctx: the call returns, no new Read
// starts, and what the blocked Read yields later is dropped.
func FileFromReader(name string, r io.Reader, size int64) File {
	if size < 0 {
		size = -1
	}
	return File{src: srcReader, name: name, r: r, size: size}
}

// FileFromBytes uploads b under the filename name. b must not change until
// the call returns.
func FileFromBytes(name string, b []byte) File {
	return File{src: srcBytes, name: name, b: b, size: int64(len(b))}
}

// WithName returns f sent under the filename name, e.g. a temporary file
// sent as "login.png".
func (f File) WithName(name string) File {
	f.name = name
	return f
}

// Name returns the filename the file is sent under.
func (f File) Name() string { return f.name }

// uploadFile is one file part of an upload call.
type uploadFile struct {
	field string // part name, e.g. "picture_1"
	file  File
	limit int64
}

// openFile is a file ready to stream: its header, its measured size, and
// readers over its bytes.
type openFile struct {
	part   imultipart.Part
	size   int64 // -1 unknown
	limit  int64
	first  io.Reader
	reopen func() (io.Reader, io.Closer, error) // nil: cannot be read twice
	method string
	over   sizeProblem // past the limit (unknown size) or the size
	short  sizeProblem // ended before the size
}

// sizeProblem is a size failure found while a file streams; it becomes the
// part's *ValidationError only when it happens (no allocation up front).
type sizeProblem struct {
	of   *openFile
	long bool
}

func (p *sizeProblem) Error() string { return p.validation().Error() }

func (p *sizeProblem) validation() *ValidationError {
	of := p.of
	problem := exceeds(of.limit)
	switch {
	case of.size >= 0 && p.long:
		problem = fmt.Sprintf("file has more than its size of %d bytes", of.size)
	case of.size >= 0:
		problem = fmt.Sprintf("file has fewer than its size of %d bytes", of.size)
	}
	return &ValidationError{Method: of.method, Field: of.part.Name, Problem: problem}
}

// fileError is the *ValidationError of one file part.
func fileError(method, field, problem string) error {
	return &ValidationError{Method: method, Field: field, Problem: problem}
}

func exceeds(limit int64) string { return fmt.Sprintf("file exceeds %d MiB", limit>>20) }

// check refuses, without I/O, a missing source, a bad filename, and a size
// known up front that is zero or over the limit.
func (u uploadFile) check(method string) error {
	f := &u.file
	problem := ""
	switch {
	case f.src == srcNone:
		problem = "no file given"
	case f.src == srcReader && f.r == nil:
		problem = "nil reader"
	case f.src == srcPath && f.path == "":
		problem = "empty path"
	case f.size == 0:
		problem = "empty file"
	case f.size > u.limit:
		problem = exceeds(u.limit)
	}
	if err := imultipart.CheckName(f.name); problem == "" && err != nil {
		problem = "filename: " + err.Error()
	}
	if problem == "" {
		return nil
	}
	return fileError(method, u.field, problem)
}

// open checks f and makes it ready to stream, before anything is sent:
// paths are opened and measured, heads are read for sniffing. Opened files
// are added to st, which closes them when the call ends.
func (u uploadFile) open(ctx context.Context, method string, st *imultipart.Session) (*openFile, error) {
	if err := u.check(method); err != nil {
		return nil, err
	}
	f := u.file
	size, of := f.size, &openFile{}
	var head []byte
	switch f.src {
	case srcPath:
		fh, err := os.Open(f.path)
		if err != nil {
			return nil, fmt.Errorf("alipay: %s: %s: %w", method, u.field, err)
		}
		_ = st.AddCloser(fh) // the session is live: registered
		fi, err := fh.Stat()
		if err != nil {
			return nil, fmt.Errorf("alipay: %s: %s: %w", method, u.field, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fileError(method, u.field, "not a regular file")
		}
		size = fi.Size()
		head = make([]byte, min(size, imultipart.SniffLen))
		if n, err := fh.ReadAt(head, 0); n < len(head) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("alipay: %s: %s: reading the file: %w", method, u.field, err)
		}
		of.first = fh
		of.reopen = func() (io.Reader, io.Closer, error) {
			fh, err := os.Open(f.path)
			if err != nil {
				return nil, nil, err
			}
			return fh, fh, nil
		}
	case srcBytes:
		head = f.b[:min(len(f.b), imultipart.SniffLen)]
		of.first = bytes.NewReader(f.b)
		of.reopen = func() (io.Reader, io.Closer, error) { return bytes.NewReader(f.b), nil, nil }
	case srcReader:
		head = make([]byte, imultipart.SniffLen)
		if size >= 0 && size < imultipart.SniffLen {
			head = head[:size]
		}
		n, err := readHead(ctx, f.r, head)
		switch {
		case n < 0 || n > len(head): // a broken reader
			return nil, fmt.Errorf("alipay: %s: %s: reading the file: %w", method, u.field, imultipart.ErrInvalidRead)
		case n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF):
			return nil, fileError(method, u.field, "empty file")
		case err == io.ErrUnexpectedEOF && size >= 0:
			return nil, fileError(method, u.field, fmt.Sprintf("file has fewer than its size of %d bytes", size))
		case err != nil && err != io.ErrUnexpectedEOF:
			return nil, fmt.Errorf("alipay: %s: %s: reading the file: %w", method, u.field, err)
		}
		head = head[:n]
		of.first = io.MultiReader(bytes.NewReader(head), f.r)
	}
	if size == 0 {
		return nil, fileError(method, u.field, "empty file")
	}
	if size > u.limit {
		return nil, fileError(method, u.field, exceeds(u.limit))
	}
	of.part = imultipart.Part{Name: u.field, Filename: f.name, ContentType: imultipart.Sniff(head)}
	of.size, of.limit, of.method = size, u.limit, method
	of.over, of.short = sizeProblem{of: of, long: true}, sizeProblem{of: of}
	return of, nil
}

// guard makes r enforce the file's size and record its failures in st.
func (of *openFile) guard(r io.Reader, st *imultipart.Session) io.Reader {
	if of.size < 0 {
		r = imultipart.NewLimitReader(r, of.limit, &of.over)
	} else {
		r = imultipart.NewExactReader(r, of.size, &of.over, &of.short)
	}
	return st.Record(r, func(err error) error {
		if sp, ok := err.(*sizeProblem); ok {
			return sp.validation()
		}
		return fmt.Errorf("alipay: %s: %s: reading the file: %w", of.method, of.part.Name, err)
	})
}
