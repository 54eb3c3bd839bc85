package alipaytest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBaseInfoQueryAndModify(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	r := newCall(t, s, methodBaseInfoQuery).do(t)
	requireCode(t, r, "10000", "")
	assert.Equal(t, "小程序示例", r.fields["app_name"])
	assert.NotContains(t, r.fields, "category_names", "the default merchant starts without a category")
	assert.Equal(t, false, r.fields["registration_limit_release"])

	// A form (no logo), as the Java SDK sends it without a file.
	r = newCall(t, s, methodBaseInfoModify).set("mini_category_ids", "XS1001_XS2001_XS3002;XS1011_XS2089").
		set("app_slogan", "专注潮流女装二十年等等").do(t)
	requireCode(t, r, "10000", "")
	assert.NotContains(t, r.fields, "modify_status", "applied at once: no status")
	info, ok := s.BaseInfo(DefaultMerchantAppID)
	require.True(t, ok)
	assert.Equal(t, "XS1001_XS2001_XS3002;XS1011_XS2089", info.MiniCategoryIDs)
	assert.Equal(t, "专注潮流女装二十年等等", info.AppSlogan)

	r = newCall(t, s, methodBaseInfoQuery).do(t)
	requireCode(t, r, "10000", "")
	assert.Equal(t, "生活服务_家政服务_室内清洁服务;交通出行_物流快递;", r.fields["category_names"])

	// Multipart with a logo: the logo URL changes.
	logo := pngBytes(t, 180, 180)
	r = newCall(t, s, methodBaseInfoModify).set("service_email", "service+mini@example.com").
		file("app_logo", "logo.png", "image/png", logo).do(t)
	requireCode(t, r, "10000", "")
	info, _ = s.BaseInfo(DefaultMerchantToken)
	assert.True(t, strings.HasSuffix(info.AppLogo, ".png"), info.AppLogo)
	assert.NotEqual(t, defaultMerchant().BaseInfo.AppLogo, info.AppLogo)
	assert.Equal(t, "service+mini@example.com", info.ServiceEmail)

	_, ok = s.BaseInfo("nobody")
	assert.False(t, ok)
}

func TestBaseInfoModifyChecks(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithCategory("XS9999", "测试类目"))
	big := append(pngBytes(t, 8, 8), make([]byte, MaxLogoSize)...)
	for _, tc := range []struct {
		name string
		edit func(*call)
		code string
		sub  string
	}{
		{"nothing to change", func(c *call) {}, "40004", "MODIFY_PARAMS_ARE_BLANK"},
		{"only empty values", func(c *call) { c.set("app_name", "") }, "40004", "MODIFY_PARAMS_ARE_BLANK"},
		{"name too short", func(c *call) { c.set("app_name", "ab") }, "40004", "INVALID_MINI_APP_NAME_LENGTH"},
		{"name with a space", func(c *call) { c.set("app_name", "杭州 女装") }, "40004", "INVALID_MINI_APP_NAME"},
		{"english name too long", func(c *call) { c.set("app_english_name", strings.Repeat("a", 31)) }, "40004", "INVALID_MINI_APP_EN_NAME_LENGTH"},
		{"slogan too short", func(c *call) { c.set("app_slogan", "太短") }, "40004", "INVALID_MINI_APP_SLOGAN_LENGTH"},
		{"desc too short", func(c *call) { c.set("app_desc", "描述") }, "40004", "INVALID_MINI_APP_DESC_LENGTH"},
		{"phone with letters", func(c *call) { c.set("service_phone", "0571-ABC") }, "40004", "INVALID_MINI_APP_SERVICE_PHONE"},
		{"bad email", func(c *call) { c.set("service_email", "not an email") }, "40004", "INVALID_MINI_APP_SERVICE_EMAIL"},
		{"five categories", func(c *call) {
			c.set("mini_category_ids", "XS1001_XS2001;XS1011_XS2089;XS1005_XS2030;XS1020_XS2101;XS1001_XS2001")
		}, "40004", "CATEGORY_NUM_IS_INVALID"},
		{"unknown category", func(c *call) { c.set("mini_category_ids", "XS1001_XS0000") }, "40004", "INVALID_CATEGOTY"},
		{"one level", func(c *call) { c.set("mini_category_ids", "XS1001") }, "40004", "INVALID_CATEGOTY"},
		{"legacy id as front-end id", func(c *call) { c.set("mini_category_ids", "11_12") }, "40004", "INVALID_CATEGOTY"},
		{"category added by option", func(c *call) { c.set("mini_category_ids", "XS1001_XS9999") }, "10000", ""},
		{"legacy categories", func(c *call) { c.set("app_category_ids", "11_12;13_14") }, "10000", ""},
		{"legacy ignored next to new", func(c *call) {
			c.set("mini_category_ids", "XS1001_XS2001").set("app_category_ids", "bogus")
		}, "10000", ""},
		{"logo gif", func(c *call) { c.file("app_logo", "logo.gif", "image/gif", []byte("GIF89a")) }, "40004", "INVALID_LOGO_EXT"},
		{"logo not square", func(c *call) { c.file("app_logo", "logo.png", "image/png", pngBytes(t, 20, 10)) }, "40004", "LOGO_HEIGHT_NOT_EQUAL_WIDTH"},
		{"logo not an image", func(c *call) { c.file("app_logo", "logo.png", "image/png", []byte("hello")) }, "40004", "INVALID_LOGO"},
		{"logo empty", func(c *call) { c.file("app_logo", "logo.png", "image/png", nil) }, "40004", "INVALID_LOGO"},
		{"logo over 2 MiB", func(c *call) { c.file("app_logo", "logo.png", "image/png", big) }, "40004", "LOGO_EXCEED_MAX_SIZE"},
		{"logo as a text part", func(c *call) { c.multipart = true; c.set("app_logo", "x") }, "40002", "isv.invalid-parameter"},
		{"other file part", func(c *call) { c.file("logo", "logo.png", "image/png", pngBytes(t, 8, 8)) }, "40002", "isv.invalid-parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCall(t, s, methodBaseInfoModify)
			tc.edit(c)
			requireCode(t, c.do(t), tc.code, tc.sub)
		})
	}
	t.Run("phone and email both removed", func(t *testing.T) {
		s := newTestServer(t, WithMerchant(Merchant{Token: "t", AppID: "2021004000000003", BaseInfo: BaseInfo{AppName: "x"}}))
		requireCode(t, newCall(t, s, methodBaseInfoModify).set("app_auth_token", "t").set("app_name", "新名字的小程序").do(t),
			"40004", "SERVICE_TEL_AND_MAIL_BOTH_BLANK")
		info, _ := s.BaseInfo("t")
		assert.Equal(t, "x", info.AppName, "nothing applied on failure")
	})
	t.Run("files refused by query methods", func(t *testing.T) {
		c := newCall(t, s, methodAPIQuery).file("picture_1", "a.png", "image/png", pngBytes(t, 8, 8))
		requireCode(t, c.do(t), "40002", "isv.invalid-parameter")
	})
}

func TestSceneQueryChecks(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithMerchant(Merchant{
		Token: "t2", AppID: "2021004000000003",
		Fields: []Field{{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "p"}},
	}))
	for _, tc := range []struct {
		name, token, biz, sub string
	}{
		{"no biz_content", DefaultMerchantToken, "", "INVALID_PARAM"},
		{"not JSON", DefaultMerchantToken, "api_name=getPhoneNumber", "INVALID_PARAM"},
		{"no api_name", DefaultMerchantToken, `{"field_name":"mobile"}`, "INVALID_PARAM"},
		{"blank field_name", DefaultMerchantToken, `{"api_name":"getPhoneNumber","field_name":" "}`, "INVALID_PARAM"},
		{"field the app may not apply for", DefaultMerchantToken, `{"api_name":"getPhoneNumber","field_name":"cert_no"}`, "NO_PERMISSION"},
		{"field without scenes", "t2", `{"api_name":"getPhoneNumber","field_name":"mobile"}`, "AUTH_FIELD_SCENE_IS_BLANK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newCall(t, s, methodSceneQuery).set("app_auth_token", tc.token).set("biz_content", tc.biz).do(t)
			requireCode(t, r, "40004", tc.sub)
		})
	}
	r := newCall(t, s, methodAPIQuery).set("app_auth_token", "t2").do(t)
	requireCode(t, r, "10000", "")
	assert.JSONEq(t, `[{"api_name":"getPhoneNumber","field_name":"mobile","package_code":"p"}]`, string(mustJSON(t, r.fields["apis"])))

	empty := newTestServer(t, WithMerchant(Merchant{Token: DefaultMerchantToken, AppID: DefaultMerchantAppID, Fields: []Field{}}))
	r = newCall(t, empty, methodAPIQuery).do(t)
	requireCode(t, r, "10000", "")
	assert.NotContains(t, r.fields, "apis")
}
