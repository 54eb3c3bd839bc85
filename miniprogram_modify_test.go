package alipay

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mmNode = `{"code":"10000","msg":"Success","modify_status":"1"}`

func TestMiniBaseInfoModifyValidation(t *testing.T) {
	t.Parallel()
	logo := FileFromBytes("logo.png", upPNG)
	big := FileFromBytes("logo.png", append(append([]byte{}, upPNG...), make([]byte, MaxAppLogoSize)...))
	cases := []struct {
		name, field, problem string
		req                  *MiniBaseInfoModifyRequest
	}{
		{"nil", "", "nothing to change: set at least one field or the logo", nil},
		{"empty", "", "nothing to change: set at least one field or the logo", &MiniBaseInfoModifyRequest{}},
		{"name bytes below 3", "app_name", "shorter than 3 characters", &MiniBaseInfoModifyRequest{AppName: "ab"}},
		{"name runes above 30", "app_name", "longer than 30 characters (31)", &MiniBaseInfoModifyRequest{AppName: strings.Repeat("名", 31)}},
		{"english name", "app_english_name", "shorter than 3 characters", &MiniBaseInfoModifyRequest{AppEnglishName: "ab"}},
		{"slogan", "app_slogan", "shorter than 10 characters", &MiniBaseInfoModifyRequest{AppSlogan: "123456789"}},
		{"slogan long", "app_slogan", "longer than 32 characters (33)", &MiniBaseInfoModifyRequest{AppSlogan: strings.Repeat("好", 33)}},
		{"desc", "app_desc", "longer than 400 characters (401)", &MiniBaseInfoModifyRequest{AppDesc: strings.Repeat("a", 401)}},
		{"phone", "service_phone", "shorter than 5 characters", &MiniBaseInfoModifyRequest{ServicePhone: "1234"}},
		{"logo too big", "app_logo", "file exceeds 2 MiB", &MiniBaseInfoModifyRequest{AppLogo: &big}},
		{"zero logo", "app_logo", "no file given", &MiniBaseInfoModifyRequest{AppName: "会员小程序", AppLogo: &File{}}},
		{"logo bad name", "app_logo", "filename: empty name", &MiniBaseInfoModifyRequest{AppLogo: func() *File { f := logo.WithName(""); return &f }()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			res, err := c.WithAppAuthToken(testToken).MiniBaseInfoModify(context.Background(), tc.req)
			assert.Nil(t, res)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, methodMiniBaseInfoModify, ve.Method)
			assert.Equal(t, tc.field, ve.Field)
			assert.Equal(t, tc.problem, ve.Problem)
			assert.Equal(t, 0, mock.GetTotalCallCount(), "nothing reaches the gateway")
		})
	}
}

// TestMiniBaseInfoModifyForm sends no logo as a form; Chinese text passes when its bytes reach
// the minimum (2 runes, 6 bytes ≥ 3), and the character set is the
// gateway's call.
func TestMiniBaseInfoModifyForm(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	s := newGatewaySigner(t)
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, formMediaType, r.Header.Get("Content-Type"), "no logo: an ordinary form")
		raw, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		form, err := url.ParseQuery(string(raw))
		require.NoError(t, err)
		assert.Equal(t, url.Values{"app_auth_token": {testToken}, "app_name": {"会员"}, "service_email": {"a@b.c"}}, form)
		return httpmock.NewStringResponse(200, s.body(methodMiniBaseInfoModify, mmNode)), nil
	})
	res, err := c.WithAppAuthToken(testToken).MiniBaseInfoModify(context.Background(),
		&MiniBaseInfoModifyRequest{AppName: "会员", ServiceEmail: "a@b.c"})
	require.NoError(t, err)
	assert.Equal(t, "1", res.ModifyStatus)
	assert.Equal(t, 1, mock.GetTotalCallCount())
}

func TestMiniBaseInfoModifyLogo(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	s := newGatewaySigner(t)
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		order, parts := upReadParts(t, r)
		assert.Equal(t, []string{"app_auth_token", "app_logo"}, order, "only the logo: no empty text part")
		assert.Equal(t, upPart{"logo.png", "image/png", upPNG}, parts["app_logo"])
		return httpmock.NewStringResponse(200, s.body(methodMiniBaseInfoModify, `{"code":"10000","msg":"Success"}`)), nil
	})
	logo := FileFromBytes("logo.png", upPNG)
	res, err := c.WithAppAuthToken(testToken).MiniBaseInfoModify(context.Background(), &MiniBaseInfoModifyRequest{AppLogo: &logo})
	require.NoError(t, err)
	assert.Equal(t, "", res.ModifyStatus, "older responses have no modify_status")
}

// TestUploadLogsOneRecord: an upload writes the one Debug record of a call,
// without the token, the signature or any body.
func TestUploadLogsOneRecord(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	c, mock := newMockClient(t, WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	s := newGatewaySigner(t)
	body := s.body(methodMiniBaseInfoModify, mmNode)
	mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(200, body))
	logo := FileFromBytes("logo.png", upPNG)
	_, err := c.WithAppAuthToken(testToken).MiniBaseInfoModify(context.Background(),
		&MiniBaseInfoModifyRequest{AppName: "会员小程序", AppLogo: &logo})
	require.NoError(t, err)
	out := logs.String()
	assert.Equal(t, 1, strings.Count(out, "\n"), out)
	assert.Contains(t, out, `"method":"alipay.open.mini.baseinfo.modify"`)
	assert.Contains(t, out, `"status":200`)
	sign := body[strings.LastIndex(body, `"sign":"`)+8 : len(body)-2]
	for _, secret := range []string{testToken, sign, "会员小程序", "sign="} {
		assert.NotContains(t, out, secret)
	}
}
