package alipaytest

import (
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFieldApplyRecordsTheApplication(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	pic := pngBytes(t, 32, 32)
	r := newCall(t, s, methodFieldApply).set("auth_field_apply", applyJSON).
		file("picture_1", "login.png", "image/png", pic).
		file("picture_2", "auth.jpg", "image/jpeg", append([]byte{0xff, 0xd8, 0xff, 0xe0}, make([]byte, 100)...)).
		file("video", "flow.mp4", "application/octet-stream", mp4Bytes()).do(t)
	requireCode(t, r, "10000", "")
	assert.Equal(t, `{"code":"10000","msg":"Success"}`, string(r.nodeRaw))

	apps := s.Applications(DefaultMerchantToken)
	require.Len(t, apps, 1)
	a := apps[0]
	assert.Equal(t, DefaultMerchantAppID, a.UserAppID)
	assert.Equal(t, "getPhoneNumber", a.APIName)
	assert.Equal(t, "14", a.SceneCode)
	assert.Equal(t, "收发快递联系人", a.Memo)
	assert.Equal(t, applyJSON, a.AuthFieldApply)
	assert.Equal(t, StatusAudit, a.Status)
	assert.False(t, a.AppliedAt.IsZero())
	require.Len(t, a.Files, 3)
	assert.Equal(t, File{Part: "picture_1", Filename: "login.png", ContentType: "image/png", Detected: "image/png",
		Size: int64(len(pic)), SHA256: a.Files[0].SHA256}, a.Files[0])
	assert.Len(t, a.Files[0].SHA256, 64)
	assert.Equal(t, "image/jpeg", a.Files[1].Detected)
	assert.Equal(t, "video", a.Files[2].Part)
	assert.Equal(t, "application/octet-stream", a.Files[2].ContentType)
	assert.Equal(t, a.Files, s.Applications(DefaultMerchantAppID)[0].Files, "found by app id too")
	assert.Nil(t, s.Applications("nobody"))

	r = newCall(t, s, methodFieldQuery).do(t)
	requireCode(t, r, "10000", "")
	assert.JSONEq(t, `{"records":[{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile",
		"package_code":"20180927110154092444","status":"AUDIT"}]}`, string(mustJSON(t, r.fields["auth_field_response"])))
}

func TestFieldApplyChecks(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	png := pngBytes(t, 8, 8)
	withJSON := func(js string) func(*call) {
		return func(c *call) { c.set("auth_field_apply", js) }
	}
	drop := func(key string) string { // applyJSON without key
		return strings.Replace(applyJSON, `"`+key+`":`, `"x_`+key+`":`, 1)
	}
	for _, tc := range []struct {
		name string
		edit func(*call)
		code string
		sub  string
	}{
		{"no auth_field_apply", func(c *call) { c.del("auth_field_apply") }, "40004", "AUTHFIELDAPPLY_IS_BLANK"},
		{"in biz_content instead", func(c *call) { c.del("auth_field_apply").set("biz_content", applyJSON) }, "40004", "AUTHFIELDAPPLY_IS_BLANK"},
		{"not JSON", withJSON("api_name=getPhoneNumber"), "40002", "isv.invalid-parameter"},
		{"number instead of string", withJSON(`{"api_name":1}`), "40002", "isv.invalid-parameter"},
		{"no api_name", withJSON(drop("api_name")), "40004", "API_NAME_IS_BLANK"},
		{"no field_name", withJSON(drop("field_name")), "40004", "FIELD_NAME_IS_BLANK"},
		{"no package_code", withJSON(drop("package_code")), "40004", "PACKAGE_CODE_IS_BLANK"},
		{"no scene_code", withJSON(drop("scene_code")), "40004", "SCENE_CODE_IS_BLANK"},
		{"no qps_answer", withJSON(drop("qps_answer")), "40004", "QPS_ANSWER_IS_BLANK"},
		{"blank customer_answer", withJSON(strings.Replace(applyJSON, "有自己的客服团队3人", " ", 1)), "40004", "CUSTOMER_ANSWER_IS_BLANK"},
		{"no file", func(c *call) { c.files = nil }, "40004", "FILE_ITEMS_IS_BLANK"},
		{"form body, no file", func(c *call) { c.files, c.multipart = nil, false }, "40004", "FILE_ITEMS_IS_BLANK"},
		{"empty file", func(c *call) { c.file("picture_2", "b.png", "image/png", nil) }, "40004", "FILE_SIZE_MIN_LIMIT"},
		{"gif", func(c *call) { c.files = nil; c.file("picture_1", "a.gif", "image/gif", []byte("GIF89a......")) }, "40004", "FILE_FORMAT_IS_INVALID"},
		{"png bytes named .jpg", func(c *call) { c.files = nil; c.file("picture_1", "a.jpg", "image/jpeg", png) }, "40004", "FILE_FORMAT_IS_INVALID"},
		{"video not mp4", func(c *call) { c.file("video", "flow.mp4", "video/mp4", []byte("not a video at all")) }, "40004", "FILE_FORMAT_IS_INVALID"},
		{"picture1 without underscore", func(c *call) { c.file("picture1", "a.png", "image/png", png) }, "40002", "isv.invalid-parameter"},
		{"picture as text part", func(c *call) { c.set("picture_2", "a.png") }, "40002", "isv.invalid-parameter"},
		{"picture twice", func(c *call) { c.file("picture_1", "b.png", "image/png", png) }, "40002", "isv.invalid-parameter"},
		{"unknown api", withJSON(strings.Replace(applyJSON, `"getPhoneNumber"`, `"getCertNo"`, 1)), "40004", "API_NAME_ERROR"},
		{"unknown field", withJSON(strings.Replace(applyJSON, `"mobile"`, `"cert_no"`, 1)), "40004", "PRIVACY_FIELD_NOT_EXIST"},
		{"wrong package", withJSON(strings.Replace(applyJSON, "20180927110154092444", "20201019201538211864", 1)), "40004", "PACKAGE_CODE_ERROR"},
		{"unknown scene", withJSON(strings.Replace(applyJSON, `"scene_code":"14"`, `"scene_code":"123"`, 1)), "40004", "SCENE_CODE_ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := applyCall(t, s)
			tc.edit(c)
			requireCode(t, c.do(t), tc.code, tc.sub)
		})
	}
	assert.Empty(t, s.Applications(DefaultMerchantToken), "no failed check records an application")
}

// zeroes streams n bytes that look like a PNG, without holding them.
type zeroes struct{ n, off int64 }

func (z *zeroes) Read(p []byte) (int, error) {
	if z.off >= z.n {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n-z.off {
		p = p[:z.n-z.off]
	}
	for i := range p {
		p[i] = 0
	}
	if z.off == 0 {
		copy(p, "\x89PNG\r\n\x1a\n")
	}
	z.off += int64(len(p))
	return len(p), nil
}

// TestFieldApplyFileLimitStreamed sends files of exactly 10 MiB and one
// byte more, streamed from a generator, and checks that the server did not
// buffer them: far less memory is allocated than the files' size.
func TestFieldApplyFileLimitStreamed(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct {
		name string
		size int64
		sub  string
	}{
		{"exactly 10 MiB", MaxFieldApplyFileSize, ""},
		{"10 MiB + 1", MaxFieldApplyFileSize + 1, "FILE_SIZE_OUT_LIMIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCall(t, s, methodFieldApply).set("auth_field_apply", applyJSON)
			c.multipart = true
			c.files = append(c.files, tfile{name: "picture_1", filename: "big.png", ctype: "image/png", r: &zeroes{n: tc.size}})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := c.do(t)
			runtime.ReadMemStats(&after)
			if tc.sub == "" {
				requireCode(t, r, "10000", "")
				apps := s.Applications(DefaultMerchantToken)
				require.Len(t, apps, 1)
				assert.Equal(t, tc.size, apps[0].Files[0].Size)
			} else {
				requireCode(t, r, "40004", tc.sub)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			// Both sides stream: about 0.5 MiB is allocated for 10 MiB.
			assert.Less(t, alloc, uint64(2<<20), "allocated %d bytes for a %d-byte upload", alloc, tc.size)
		})
	}
	t.Run("body cap", func(t *testing.T) {
		small := newTestServer(t, WithMaxBodyBytes(1<<20))
		c := newCall(t, small, methodFieldApply).set("auth_field_apply", applyJSON)
		c.multipart = true
		c.files = append(c.files, tfile{name: "picture_1", filename: "big.png", ctype: "image/png", r: &zeroes{n: 4 << 20}})
		req := c.request(t)
		resp, err := testHTTP.Do(req)
		if err == nil { // the server may answer 413 and close before the client finishes writing
			resp.Body.Close()
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		}
		reqs := small.Requests()
		require.Len(t, reqs, 1)
		assert.Equal(t, http.StatusRequestEntityTooLarge, reqs[0].HTTPStatus)
		assert.Empty(t, small.Applications(DefaultMerchantToken))
	})
}

func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	const api, field, pkg = "getPhoneNumber", "mobile", "20180927110154092444"

	err := s.Approve(DefaultMerchantToken, api, field, pkg)
	require.ErrorIs(t, err, ErrNoApplication)
	require.ErrorIs(t, s.Approve("nobody", api, field, pkg), ErrUnknownMerchant)

	requireCode(t, applyCall(t, s).do(t), "10000", "")
	requireCode(t, applyCall(t, s).do(t), "40004", "AUTH_API_FIELD_IS_AUDITING")

	require.NoError(t, s.Reject(DefaultMerchantAppID, api, field, pkg, "演示视频未展示授权流程"))
	require.ErrorIs(t, s.Reject(DefaultMerchantAppID, api, field, pkg, ""), ErrNoApplication)
	requireCode(t, applyCall(t, s).do(t), "10000", "") // a new application after a rejection
	require.NoError(t, s.Approve(DefaultMerchantToken, api, field, pkg))
	requireCode(t, applyCall(t, s).do(t), "40004", "AUTH_API_APPLY_IS_PASS")

	apps := s.Applications(DefaultMerchantToken)
	require.Len(t, apps, 2)
	assert.Equal(t, StatusReject, apps[0].Status)
	assert.Equal(t, "演示视频未展示授权流程", apps[0].Reason)
	assert.False(t, apps[0].DecidedAt.IsZero())
	assert.Equal(t, StatusAgree, apps[1].Status)
	assert.Empty(t, apps[1].Reason)

	r := newCall(t, s, methodFieldQuery).do(t)
	requireCode(t, r, "10000", "")
	assert.JSONEq(t, `{"records":[
		{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile","package_code":"20180927110154092444","status":"REJECT","reason":"演示视频未展示授权流程"},
		{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile","package_code":"20180927110154092444","status":"AGREE"}]}`,
		string(mustJSON(t, r.fields["auth_field_response"])))

	// The other default field is independent; Invalidate ends its audit.
	other := strings.NewReplacer(`"getPhoneNumber"`, `"alipay.user.info.share"`, "20180927110154092444", "20201019201538211864").Replace(applyJSON)
	requireCode(t, applyCall(t, s).set("auth_field_apply", other).do(t), "10000", "")
	require.NoError(t, s.Invalidate(DefaultMerchantToken, "alipay.user.info.share", "mobile", "20201019201538211864"))
	apps = s.Applications(DefaultMerchantToken)
	assert.Equal(t, StatusInvalid, apps[2].Status)
	assert.False(t, errors.Is(s.Invalidate(DefaultMerchantToken, api, field, pkg), ErrUnknownMerchant))
}

func TestLowerCaseStatus(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithLowerCaseStatus())
	requireCode(t, applyCall(t, s).do(t), "10000", "")
	r := newCall(t, s, methodFieldQuery).do(t)
	requireCode(t, r, "10000", "")
	assert.Contains(t, string(r.nodeRaw), `"status":"audit"`)
	assert.Equal(t, StatusAudit, s.Applications(DefaultMerchantToken)[0].Status)
}
