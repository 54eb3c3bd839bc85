package alipay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	imultipart "github.com/isvkit/alipay/internal/multipart"
)

// The upload path: the files of a call are checked (Client.upload) and
// opened (openUpload) before anything is sent; the attempt then signs the
// text params (never the files) and streams the multipart body with the
// client's *http.Client.

// openedUpload is the opened files of one upload call and the session that
// closes them and stops their readers when the call ends.
type openedUpload struct {
	opened []*openFile
	st     *imultipart.Session
}

// closed is a done channel that is always done.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// openUpload opens every file, checked already; nothing is sent when one
// fails. The ctx bounds reading the head of a reader (for sniffing).
func (c *Client) openUpload(ctx context.Context, method string, files []uploadFile) (*openedUpload, error) {
	up := &openedUpload{opened: make([]*openFile, len(files)), st: &imultipart.Session{}}
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

// uploadBody is what an attempt sends: the body, its length and how to get
// it again.
type uploadBody struct {
	body        io.ReadCloser
	length      int64 // exact; -1 when a file's size is unknown (net/http sends it chunked)
	contentType string
	// getBody rebuilds the body for net/http (a stale connection found
	// before anything was written); nil unless the length is known and
	// every file can be read again.
	getBody func() (io.ReadCloser, error)
}

// body turns the text params and the opened files into the multipart body
// of one attempt: the framing is rendered once, then each body is the
// segments and the files' readers, each file behind its size guard, in one
// io.MultiReader that the session can stop.
func (up *openedUpload) body(text []param) (*uploadBody, error) {
	boundary, err := imultipart.NewBoundary()
	if err != nil {
		return nil, err
	}
	fields := make([]imultipart.Field, len(text))
	for i, p := range text {
		fields[i] = imultipart.Field{Name: p.key, Value: p.value}
	}
	parts := make([]imultipart.Part, len(up.opened))
	sizes := make([]int64, len(up.opened))
	again := true
	for i, of := range up.opened {
		parts[i], sizes[i] = of.part, of.size
		again = again && of.again
	}
	segs := imultipart.Render(boundary, fields, parts)
	stream := func() (io.ReadCloser, error) {
		rs := make([]io.Reader, 0, len(segs)+len(up.opened))
		for i, of := range up.opened {
			rs = append(rs, bytes.NewReader(segs[i]), of.guard(of.read(), up.st))
		}
		b := up.st.NewBody(io.MultiReader(append(rs, bytes.NewReader(segs[len(segs)-1]))...))
		if b == nil {
			return nil, imultipart.ErrDone // the call is over
		}
		return b, nil
	}
	b := &uploadBody{length: imultipart.Length(segs, sizes), contentType: imultipart.ContentType(boundary)}
	if b.body, err = stream(); err != nil {
		return nil, err
	}
	if b.length >= 0 && again {
		b.getBody = stream
	}
	return b, nil
}

// sendUpload streams one attempt's multipart body and reads the answer.
// Its errors are final: a file that failed while streaming, or a scrubbed
// transport error. When it returns, no file is read any more: a source
// stalled in Read is abandoned once ctx is done.
func (c *Client) sendUpload(ctx context.Context, method string, s *signed, up *openedUpload) (*http.Response, []byte, error) {
	b, err := up.body(s.body)
	if err != nil {
		return nil, nil, fmt.Errorf("alipay: %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, b.body)
	if err != nil {
		return nil, nil, fmt.Errorf("alipay: %s: %w", method, err)
	}
	req.ContentLength, req.GetBody = b.length, b.getBody
	req.Header.Set("Content-Type", b.contentType)
	req.Header.Set("User-Agent", userAgent)

	resp, err := c.core.http.Do(req)
	var raw []byte
	if err == nil {
		raw, err = readBody(resp) // the form path's reader: limit, gzip, close
	}
	if ferr := up.st.Finish(ctx.Done()); ferr != nil {
		return nil, nil, ferr
	}
	if err != nil {
		return nil, nil, c.scrubTransport(ctx, method, err)
	}
	return resp, raw, nil
}
