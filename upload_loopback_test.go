package alipay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upProtocolKeys are exactly the keys an upload puts in the URL query.
var upProtocolKeys = []string{"app_id", "charset", "format", "method", "sign", "sign_type", "timestamp", "version"}

// upGatewayFile is a file part as the gateway received it.
type upGatewayFile struct {
	Filename, ContentType string
	Size                  int
	SHA256                [32]byte
}

// upGatewayRequest is what the loopback gateway read from one upload.
type upGatewayRequest struct {
	Query         url.Values
	Text          map[string]string
	Files         map[string]upGatewayFile
	ContentLength int64
	Content       string // the string to sign the gateway rebuilt
}

// upParseGateway reads an upload as the gateway would, with its own code:
// multipart body, protocol params only in the query, text parts (signed)
// and file parts (not signed), no key twice, and the signature checked with
// the app public key over the rebuilt string to sign.
func upParseGateway(r *http.Request, appPub *rsa.PublicKey) (*upGatewayRequest, error) {
	mt, ps, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || ps["boundary"] == "" {
		return nil, fmt.Errorf("Content-Type %q is not multipart", r.Header.Get("Content-Type"))
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k, vs := range query {
		if len(vs) != 1 || vs[0] == "" {
			return nil, fmt.Errorf("query key %s: %q", k, vs)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != strings.Join(upProtocolKeys, ",") {
		return nil, fmt.Errorf("query keys %v", keys)
	}
	g := &upGatewayRequest{Query: query, Text: map[string]string{}, Files: map[string]upGatewayFile{}, ContentLength: r.ContentLength}
	mr := multipart.NewReader(r.Body, ps["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := p.FormName()
		_, dupText := g.Text[name]
		_, dupFile := g.Files[name]
		if name == "" || dupText || dupFile || query.Has(name) {
			return nil, fmt.Errorf("part %q missing or given twice", name)
		}
		if p.FileName() == "" {
			if ct := p.Header.Get("Content-Type"); ct != "text/plain;charset=utf-8" {
				return nil, fmt.Errorf("text part %s has Content-Type %q", name, ct)
			}
			v, err := io.ReadAll(io.LimitReader(p, 1<<20))
			if err != nil {
				return nil, err
			}
			if len(v) == 0 {
				return nil, fmt.Errorf("text part %s is empty", name)
			}
			g.Text[name] = string(v)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, p)
		if err != nil {
			return nil, err
		}
		f := upGatewayFile{Filename: p.FileName(), ContentType: p.Header.Get("Content-Type"), Size: int(n)}
		copy(f.SHA256[:], h.Sum(nil))
		g.Files[name] = f
	}
	content, err := verifyGatewaySign(appPub, query, g.Text)
	if err != nil {
		return nil, err
	}
	g.Content = content
	return g, nil
}

// upGateway is a loopback gateway for uploads: it parses and checks each
// request, records it, and answers a signed success.
type upGateway struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []*upGatewayRequest
	errs     []error
	complete atomic.Int32
}

func newUpGateway(t *testing.T) *upGateway {
	t.Helper()
	block, _ := pem.Decode(readTestdata(t, "keys/app_public.pem"))
	require.NotNil(t, block)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	require.NoError(t, err)
	appPub := k.(*rsa.PublicKey)
	s := newGatewaySigner(t)
	bodies := map[string]string{
		methodAppAPIFieldApply:   s.body(methodAppAPIFieldApply, upSuccess),
		methodMiniBaseInfoModify: s.body(methodMiniBaseInfoModify, mmNode),
	}
	g := &upGateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gr, err := upParseGateway(r, appPub)
		g.mu.Lock()
		defer g.mu.Unlock()
		if err != nil {
			g.errs = append(g.errs, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		g.complete.Add(1)
		g.reqs = append(g.reqs, gr)
		w.Header().Set("trace_id", "loopback-upload")
		_, _ = io.WriteString(w, bodies[gr.Query.Get("method")])
	}))
	t.Cleanup(g.Close)
	return g
}

// client returns a client of the gateway with the given clock.
func (g *upGateway) client(t *testing.T, at time.Time, key string) *Client {
	t.Helper()
	c, err := NewClient(testAppID, WithPrivateKeyFile("testdata/"+key),
		WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem"),
		WithGatewayURL(g.URL+"/gateway.do"), WithHTTPClient(g.Client()),
		WithClock(func() time.Time { return at }))
	require.NoError(t, err)
	return c
}

// last returns the one request the gateway accepted and no error.
func (g *upGateway) last(t *testing.T) *upGatewayRequest {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	require.Empty(t, g.errs)
	require.Len(t, g.reqs, 1)
	return g.reqs[0]
}

func upFileOf(name, ctype string, data []byte) upGatewayFile {
	return upGatewayFile{Filename: name, ContentType: ctype, Size: len(data), SHA256: sha256.Sum256(data)}
}

// TestUploadLoopbackKAT reproduces the upload KATs end to end: the gateway
// rebuilds the string to sign from the query and the text parts (not the
// files) and gets the KAT's string and signature byte for byte.
func TestUploadLoopbackKAT(t *testing.T) {
	t.Parallel()
	kats := map[string]requestKAT{}
	for _, tc := range loadKAT[requestKAT](t, "request_sign") {
		kats[tc.Name] = tc
	}
	pngPath := filepath.Join(t.TempDir(), "login.png")
	require.NoError(t, os.WriteFile(pngPath, upPNG, 0o600))

	kat2 := kats["kat2_field_apply_upload"]
	require.Equal(t, []string{"picture_1", "video"}, kat2.Files)
	for _, known := range []bool{true, false} {
		t.Run(fmt.Sprintf("kat2_field_apply_upload/known_sizes=%v", known), func(t *testing.T) {
			t.Parallel()
			g := newUpGateway(t)
			c := g.client(t, time.Unix(kat2.UnixTime, 0), kat2.PrivateKey).WithAppAuthToken(kat2.Params.get("app_auth_token"))
			size := int64(len(upMP4))
			if !known {
				size = -1
			}
			// The KAT's auth_field_apply lacks qps_answer and customer_answer,
			// which AppAPIFieldApply requires: it goes through the upload
			// path that AppAPIFieldApply uses, verbatim.
			res, err := c.upload(context.Background(), methodAppAPIFieldApply,
				[]param{{"auth_field_apply", kat2.Params.get("auth_field_apply")}},
				[]uploadFile{{"picture_1", FileFromPath(pngPath), MaxFieldApplyFileSize},
					{"video", FileFromReader("flow.mp4", bytes.NewReader(upMP4), size), MaxFieldApplyFileSize}})
			require.NoError(t, err)
			assert.Equal(t, "loopback-upload", res.traceID)
			gr := g.last(t)
			assert.Equal(t, kat2.StringToSign, gr.Content)
			assert.Equal(t, kat2.Sign, gr.Query.Get("sign"))
			assert.Equal(t, map[string]upGatewayFile{
				"picture_1": upFileOf("login.png", "image/png", upPNG),
				"video":     upFileOf("flow.mp4", "video/mp4", upMP4),
			}, gr.Files)
			if !known {
				assert.Equal(t, int64(-1), gr.ContentLength, "unknown size: chunked")
			} else {
				assert.Greater(t, gr.ContentLength, int64(len(upPNG)+len(upMP4)))
			}
		})
	}

	bm := kats["baseinfo_modify_upload"]
	require.Equal(t, []string{"app_logo"}, bm.Files)
	t.Run("baseinfo_modify_upload", func(t *testing.T) {
		t.Parallel()
		g := newUpGateway(t)
		c := g.client(t, time.Unix(bm.UnixTime, 0), bm.PrivateKey).WithAppAuthToken(bm.Params.get("app_auth_token"))
		logo := FileFromBytes("logo.png", upPNG)
		p := bm.Params.get
		res, err := c.MiniBaseInfoModify(context.Background(), &MiniBaseInfoModifyRequest{
			MiniCategoryIDs: p("mini_category_ids"), AppCategoryIDs: p("app_category_ids"), AppName: p("app_name"),
			AppEnglishName: p("app_english_name"), AppSlogan: p("app_slogan"), AppDesc: p("app_desc"),
			ServicePhone: p("service_phone"), ServiceEmail: p("service_email"), AppLogo: &logo,
		})
		require.NoError(t, err)
		assert.Equal(t, "1", res.ModifyStatus)
		gr := g.last(t)
		assert.Equal(t, bm.StringToSign, gr.Content)
		assert.Equal(t, bm.Sign, gr.Query.Get("sign"))
		assert.Equal(t, map[string]upGatewayFile{"app_logo": upFileOf("logo.png", "image/png", upPNG)}, gr.Files)
		for _, d := range bm.Dropped {
			assert.NotContains(t, gr.Text, d, "empty params are not sent")
		}
	})
}

// TestAppAPIFieldApplyLoopback sends a path, a sized reader and bytes
// through the typed call and checks every byte arrived.
func TestAppAPIFieldApplyLoopback(t *testing.T) {
	t.Parallel()
	g := newUpGateway(t)
	c := g.client(t, time.Now(), "keys/app_private_pkcs8.pem").WithAppAuthToken(testToken)
	path := filepath.Join(t.TempDir(), "step1.jpg")
	require.NoError(t, os.WriteFile(path, upJPG, 0o600))
	video := FileFromBytes("flow.mp4", upMP4)
	res, err := c.AppAPIFieldApply(context.Background(), &AppAPIFieldApplyRequest{
		AuthFieldApply: faValid(),
		Pictures:       []File{FileFromPath(path), FileFromReader("step2.png", bytes.NewReader(upPNG), int64(len(upPNG)))},
		Video:          &video,
	})
	require.NoError(t, err)
	assert.Equal(t, "loopback-upload", res.TraceID)
	gr := g.last(t)
	assert.Equal(t, map[string]upGatewayFile{
		"picture_1": upFileOf("step1.jpg", "image/jpeg", upJPG),
		"picture_2": upFileOf("step2.png", "image/png", upPNG),
		"video":     upFileOf("flow.mp4", "video/mp4", upMP4),
	}, gr.Files)
	want, err := marshalJSON(faValid())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"app_auth_token": testToken, "auth_field_apply": string(want)}, gr.Text)
}

// upPattern yields n generated bytes without holding them, optionally
// calling hook after each read with the bytes delivered so far.
type upPattern struct {
	left, done int64
	hook       func(done int64)
}

func (p *upPattern) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		b[i] = byte(p.done + int64(i))
	}
	p.left -= int64(len(b))
	p.done += int64(len(b))
	if p.hook != nil {
		p.hook(p.done)
	}
	return len(b), nil
}

// TestUploadLoopbackOversize: a source that grows past its limit (unknown
// size) or past its declared size aborts the upload with a named error, and
// the gateway never gets a complete request.
func TestUploadLoopbackOversize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, problem string
		file          func() File
	}{
		{"unknown size past 10 MiB", "file exceeds 10 MiB", func() File {
			return FileFromReader("big.mp4", &upPattern{left: MaxFieldApplyFileSize + 1}, -1)
		}},
		{"declared size exceeded", "file has more than its size of 1000 bytes", func() File {
			return FileFromReader("liar.mp4", &upPattern{left: 1 << 20}, 1000)
		}},
		{"declared size not reached", "file has fewer than its size of 2000000 bytes", func() File {
			return FileFromReader("short.mp4", &upPattern{left: 1 << 20}, 2000000)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newUpGateway(t)
			c := g.client(t, time.Now(), "keys/app_private_pkcs8.pem").WithAppAuthToken(testToken)
			res, err := c.AppAPIFieldApply(context.Background(), &AppAPIFieldApplyRequest{
				AuthFieldApply: faValid(), Pictures: []File{FileFromBytes("p.png", upPNG), tc.file()},
			})
			assert.Nil(t, res)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "picture_2", ve.Field)
			assert.Equal(t, tc.problem, ve.Problem)
			assert.Equal(t, "alipay: alipay.open.app.api.field.apply: picture_2: "+tc.problem, err.Error())
			g.Close() // waits for the handler
			assert.Equal(t, int32(0), g.complete.Load(), "the request never completed")
		})
	}
}
