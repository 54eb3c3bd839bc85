package alipay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The upload benchmarks send field.apply with 1 MiB, 10 MiB and 6 × 10 MiB
// of files (5 pictures and the video) to a loopback server that reads and
// discards the body. Each size runs the SDK and, beside it in the same run,
// the raw limit, the least a correct upload can do with the standard
// library (BENCHMARKS.md): one RSA2 signature, an io.MultiReader over
// pre-rendered part headers, the files and the closing boundary with an
// exact Content-Length, http.Client.Do, then the node found and verified.
//
//	go test -run XXX -bench 'Upload|FieldApply' -benchtime 3x .

// benchUploadSizes are the file sets: the size of each file.
var benchUploadSizes = []struct {
	name  string
	files []int
}{
	{"1MiB", []int{1 << 20}},
	{"10MiB", []int{10 << 20}},
	{"6x10MiB", []int{10 << 20, 10 << 20, 10 << 20, 10 << 20, 10 << 20, 10 << 20}},
}

// benchUploadEnv is the loopback server and the shared file bytes.
type benchUploadEnv struct {
	srv    *httptest.Server
	data   []byte // 10 MiB starting with PNG magic; every file is a prefix
	answer string
}

func newBenchUploadEnv(b *testing.B) *benchUploadEnv {
	b.Helper()
	data := make([]byte, 10<<20)
	copy(data, upPNG)
	answer := newGatewaySigner(b).body(methodAppAPIFieldApply, upSuccess)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, answer)
	}))
	b.Cleanup(srv.Close)
	return &benchUploadEnv{srv: srv, data: data, answer: answer}
}

func BenchmarkUploadFieldApply(b *testing.B) {
	env := newBenchUploadEnv(b)
	c, err := NewClient(testAppID, append(baseOptions(b), WithGatewayURL(env.srv.URL+"/gateway.do"),
		WithHTTPClient(env.srv.Client()), WithTimeout(time.Minute))...)
	require.NoError(b, err)
	m := c.WithAppAuthToken(testToken)
	for _, size := range benchUploadSizes {
		total := 0
		for _, n := range size.files {
			total += n
		}
		b.Run(size.name+"/sdk", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(total))
			for i := 0; i < b.N; i++ {
				req := &AppAPIFieldApplyRequest{AuthFieldApply: faValid()}
				for j, n := range size.files {
					f := FileFromBytes("f"+strconv.Itoa(j)+".png", env.data[:n])
					if j == 5 {
						req.Video = &f
					} else {
						req.Pictures = append(req.Pictures, f)
					}
				}
				if _, err := m.AppAPIFieldApply(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/raw", func(b *testing.B) {
			raw := newRawUploader(b, env.srv.URL+"/gateway.do", env.srv.Client())
			b.ReportAllocs()
			b.SetBytes(int64(total))
			for i := 0; i < b.N; i++ {
				if err := raw.upload(env.data, size.files); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rawUploader is the least a correct client does for field.apply, with the
// standard library alone.
type rawUploader struct {
	gw        string
	hc        *http.Client
	key       *rsa.PrivateKey
	alipayPub *rsa.PublicKey
	apply     string
}

func newRawUploader(b testing.TB, gw string, hc *http.Client) *rawUploader {
	b.Helper()
	block, _ := pem.Decode(readTestdata(b, "keys/app_private_pkcs8.pem"))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(b, err)
	pblock, _ := pem.Decode(readTestdata(b, "keys/alipay_test_public.pem"))
	pk, err := x509.ParsePKIXPublicKey(pblock.Bytes)
	require.NoError(b, err)
	apply, err := marshalJSON(faValid())
	require.NoError(b, err)
	return &rawUploader{gw: gw, hc: hc, key: k.(*rsa.PrivateKey), alipayPub: pk.(*rsa.PublicKey), apply: string(apply)}
}

const rawBoundary = "rawboundary0123456789"

func (r *rawUploader) upload(data []byte, sizes []int) error {
	ts := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05")
	content := "app_auth_token=" + testToken + "&app_id=" + testAppID + "&auth_field_apply=" + r.apply +
		"&charset=utf-8&format=JSON&method=" + methodAppAPIFieldApply + "&sign_type=RSA2&timestamp=" + ts + "&version=1.0"
	digest := sha256.Sum256([]byte(content))
	sig, err := rsa.SignPKCS1v15(nil, r.key, crypto.SHA256, digest[:])
	if err != nil {
		return err
	}
	u := r.gw + "?app_id=" + testAppID + "&method=" + methodAppAPIFieldApply + "&format=JSON&charset=utf-8&sign_type=RSA2&timestamp=" +
		url.QueryEscape(ts) + "&version=1.0&sign=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))

	text := "--" + rawBoundary + "\r\nContent-Disposition: form-data; name=\"app_auth_token\"\r\nContent-Type: text/plain;charset=utf-8\r\n\r\n" + testToken +
		"\r\n--" + rawBoundary + "\r\nContent-Disposition: form-data; name=\"auth_field_apply\"\r\nContent-Type: text/plain;charset=utf-8\r\n\r\n" + r.apply
	readers := make([]io.Reader, 0, 2*len(sizes)+2)
	readers = append(readers, bytes.NewReader([]byte(text)))
	length := int64(len(text))
	for i, n := range sizes {
		h := "\r\n--" + rawBoundary + "\r\nContent-Disposition: form-data; name=\"picture_" + strconv.Itoa(i+1) +
			"\"; filename=\"f.png\"\r\nContent-Type: image/png\r\n\r\n"
		readers = append(readers, bytes.NewReader([]byte(h)), bytes.NewReader(data[:n]))
		length += int64(len(h) + n)
	}
	closing := "\r\n--" + rawBoundary + "--\r\n"
	readers = append(readers, bytes.NewReader([]byte(closing)))
	length += int64(len(closing))
	req, err := http.NewRequest(http.MethodPost, u, io.MultiReader(readers...))
	if err != nil {
		return err
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+rawBoundary)
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	const prefix = `{"alipay_open_app_api_field_apply_response":`
	i := bytes.LastIndex(body, []byte(`,"sign":"`))
	if !bytes.HasPrefix(body, []byte(prefix)) || i < 0 || !bytes.HasSuffix(body, []byte(`"}`)) {
		return errors.New("raw: unexpected body")
	}
	node := body[len(prefix):i]
	s, err := base64.StdEncoding.DecodeString(string(body[i+len(`,"sign":"`) : len(body)-2]))
	if err != nil {
		return err
	}
	nd := sha256.Sum256(node)
	return rsa.VerifyPKCS1v15(r.alipayPub, crypto.SHA256, nd[:], s)
}

// TestRawUploaderIsValid shows the baseline is a correct client: the
// loopback gateway accepts its request and its signature.
func TestRawUploaderIsValid(t *testing.T) {
	t.Parallel()
	g := newLoopbackGateway(t, nil)
	raw := newRawUploader(t, g.URL+"/gateway.do", g.Client())
	data := append([]byte{}, upPNG...)
	require.NoError(t, raw.upload(data, []int{100, len(data)}))
	gr := g.last(t)
	require.Len(t, gr.Files, 2)
	require.Equal(t, raw.apply, gr.Form.Get("auth_field_apply"))
}
