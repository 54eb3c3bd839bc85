package alipay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	imultipart "github.com/isvkit/alipay/internal/multipart"
)

// Size limits of uploaded files (docs/wire.md#limits). Alipay writes
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
	name string
	size int64      // -1: unknown until read
	src  fileSource // nil: the zero File, no file
	bad  string     // what makes the File unusable, known when it was made; "" when nothing
}

// FileFromPath uploads the file at path, named by its base name. The file is
// opened, measured and sniffed when the call is made, and closed after it.
// A call whose files all come from paths or bytes can be resent by net/http
// when a connection turns out stale before anything was written.
func FileFromPath(path string) File {
	f := File{name: filepath.Base(path), size: -1, src: pathFile(path)}
	if path == "" {
		f.bad = "empty path"
	}
	return f
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
	f := File{name: name, size: size, src: &readerFile{r}}
	if r == nil {
		f.bad = "nil reader"
	}
	return f
}

// FileFromBytes uploads b under the filename name. b must not change until
// the call returns.
func FileFromBytes(name string, b []byte) File {
	return File{name: name, size: int64(len(b)), src: &bytesFile{b}}
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

// openFile is a file ready to stream: its header, its size, and its bytes.
type openFile struct {
	source
	part   imultipart.Part
	limit  int64
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

// check refuses, without I/O, a missing or unusable source, a bad filename,
// and a size known up front that is zero or over the limit. It is the only
// check of a File; opening it measures what was not known.
func (u uploadFile) check(method string) error {
	f := &u.file
	problem := f.bad
	switch {
	case f.src == nil:
		problem = "no file given"
	case problem != "":
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

// open makes a checked file ready to stream, before anything is sent: its
// source is opened and measured, and its head read for sniffing. Opened
// files are added to st, which closes them when the call ends.
func (u uploadFile) open(ctx context.Context, method string, st *imultipart.Session) (*openFile, error) {
	src, err := u.file.src.open(ctx, u.file.size, u.limit, st)
	var problem fileProblem
	switch {
	case errors.As(err, &problem):
		return nil, fileError(method, u.field, string(problem))
	case err != nil:
		return nil, fmt.Errorf("alipay: %s: %s: %w", method, u.field, err)
	}
	of := &openFile{source: src, limit: u.limit, method: method,
		part: imultipart.Part{Name: u.field, Filename: u.file.name, ContentType: imultipart.Sniff(src.head)}}
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

// fileSource is where a File's bytes come from: a path, bytes or a reader.
type fileSource interface {
	// open makes the source ready to stream, before anything is sent, for
	// a File of the given size (-1: unknown) and limit; files it opens are
	// added to st. A problem of the file itself is a fileProblem.
	open(ctx context.Context, size, limit int64, st *imultipart.Session) (source, error)
}

// source is an opened fileSource.
type source struct {
	head []byte // the first bytes, for sniffing
	size int64  // -1: unknown until streamed
	// read returns a reader of every byte from the first. A source that
	// can be read again (again) returns a fresh reader on each call;
	// otherwise read is called once.
	read  func() io.Reader
	again bool
}

// fileProblem is what is wrong with a file the user gave; it becomes the
// part's *ValidationError.
type fileProblem string

func (p fileProblem) Error() string { return string(p) }

// pathFile is a file on disk. It is opened once: the handle is measured,
// sniffed with ReadAt and streamed through section readers, so the bytes
// sent are those of the file that was measured, however often net/http
// asks for the body.
type pathFile string

func (p pathFile) open(_ context.Context, _, limit int64, st *imultipart.Session) (source, error) {
	fh, err := os.Open(string(p))
	if err != nil {
		return source{}, err
	}
	_ = st.AddCloser(fh) // the session is live: registered
	fi, err := fh.Stat()
	switch {
	case err != nil:
		return source{}, err
	case !fi.Mode().IsRegular():
		return source{}, fileProblem("not a regular file")
	case fi.Size() == 0:
		return source{}, fileProblem("empty file")
	case fi.Size() > limit:
		return source{}, fileProblem(exceeds(limit))
	}
	size := fi.Size()
	head := make([]byte, min(size, imultipart.SniffLen))
	if n, err := fh.ReadAt(head, 0); n < len(head) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return source{}, fmt.Errorf("reading the file: %w", err)
	}
	return source{head: head, size: size, again: true,
		read: func() io.Reader { return io.NewSectionReader(fh, 0, size) }}, nil
}

// bytesFile is a File's bytes, held by the caller.
type bytesFile struct{ b []byte }

func (f *bytesFile) open(context.Context, int64, int64, *imultipart.Session) (source, error) {
	return source{head: f.b[:min(len(f.b), imultipart.SniffLen)], size: int64(len(f.b)), again: true,
		read: func() io.Reader { return bytes.NewReader(f.b) }}, nil
}

// readerFile is a reader, read once: its head is read for sniffing (bounded
// by ctx) and streamed back before the rest.
type readerFile struct{ r io.Reader }

func (f *readerFile) open(ctx context.Context, size, _ int64, _ *imultipart.Session) (source, error) {
	head := make([]byte, imultipart.SniffLen)
	if size >= 0 && size < imultipart.SniffLen {
		head = head[:size]
	}
	n, err := readHead(ctx, f.r, head)
	switch {
	case n < 0 || n > len(head): // a broken reader
		return source{}, fmt.Errorf("reading the file: %w", imultipart.ErrInvalidRead)
	case n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF):
		return source{}, fileProblem("empty file")
	case err == io.ErrUnexpectedEOF && size >= 0:
		return source{}, fileProblem(fmt.Sprintf("file has fewer than its size of %d bytes", size))
	case err != nil && err != io.ErrUnexpectedEOF:
		return source{}, fmt.Errorf("reading the file: %w", err)
	}
	head = head[:n]
	r := io.MultiReader(bytes.NewReader(head), f.r)
	return source{head: head, size: size, read: func() io.Reader { return r }}, nil
}

// readHead fills head from r like io.ReadFull, but returns when ctx ends
// even if r's Read never does; the abandoned read then fills a buffer
// nobody looks at.
func readHead(ctx context.Context, r io.Reader, head []byte) (int, error) {
	if ctx.Done() == nil {
		return io.ReadFull(r, head)
	}
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		n, err := io.ReadFull(r, head)
		ch <- result{n, err}
	}()
	select {
	case res := <-ch:
		return res.n, res.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
