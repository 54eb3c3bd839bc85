package alipaytest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
)

// Parsing limits besides the body cap.
const (
	maxTextPart = 1 << 20 // bytes of one text part or of a form body's value
	maxParts    = 64      // parts of a multipart body
	headBytes   = 64 << 10
)

// incoming is a request as received: every text parameter from the URL
// query and the body (urlencoded form or multipart text parts), and the
// metadata of the file parts, which were streamed and never buffered.
type incoming struct {
	params    map[string]string // first value of each text parameter
	counts    map[string]int    // occurrences of each name, files included
	inQuery   map[string]bool   // names seen in the URL query
	files     []*filePart
	mediaType string // of the body; "" when there is none
	malformed string // why the request could not be parsed; "" when it could
	tooLarge  bool   // the body exceeded the cap
	// aesKey is the calling app's AES key when the request came with
	// encrypt_type=AES; its answer is then encrypted too. plainBiz is its
	// decrypted biz_content.
	aesKey   []byte
	plainBiz string
}

// biz returns biz_content in plain text: decrypted when the request was
// AES-encrypted.
func (in *incoming) biz() string {
	if in.aesKey != nil {
		return in.plainBiz
	}
	return in.get("biz_content")
}

// filePart is a received file part: its description and its first bytes
// (at most headBytes, for format checks).
type filePart struct {
	File
	head []byte
}

// get returns the text parameter name ("" when absent).
func (in *incoming) get(name string) string { return in.params[name] }

// duplicate returns the smallest name received more than once, or "".
func (in *incoming) duplicate() string {
	var dups []string
	for k, n := range in.counts {
		if n > 1 {
			dups = append(dups, k)
		}
	}
	if len(dups) == 0 {
		return ""
	}
	sort.Strings(dups)
	return dups[0]
}

func (in *incoming) addText(name, value string, query bool) {
	in.counts[name]++
	if _, ok := in.params[name]; !ok {
		in.params[name] = value
	}
	if query {
		in.inQuery[name] = true
	}
}

func (in *incoming) fail(problem string) {
	if in.malformed == "" {
		in.malformed = problem
	}
}

// file returns the file part name, or nil.
func (in *incoming) file(name string) *filePart {
	for _, f := range in.files {
		if f.Part == name {
			return f
		}
	}
	return nil
}

// readRequest parses r, whose body is already capped. It never fails: a
// problem is recorded in malformed or tooLarge and answered by the caller.
// The body is always read to its end (or the cap), so the client never sees
// a connection reset for an early answer.
func readRequest(r *http.Request) *incoming {
	in := &incoming{params: map[string]string{}, counts: map[string]int{}, inQuery: map[string]bool{}}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		in.fail("URL query: " + err.Error())
	}
	for k, vs := range q {
		for _, v := range vs {
			in.addText(k, v, true)
		}
	}
	defer drain(in, r.Body)
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		var one [1]byte
		if n, _ := io.ReadFull(r.Body, one[:]); n > 0 {
			in.fail("body without Content-Type")
		}
		return in
	}
	mt, ps, err := mime.ParseMediaType(ct)
	if err != nil {
		in.fail("Content-Type: " + err.Error())
		return in
	}
	in.mediaType = mt
	switch mt {
	case "application/x-www-form-urlencoded":
		readForm(in, r.Body)
	case "multipart/form-data":
		if ps["boundary"] == "" {
			in.fail("multipart body without boundary")
			return in
		}
		readMultipart(in, multipart.NewReader(r.Body, ps["boundary"]))
	default:
		in.fail("unsupported Content-Type " + mt)
	}
	return in
}

// drain reads what is left of the body, noting a body over the cap.
func drain(in *incoming, body io.Reader) {
	if _, err := io.Copy(io.Discard, body); err != nil {
		noteReadError(in, err)
	}
}

// noteReadError records a read error: over the cap, or malformed.
func noteReadError(in *incoming, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		in.tooLarge = true
		return
	}
	in.fail("body: " + err.Error())
}

func readForm(in *incoming, body io.Reader) {
	raw, err := io.ReadAll(body)
	if err != nil {
		noteReadError(in, err)
		return
	}
	vals, err := url.ParseQuery(string(raw))
	if err != nil {
		in.fail("form body: " + err.Error())
	}
	for k, vs := range vals {
		for _, v := range vs {
			in.addText(k, v, false)
		}
	}
}

func readMultipart(in *incoming, mr *multipart.Reader) {
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			noteReadError(in, err)
			return
		}
		if n >= maxParts {
			in.fail("more than 64 parts")
			return
		}
		if err := readPart(in, p); err != nil {
			noteReadError(in, err)
			return
		}
	}
}

// readPart reads one part: a text parameter, or a file streamed through a
// hash and a counter.
func readPart(in *incoming, p *multipart.Part) error {
	disp, dp, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil || disp != "form-data" || dp["name"] == "" {
		in.fail("part without a form-data name")
		_, err = io.Copy(io.Discard, p)
		return err
	}
	name := dp["name"]
	filename, isFile := dp["filename"]
	if !isFile {
		b, err := io.ReadAll(io.LimitReader(p, maxTextPart+1))
		if err != nil {
			return err
		}
		if len(b) > maxTextPart {
			in.fail("text part " + name + " is longer than 1 MiB")
			_, err = io.Copy(io.Discard, p)
			return err
		}
		in.addText(name, string(b), false)
		return nil
	}
	in.counts[name]++
	h := sha256.New()
	sink := &headWriter{}
	size, err := io.Copy(io.MultiWriter(h, sink), p)
	if err != nil {
		return err
	}
	in.files = append(in.files, &filePart{
		File: File{
			Part: name, Filename: filename, ContentType: p.Header.Get("Content-Type"),
			Detected: http.DetectContentType(sink.head), Size: size, SHA256: hex.EncodeToString(h.Sum(nil)),
		},
		head: sink.head,
	})
	return nil
}

// headWriter keeps the first headBytes written to it and discards the rest.
type headWriter struct{ head []byte }

func (w *headWriter) Write(b []byte) (int, error) {
	if room := headBytes - len(w.head); room > 0 {
		if len(b) < room {
			room = len(b)
		}
		w.head = append(w.head, b[:room]...)
	}
	return len(b), nil
}
