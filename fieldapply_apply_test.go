package alipay

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faValid is a complete application (the example values of Alipay's
// integration guide: getPhoneNumber/mobile, package 20180927110154092444,
// scene 14).
func faValid() AuthFieldApply {
	return AuthFieldApply{
		APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444", SceneCode: "14",
		QPSAnswer: "预计接口秒级调用量峰值：200 QPS", CustomerAnswer: "有自己的客服团队3人，能够及时响应并处理舆情",
		Memo: "获取手机号码的用途：收发快递联系人",
	}
}

// TestAppAPIFieldApplyValidation refuses each invalid request with a
// *ValidationError naming the field, and sends nothing.
func TestAppAPIFieldApplyValidation(t *testing.T) {
	t.Parallel()
	pic := FileFromBytes("login.png", upPNG)
	with := func(f func(*AppAPIFieldApplyRequest)) *AppAPIFieldApplyRequest {
		r := &AppAPIFieldApplyRequest{AuthFieldApply: faValid(), Pictures: []File{pic}}
		f(r)
		return r
	}
	cases := []struct {
		name, field, problem string
		req                  *AppAPIFieldApplyRequest
	}{
		{"nil request", "auth_field_apply.api_name", "required", nil},
		{"api_name", "auth_field_apply.api_name", "required", with(func(r *AppAPIFieldApplyRequest) { r.AuthFieldApply.APIName = "" })},
		{"field_name", "auth_field_apply.field_name", "required", with(func(r *AppAPIFieldApplyRequest) { r.AuthFieldApply.FieldName = "" })},
		{"package_code", "auth_field_apply.package_code", "required", with(func(r *AppAPIFieldApplyRequest) { r.AuthFieldApply.PackageCode = " " })},
		{"scene_code", "auth_field_apply.scene_code", "required", with(func(r *AppAPIFieldApplyRequest) { r.AuthFieldApply.SceneCode = "" })},
		{"qps_answer", "auth_field_apply.qps_answer", "required", with(func(r *AppAPIFieldApplyRequest) { r.AuthFieldApply.QPSAnswer = "" })},
		{"customer_answer", "auth_field_apply.customer_answer", "required", with(func(r *AppAPIFieldApplyRequest) { r.AuthFieldApply.CustomerAnswer = "\t" })},
		{"no file", "pictures", "at least one picture or a video is required", with(func(r *AppAPIFieldApplyRequest) { r.Pictures = nil })},
		{"six pictures", "pictures", "at most 5 pictures (picture_1 … picture_5), got 6", with(func(r *AppAPIFieldApplyRequest) {
			r.Pictures = []File{pic, pic, pic, pic, pic, pic}
		})},
		{"zero picture", "picture_2", "no file given", with(func(r *AppAPIFieldApplyRequest) { r.Pictures = []File{pic, {}} })},
		{"empty picture", "picture_3", "empty file", with(func(r *AppAPIFieldApplyRequest) {
			r.Pictures = []File{pic, pic, FileFromBytes("e.png", []byte{})}
		})},
		{"zero video", "video", "no file given", with(func(r *AppAPIFieldApplyRequest) { r.Video = &File{} })},
		{"video declared too big", "video", "file exceeds 10 MiB", with(func(r *AppAPIFieldApplyRequest) {
			v := FileFromReader("v.mp4", upZeros{}, MaxFieldApplyFileSize+1)
			r.Video = &v
		})},
		{"picture of unknown size, empty", "picture_1", "empty file", with(func(r *AppAPIFieldApplyRequest) {
			r.Pictures = []File{FileFromReader("p.png", strings.NewReader(""), -1)}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mock := newMockClient(t)
			res, err := c.WithAppAuthToken(testToken).AppAPIFieldApply(context.Background(), tc.req)
			assert.Nil(t, res)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, methodAppAPIFieldApply, ve.Method)
			assert.Equal(t, tc.field, ve.Field)
			assert.Equal(t, tc.problem, ve.Problem)
			assert.ErrorIs(t, err, ErrInvalidRequest)
			assert.Equal(t, 0, mock.GetTotalCallCount(), "nothing reaches the gateway")
		})
	}
	t.Run("empty token", func(t *testing.T) {
		t.Parallel()
		c, mock := newMockClient(t)
		_, err := c.WithAppAuthToken("").AppAPIFieldApply(context.Background(), with(func(*AppAPIFieldApplyRequest) {}))
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "app_auth_token", ve.Field)
		assert.Equal(t, 0, mock.GetTotalCallCount())
	})
}

// TestAppAPIFieldApplyMock sends five pictures and a video and checks the
// parts, the single auth_field_apply JSON text param and the response.
func TestAppAPIFieldApplyMock(t *testing.T) {
	t.Parallel()
	c, mock := newMockClient(t)
	s := newGatewaySigner(t)
	mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
		order, parts := upReadParts(t, r)
		assert.Equal(t, []string{"app_auth_token", "auth_field_apply", "picture_1", "picture_2", "picture_3",
			"picture_4", "picture_5", "video"}, order)
		assert.Equal(t, `{"api_name":"getPhoneNumber","field_name":"mobile","package_code":"20180927110154092444","scene_code":"14","qps_answer":"预计接口秒级调用量峰值：200 QPS","customer_answer":"有自己的客服团队3人，能够及时响应并处理舆情","memo":"获取手机号码的用途：收发快递联系人"}`,
			string(parts["auth_field_apply"].data))
		assert.Equal(t, "image/png", parts["picture_1"].contentType)
		assert.Equal(t, "image/jpeg", parts["picture_5"].contentType)
		assert.Equal(t, "p5.jpg", parts["picture_5"].filename)
		assert.Equal(t, upMP4, parts["video"].data)
		return httpmock.NewStringResponse(200, s.body(methodAppAPIFieldApply, upSuccess)), nil
	})
	pics := []File{
		FileFromBytes("p1.png", upPNG), FileFromBytes("p2.png", upPNG), FileFromBytes("p3.png", upPNG),
		FileFromBytes("p4.png", upPNG), FileFromReader("p5.jpg", bytes.NewReader(upJPG), -1),
	}
	video := FileFromBytes("flow.mp4", upMP4)
	res, err := c.WithAppAuthToken(testToken).AppAPIFieldApply(context.Background(),
		&AppAPIFieldApplyRequest{AuthFieldApply: faValid(), Pictures: pics, Video: &video})
	require.NoError(t, err)
	assert.JSONEq(t, upSuccess, string(res.Raw))
	assert.Equal(t, 1, mock.GetTotalCallCount())
}

// TestAppAPIFieldApplyAlreadySubmitted exposes the idempotency sub_codes.
func TestAppAPIFieldApplyAlreadySubmitted(t *testing.T) {
	t.Parallel()
	s := newGatewaySigner(t)
	for _, sub := range []string{SubCodeAuthAPIFieldIsAuditing, SubCodeAuthAPIApplyIsPass} {
		c, mock := newMockClient(t)
		mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(200, s.body(methodAppAPIFieldApply,
			`{"code":"40004","msg":"Business Failed","sub_code":"`+sub+`","sub_msg":"已提交"}`)))
		video := FileFromBytes("flow.mp4", upMP4)
		res, err := c.WithAppAuthToken(testToken).AppAPIFieldApply(context.Background(),
			&AppAPIFieldApplyRequest{AuthFieldApply: faValid(), Video: &video})
		assert.Nil(t, res)
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, sub, ae.SubCode)
		assert.NotContains(t, err.Error(), testToken)
	}
}

// TestUploadLimitConstants: the exported limits are Alipay's (10 MiB per
// file, 5 pictures, a 2 MiB logo, binary megabytes) and are the bounds the
// validation applies, inclusive.
func TestUploadLimitConstants(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 10*1024*1024, MaxFieldApplyFileSize)
	assert.Equal(t, 5, MaxFieldApplyPictures)
	assert.Equal(t, 2*1024*1024, MaxAppLogoSize)
	pic := FileFromBytes("login.png", upPNG)
	pics := make([]File, MaxFieldApplyPictures)
	for i := range pics {
		pics[i] = pic
	}
	req := &AppAPIFieldApplyRequest{AuthFieldApply: faValid(), Pictures: pics}
	files, err := req.validate()
	assert.NoError(t, err, "5 pictures")
	assert.Len(t, files, MaxFieldApplyPictures)
	req.Pictures = append(req.Pictures, pic)
	_, err = req.validate()
	assert.ErrorIs(t, err, ErrInvalidRequest, "6 pictures")
	video := uploadFile{field: "video", file: FileFromReader("v.mp4", upZeros{}, MaxFieldApplyFileSize), limit: MaxFieldApplyFileSize}
	assert.NoError(t, video.check(methodAppAPIFieldApply), "a video of exactly 10 MiB")
	video.file = FileFromReader("v.mp4", upZeros{}, MaxFieldApplyFileSize+1)
	assert.ErrorIs(t, video.check(methodAppAPIFieldApply), ErrInvalidRequest, "a byte over 10 MiB")
	logo := uploadFile{field: "app_logo", file: FileFromReader("logo.png", upZeros{}, MaxAppLogoSize), limit: MaxAppLogoSize}
	assert.NoError(t, logo.check(methodMiniBaseInfoModify))
	logo.file = FileFromReader("logo.png", upZeros{}, MaxAppLogoSize+1)
	assert.Error(t, logo.check(methodMiniBaseInfoModify))
}
