package alipay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	imultipart "github.com/isvkit/alipay/internal/multipart"
)

// The upload path: the files of a call are opened and checked before
// anything is sent (openUpload); each attempt then signs the text params
// (never the files) and streams the multipart body with the client's
// *http.Client.

// openedUpload is the opened files of one upload call and the session that
// closes them and stops their readers when the call ends.
type openedUpload struct {
	method string
	opened []*openFile
	st     *imultipart.Session
}

// closed is a done channel that is always done.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// openUpload opens and checks every file; nothing is sent when one fails.
// The ctx bounds reading the head of a reader (for sniffing).
func (c *Client) openUpload(ctx context.Context, method string, files []uploadFile) (*openedUpload, error) {
	up := &openedUpload{method: method, opened: make([]*openFile, len(files)), st: &imultipart.Session{}}
	for i, u := range files {
		of, err := u.open(ctx, method, up.st)
		if err != nil {
			up.close()
			return nil, err
		}
		up.opened[i] = of
	}
	return up, nil
}

// close ends the session without waiting for any read: it closes the files
// an early return left open (its error was handled where it happened).
func (up *openedUpload) close() { _ = up.st.Finish(closed) }

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

// sendUpload streams one attempt's multipart body and reads the answer.
// Its errors are final: a file that failed while streaming, or a scrubbed
// transport error.
func (c *Client) sendUpload(ctx context.Context, method string, s *signed, up *openedUpload) (*http.Response, []byte, error) {
	boundary, err := imultipart.NewBoundary()
	if err != nil {
		return nil, nil, fmt.Errorf("alipay: %s: %w", method, err)
	}
	fields := make([]imultipart.Field, len(s.body))
	for i, p := range s.body {
		fields[i] = imultipart.Field{Name: p.key, Value: p.value}
	}
	opened, st := up.opened, up.st
	parts := make([]imultipart.Part, len(opened))
	sizes := make([]int64, len(opened))
	reopen := true
	for i, of := range opened {
		parts[i], sizes[i] = of.part, of.size
		reopen = reopen && of.reopen != nil
	}
	segs := imultipart.Render(boundary, fields, parts)
	length := imultipart.Length(segs, sizes)

	var body io.ReadCloser
	wait := func() {}
	if length >= 0 {
		body = st.NewBody(multiReader(segs, opened, nil, st))
	} else {
		pr, pw := io.Pipe()
		done := make(chan struct{})
		bodies := make([]io.Reader, len(opened))
		for i, of := range opened {
			bodies[i] = st.NewBody(of.guard(of.first, st)) // stopped when the call ends
		}
		go func() {
			defer close(done)
			pw.CloseWithError(imultipart.Stream(pw, boundary, fields, parts, bodies)) // nil: EOF
		}()
		body = pr
		wait = func() {
			pr.CloseWithError(imultipart.ErrDone) // unblocks the writer if nobody read the body
			select {
			case <-done:
			case <-ctx.Done(): // the writer is stuck in a source's Read: abandon it
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, body)
	if err != nil {
		wait()
		return nil, nil, fmt.Errorf("alipay: %s: %w", method, err)
	}
	req.ContentLength = length
	if length >= 0 && reopen {
		req.GetBody = func() (io.ReadCloser, error) { return reopenBody(method, segs, opened, st) }
	}
	req.Header.Set("Content-Type", imultipart.ContentType(boundary))
	req.Header.Set("User-Agent", userAgent)

	resp, err := c.core.http.Do(req)
	var raw []byte
	if err == nil {
		raw, err = readBody(resp) // the form path's reader: limit, gzip, close
	}
	wait()
	if ferr := st.Finish(ctx.Done()); ferr != nil {
		return nil, nil, ferr
	}
	if err != nil {
		return nil, nil, c.scrubTransport(ctx, method, err)
	}
	return resp, raw, nil
}

// multiReader streams segment 0, file 0, segment 1, …: the body with an
// exact length. readers replaces the files' first readers when not nil.
func multiReader(segs [][]byte, opened []*openFile, readers []io.Reader, st *imultipart.Session) io.Reader {
	rs := make([]io.Reader, 0, 2*len(segs))
	for i, seg := range segs {
		rs = append(rs, bytes.NewReader(seg))
		if i < len(opened) {
			r := opened[i].first
			if readers != nil {
				r = readers[i]
			}
			rs = append(rs, opened[i].guard(r, st))
		}
	}
	return io.MultiReader(rs...)
}

// reopenBody rebuilds the body from sources that can be read again (paths,
// bytes), for net/http's GetBody.
func reopenBody(method string, segs [][]byte, opened []*openFile, st *imultipart.Session) (io.ReadCloser, error) {
	readers := make([]io.Reader, len(opened))
	for i, of := range opened {
		r, cl, err := of.reopen()
		if err != nil {
			return nil, fmt.Errorf("alipay: %s: %s: %w", method, of.part.Name, err)
		}
		if cl != nil {
			if err := st.AddCloser(cl); err != nil {
				return nil, err
			}
		}
		readers[i] = r
	}
	b := st.NewBody(multiReader(segs, opened, readers, st))
	if b == nil {
		return nil, imultipart.ErrDone
	}
	return b, nil
}
