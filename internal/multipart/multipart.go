// Package multipart holds the pure pieces of the SDK's streaming
// multipart/form-data uploads: part headers rendered byte for byte as
// mime/multipart writes them (so a body can be pre-rendered and its exact
// length known), content sniffing from a file's first bytes, and readers that
// enforce a file's size while it streams.
//
// Nothing here buffers a file: callers stream file bytes between the
// pre-rendered headers, through [NewLimitReader] or [NewExactReader].
package multipart

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/textproto"
	"unicode/utf8"
)

// TextContentType is the Content-Type of every text part. The Java SDK sends
// a bare "text/plain"; naming the charset removes any doubt about how a
// Chinese value is decoded, and the value is the UTF-8 string that was signed.
const TextContentType = "text/plain;charset=utf-8"

// Part is the header of one form-data part.
type Part struct {
	Name        string // form field name, e.g. "auth_field_apply" or "picture_1"
	Filename    string // "" for a text part
	ContentType string // e.g. TextContentType or the sniffed type of a file
}

// CheckName reports whether s can be used as a field name or filename
// without escaping: non-empty, valid UTF-8, and free of control characters,
// '"' and '\'. Rejecting instead of escaping keeps the header unambiguous for
// every parser (mime/multipart escapes quotes; the Java gateway does not
// unescape them).
func CheckName(s string) error {
	if s == "" {
		return errors.New("empty name")
	}
	if !utf8.ValidString(s) {
		return errors.New("name is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return errors.New("name contains a control character, '\"' or '\\'")
		}
	}
	return nil
}

// Disposition returns the Content-Disposition value of p.
func (p Part) Disposition() string {
	if p.Filename == "" {
		return `form-data; name="` + p.Name + `"`
	}
	return `form-data; name="` + p.Name + `"; filename="` + p.Filename + `"`
}

// MIMEHeader returns p's header for mime/multipart.Writer.CreatePart, which
// writes the same bytes as [AppendHeader].
func (p Part) MIMEHeader() textproto.MIMEHeader {
	return textproto.MIMEHeader{
		"Content-Disposition": {p.Disposition()},
		"Content-Type":        {p.ContentType},
	}
}

// AppendHeader appends the delimiter and header of p to dst exactly as
// mime/multipart.Writer.CreatePart writes them: "--B\r\n" before the first
// part, "\r\n--B\r\n" before any other, then the headers in sorted order and
// a blank line. p's names must pass [CheckName].
func AppendHeader(dst []byte, boundary string, first bool, p Part) []byte {
	if !first {
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "--"...)
	dst = append(dst, boundary...)
	dst = append(dst, "\r\nContent-Disposition: form-data; name=\""...)
	dst = append(dst, p.Name...)
	if p.Filename != "" {
		dst = append(dst, "\"; filename=\""...)
		dst = append(dst, p.Filename...)
	}
	dst = append(dst, "\"\r\nContent-Type: "...)
	dst = append(dst, p.ContentType...)
	return append(dst, "\r\n\r\n"...)
}

// HeaderLen returns len(AppendHeader(nil, boundary, first, p)).
func HeaderLen(boundary string, first bool, p Part) int {
	n := len("--") + len(boundary) + len("\r\nContent-Disposition: form-data; name=\"") + len(p.Name) +
		len("\"\r\nContent-Type: ") + len(p.ContentType) + len("\r\n\r\n")
	if p.Filename != "" {
		n += len("\"; filename=\"") + len(p.Filename)
	}
	if !first {
		n += len("\r\n")
	}
	return n
}

// AppendClosing appends the final delimiter that mime/multipart.Writer.Close
// writes after the last part: "\r\n--B--\r\n".
func AppendClosing(dst []byte, boundary string) []byte {
	dst = append(dst, "\r\n--"...)
	dst = append(dst, boundary...)
	return append(dst, "--\r\n"...)
}

// ClosingLen returns len(AppendClosing(nil, boundary)).
func ClosingLen(boundary string) int { return len(boundary) + 8 }

// ContentType returns the request's Content-Type for boundary.
func ContentType(boundary string) string { return "multipart/form-data; boundary=" + boundary }

// NewBoundary returns a random boundary of 128 bits, which no file content
// will contain by chance.
func NewBoundary() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "isvkit-" + hex.EncodeToString(b[:]), nil
}

// SniffLen is how many leading bytes [Sniff] looks at.
const SniffLen = 32

// Sniff returns the Content-Type of a file from its first bytes (at most
// SniffLen are used): image/jpeg, image/png, image/gif and image/bmp by magic
// bytes as the Java SDK detects them, video/mp4 for an ISO base-media file
// with an MP4 brand, else application/octet-stream.
func Sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return "image/jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "image/gif"
	case bytes.HasPrefix(head, []byte("BM")):
		return "image/bmp"
	case isMP4(head):
		return "video/mp4"
	}
	return "application/octet-stream"
}

// mp4Brands are the ftyp brands (major or compatible) of MP4 files.
var mp4Brands = [...]string{"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "dash", "M4V ", "mmp4", "MSNV"}

// isMP4 reports whether head starts with an ftyp box naming an MP4 brand.
// QuickTime ("qt  ") and 3GPP files are not MP4 here.
func isMP4(head []byte) bool {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return false
	}
	size := int(head[0])<<24 | int(head[1])<<16 | int(head[2])<<8 | int(head[3])
	if size < 16 || size%4 != 0 {
		return false
	}
	if size < len(head) {
		head = head[:size]
	}
	// Major brand at 8, minor version at 12, compatible brands from 16.
	for off := 8; off+4 <= len(head); off += 4 {
		if off == 12 {
			continue
		}
		for _, b := range mp4Brands {
			if string(head[off:off+4]) == b {
				return true
			}
		}
	}
	return false
}

// ErrInvalidRead is returned for a source whose Read reports an impossible
// count (negative, or more than the buffer): a broken io.Reader.
var ErrInvalidRead = errors.New("multipart: source returned an invalid byte count")

// NewLimitReader returns a reader that yields r's bytes while at most max
// have been read, and fails with over (after yielding exactly max bytes) as
// soon as r has more. It reads at most one byte past max from r. Use it for
// sources of unknown size. It is an exact reader that accepts ending early.
func NewLimitReader(r io.Reader, max int64, over error) io.Reader {
	return &exactReader{r: r, left: max, long: over}
}

// exactReader yields exactly size bytes of r or fails; with a nil short it
// yields at most size bytes (NewLimitReader).
type exactReader struct {
	r           io.Reader
	left        int64
	long, short error
}

// NewExactReader returns a reader that yields exactly size bytes of r: it
// fails with long if r has more (having read at most one byte more) and with
// short if r ends early. Use it for sources whose size was declared or
// measured up front, so that a body with a computed Content-Length is never
// cut or overrun silently.
func NewExactReader(r io.Reader, size int64, long, short error) io.Reader {
	return &exactReader{r: r, left: size, long: long, short: short}
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left < 0 {
		return 0, e.long
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > e.left+1 {
		p = p[:e.left+1]
	}
	n, err := e.r.Read(p)
	if n < 0 || n > len(p) {
		return 0, ErrInvalidRead
	}
	if int64(n) > e.left {
		n = int(e.left)
		e.left = -1
		return n, e.long
	}
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0 && e.short != nil:
		return n, e.short
	case err == io.EOF || err == nil:
		if e.left == 0 && err == nil {
			// The declared end: make sure the source ends here too.
			return n, e.checkEnd()
		}
		return n, err
	default:
		return n, err
	}
}

// checkEnd reads one more byte once size bytes were delivered: io.EOF when
// the source ends there, long when it has more.
func (e *exactReader) checkEnd() error {
	var b [1]byte
	for i := 0; i < 100; i++ {
		n, err := e.r.Read(b[:])
		if n > 0 {
			e.left = -1
			return e.long
		}
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// Field is a text part: its name and its value, sent byte for byte.
type Field struct{ Name, Value string }

// Render pre-renders the framing of a body made of fields followed by files:
// segment 0 holds every text part and the header of file 0, segment i the
// delimiter and header of file i, and the last segment the closing
// delimiter. The body is segment 0, file 0, segment 1, …, file n-1, segment
// n; with no files it is the single segment. All segments share one
// allocation.
func Render(boundary string, fields []Field, files []Part) [][]byte {
	n := ClosingLen(boundary)
	for i, f := range fields {
		n += HeaderLen(boundary, i == 0, textPart(f.Name)) + len(f.Value)
	}
	for i, p := range files {
		n += HeaderLen(boundary, i == 0 && len(fields) == 0, p)
	}
	buf := make([]byte, 0, n)
	segs := make([][]byte, 0, len(files)+1)
	start := 0
	for i, f := range fields {
		buf = AppendHeader(buf, boundary, i == 0, textPart(f.Name))
		buf = append(buf, f.Value...)
	}
	for i, p := range files {
		buf = AppendHeader(buf, boundary, i == 0 && len(fields) == 0, p)
		segs = append(segs, buf[start:len(buf):len(buf)])
		start = len(buf)
	}
	buf = AppendClosing(buf, boundary)
	return append(segs, buf[start:len(buf):len(buf)])
}

// Length returns the exact length of the body Render describes when file i
// has sizes[i] bytes, or -1 when a size is unknown (negative).
func Length(segments [][]byte, sizes []int64) int64 {
	var n int64
	for _, s := range segments {
		n += int64(len(s))
	}
	for _, s := range sizes {
		if s < 0 {
			return -1
		}
		n += s
	}
	return n
}

func textPart(name string) Part { return Part{Name: name, ContentType: TextContentType} }
