package multipart

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	errOver  = errors.New("over")
	errShort = errors.New("short")
)

// body assembles segments and files as the SDK streams them.
func body(segs [][]byte, files [][]byte) []byte {
	var b []byte
	for i, s := range segs {
		b = append(b, s...)
		if i < len(files) {
			b = append(b, files[i]...)
		}
	}
	return b
}

func TestRenderMatchesMimeMultipart(t *testing.T) {
	t.Parallel()
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...)
	cases := []struct {
		name   string
		fields []Field
		files  []Part
		data   [][]byte
	}{
		{"text and two files",
			[]Field{{"app_auth_token", "tok"}, {"auth_field_apply", `{"memo":"手机号 & \r\n--x"}`}},
			[]Part{{"picture_1", "login.png", "image/png"}, {"video", "流程.mp4", "video/mp4"}},
			[][]byte{png, []byte("\x00\x00\x00\x18ftypisom")}},
		{"files only", nil, []Part{{"app_logo", "a.png", "image/png"}}, [][]byte{png}},
		{"text only", []Field{{"app_name", "会员小程序"}}, nil, nil},
		{"empty text value", []Field{{"a", ""}, {"b", "x"}}, []Part{{"f", "f", "application/octet-stream"}}, [][]byte{{1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const boundary = "isvkit-0123456789abcdef"
			segs := Render(boundary, tc.fields, tc.files)
			require.Len(t, segs, len(tc.files)+1)
			got := body(segs, tc.data)

			var want bytes.Buffer
			readers := make([]io.Reader, len(tc.data))
			sizes := make([]int64, len(tc.data))
			for i, d := range tc.data {
				readers[i] = bytes.NewReader(d)
				sizes[i] = int64(len(d))
			}
			require.NoError(t, mimeStream(&want, boundary, tc.fields, tc.files, readers))
			assert.Equal(t, want.String(), string(got))
			assert.Equal(t, int64(len(got)), Length(segs, sizes))

			// A gateway's parser sees every part as sent.
			_, params, err := mime.ParseMediaType(ContentType(boundary))
			require.NoError(t, err)
			mr := multipart.NewReader(bytes.NewReader(got), params["boundary"])
			for _, f := range tc.fields {
				p, err := mr.NextPart()
				require.NoError(t, err)
				assert.Equal(t, f.Name, p.FormName())
				assert.Equal(t, TextContentType, p.Header.Get("Content-Type"))
				v, _ := io.ReadAll(p)
				assert.Equal(t, f.Value, string(v))
			}
			for i, f := range tc.files {
				p, err := mr.NextPart()
				require.NoError(t, err)
				assert.Equal(t, f.Name, p.FormName())
				assert.Equal(t, f.Filename, p.FileName())
				assert.Equal(t, f.ContentType, p.Header.Get("Content-Type"))
				v, _ := io.ReadAll(p)
				assert.Equal(t, tc.data[i], v)
			}
			_, err = mr.NextPart()
			assert.Equal(t, io.EOF, err)
		})
	}
}

func TestHeaderAndClosingLen(t *testing.T) {
	t.Parallel()
	p := Part{"picture_1", "图.png", "image/png"}
	for _, first := range []bool{true, false} {
		assert.Len(t, AppendHeader(nil, "b", first, p), HeaderLen("b", first, p))
	}
	assert.Len(t, AppendClosing(nil, "bb"), ClosingLen("bb"))
	assert.Equal(t, -int64(1), Length([][]byte{{1}}, []int64{3, -1}))
}

func TestNewBoundary(t *testing.T) {
	t.Parallel()
	a, err := NewBoundary()
	require.NoError(t, err)
	b, err := NewBoundary()
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	require.NoError(t, multipart.NewWriter(io.Discard).SetBoundary(a))
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a.png", "登录 流程.mp4", "x'y(1).jpg"} {
		assert.NoError(t, CheckName(ok), ok)
	}
	for _, bad := range []string{"", "a\r\nX-Evil: 1", `a".png`, `a\b`, "a\x00", "\xff.png", "a\x7f"} {
		assert.Error(t, CheckName(bad), "%q", bad)
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	mp4 := func(size byte, brands string) []byte { return append([]byte{0, 0, 0, size}, "ftyp"+brands...) }
	cases := []struct {
		head []byte
		want string
	}{
		{[]byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F'}, "image/jpeg"},
		{[]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), "image/png"},
		{[]byte("GIF87a..."), "image/gif"},
		{[]byte("GIF89a"), "image/gif"},
		{[]byte("BM6\x00\x00"), "image/bmp"},
		{mp4(0x18, "isom\x00\x00\x02\x00isomiso2"), "video/mp4"},
		{mp4(0x20, "XAVC\x00\x00\x00\x00XAVCmp42iso2"), "video/mp4"}, // compatible brand
		{mp4(0x14, "qt  \x00\x00\x02\x00qt  "), "application/octet-stream"},
		{mp4(0x14, "3gp4\x00\x00\x00\x003gp4"), "application/octet-stream"},
		{mp4(0x13, "isom\x00\x00\x02\x00iso"), "application/octet-stream"}, // size not a multiple of 4
		{mp4(0x08, "isom"), "application/octet-stream"},
		{[]byte("\x00\x00\x00\x18ftyp"), "application/octet-stream"},
		{[]byte("%PDF-1.7"), "application/octet-stream"},
		{[]byte{0xff, 0xd8}, "application/octet-stream"},
		{nil, "application/octet-stream"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Sniff(tc.head), "%q", tc.head)
	}
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"))
	f.Add([]byte{0xff, 0xd8, 0xff})
	f.Fuzz(func(t *testing.T, head []byte) {
		if Sniff(head) == "" {
			t.Fatal("empty content type")
		}
	})
}

// readAll reads r to the end with the given reader shapes applied.
func readAll(r io.Reader) ([]byte, error) { return io.ReadAll(r) }

func TestLimitReader(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("abcdefgh"), 1000)
	for _, shape := range []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"data with EOF", iotest.DataErrReader},
		{"half", iotest.HalfReader},
	} {
		t.Run(shape.name, func(t *testing.T) {
			got, err := readAll(NewLimitReader(shape.wrap(bytes.NewReader(data)), int64(len(data)), errOver))
			require.NoError(t, err)
			assert.Equal(t, data, got)

			got, err = readAll(NewLimitReader(shape.wrap(bytes.NewReader(data)), int64(len(data)-1), errOver))
			assert.ErrorIs(t, err, errOver)
			assert.Equal(t, data[:len(data)-1], got, "exactly max bytes pass")
		})
	}
	r := NewLimitReader(bytes.NewReader(data), 3, errOver)
	_, _ = io.ReadAll(r)
	n, err := r.Read(make([]byte, 10))
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, errOver, "the failure sticks")
}

func TestExactReader(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("0123456789"), 500)
	shapes := []func(io.Reader) io.Reader{
		func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.DataErrReader, iotest.HalfReader,
	}
	for i, shape := range shapes {
		got, err := readAll(NewExactReader(shape(bytes.NewReader(data)), int64(len(data)), errOver, errShort))
		require.NoError(t, err, "shape %d", i)
		assert.Equal(t, data, got)

		got, err = readAll(NewExactReader(shape(bytes.NewReader(data)), int64(len(data)-1), errOver, errShort))
		assert.ErrorIs(t, err, errOver, "shape %d", i)
		assert.LessOrEqual(t, len(got), len(data)-1)

		_, err = readAll(NewExactReader(shape(bytes.NewReader(data)), int64(len(data)+1), errOver, errShort))
		assert.ErrorIs(t, err, errShort, "shape %d", i)
	}
	got, err := readAll(NewExactReader(bytes.NewReader(nil), 0, errOver, errShort))
	assert.NoError(t, err)
	assert.Empty(t, got)
	_, err = readAll(NewExactReader(iotest.ErrReader(io.ErrClosedPipe), 5, errOver, errShort))
	assert.ErrorIs(t, err, io.ErrClosedPipe)
	n, err := NewExactReader(bytes.NewReader(data), 5, errOver, errShort).Read(nil)
	assert.Equal(t, 0, n)
	assert.NoError(t, err)
}

// liar returns a byte count larger than the buffer.
type liar struct{}

func (liar) Read(p []byte) (int, error) { return len(p) + 5, nil }

func TestBrokenSourceDoesNotPanic(t *testing.T) {
	t.Parallel()
	_, err := readAll(NewLimitReader(liar{}, 10, errOver))
	assert.ErrorIs(t, err, ErrInvalidRead)
	_, err = readAll(NewExactReader(liar{}, 10, errOver, errShort))
	assert.ErrorIs(t, err, ErrInvalidRead)
}

func FuzzExactReader(f *testing.F) {
	f.Add([]byte("hello"), int64(5), uint8(0))
	f.Add([]byte("hello"), int64(3), uint8(1))
	f.Add([]byte("hello"), int64(9), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, size int64, shape uint8) {
		if size < 0 || size > 1<<20 {
			return
		}
		var src io.Reader = bytes.NewReader(data)
		switch shape % 3 {
		case 1:
			src = iotest.OneByteReader(src)
		case 2:
			src = iotest.DataErrReader(src)
		}
		got, err := readAll(NewExactReader(src, size, errOver, errShort))
		switch {
		case int64(len(data)) == size:
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("exact: %v", err)
			}
		case int64(len(data)) > size:
			if !errors.Is(err, errOver) || int64(len(got)) > size {
				t.Fatalf("long: %v, %d bytes", err, len(got))
			}
		default:
			if !errors.Is(err, errShort) {
				t.Fatalf("short: %v", err)
			}
		}
	})
}

// mimeStream writes the body of fields followed by files to w with
// mime/multipart, reading file i from bodies[i]: the reference that [Render]
// must equal byte for byte, with the files between the segments.
func mimeStream(w io.Writer, boundary string, fields []Field, files []Part, bodies []io.Reader) error {
	if len(bodies) != len(files) {
		return errors.New("multipart: one body per file is needed")
	}
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	for _, f := range fields {
		pw, err := mw.CreatePart(textPart(f.Name).MIMEHeader())
		if err != nil {
			return err
		}
		if _, err := io.WriteString(pw, f.Value); err != nil {
			return err
		}
	}
	var buf []byte
	for i, p := range files {
		pw, err := mw.CreatePart(p.MIMEHeader())
		if err != nil {
			return err
		}
		if buf == nil {
			buf = make([]byte, 32<<10)
		}
		if _, err := io.CopyBuffer(pw, bodies[i], buf); err != nil {
			return err
		}
	}
	return mw.Close()
}
