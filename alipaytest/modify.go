package alipaytest

import (
	"bytes"
	"image"
	_ "image/jpeg" // DecodeConfig of logos
	_ "image/png"  // DecodeConfig of logos
	"net/mail"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// baseInfoModify checks and applies a baseinfo.modify: only the app_logo
// file part, at least one change (MODIFY_PARAMS_ARE_BLANK), each given
// value's length and characters, the categories (1–4, known ids; the legacy
// app_category_ids are ignored when mini_category_ids is given), the logo
// (png/jpg/jpeg, non-empty, ≤ 2 MiB, square), and a phone or an email in
// the result. Nothing is applied unless everything passes; on a listed
// mini-program the change waits for an information audit
// ([Server.ApproveBaseInfo]), during which another modify is refused with
// MINI_APP_INFO_AUDIT_CONTAINS. The caller holds s.mu.
func (s *Server) baseInfoModify(m *merchant, in *incoming) *answer {
	for _, f := range in.files {
		if f.Part != "app_logo" {
			return failure(codeInvalidArgs, "isv.invalid-parameter", "参数无效: 未知的文件参数 "+f.Part+"（可用 app_logo）")
		}
	}
	if _, ok := in.params["app_logo"]; ok {
		return failure(codeInvalidArgs, "isv.invalid-parameter", "参数无效: app_logo 必须是带 filename 的文件参数")
	}
	if m.pendingInfo != nil {
		return failure(codeBusinessError, "MINI_APP_INFO_AUDIT_CONTAINS", "小程序已有信息审核中, 请等待审核结束")
	}
	logo := in.file("app_logo")
	next := m.info
	given := logo != nil
	for _, r := range [...]struct {
		key     string
		dst     *string
		min     int
		max     int
		charset func(rune) bool
		subLen  string
		subChar string
	}{
		{"app_name", &next.AppName, 3, 30, nameRune, "INVALID_MINI_APP_NAME_LENGTH", "INVALID_MINI_APP_NAME"},
		{"app_english_name", &next.AppEnglishName, 3, 30, nameRune, "INVALID_MINI_APP_EN_NAME_LENGTH", "INVALID_MINI_APP_EN_NAME"},
		{"app_slogan", &next.AppSlogan, 10, 32, nil, "INVALID_MINI_APP_SLOGAN_LENGTH", ""},
		{"app_desc", &next.AppDesc, 20, 400, nil, "INVALID_MINI_APP_DESC_LENGTH", ""},
		{"service_phone", &next.ServicePhone, 5, 30, phoneRune, "INVALID_MINI_APP_SERVICE_PHONE", "INVALID_MINI_APP_SERVICE_PHONE"},
	} {
		v := in.get(r.key)
		if v == "" {
			continue
		}
		given = true
		if n := utf8.RuneCountInString(v); n < r.min || n > r.max {
			return failure(codeBusinessError, r.subLen, r.key+" 长度需为 "+strconv.Itoa(r.min)+"-"+strconv.Itoa(r.max)+" 个字符")
		}
		if r.charset != nil && strings.IndexFunc(v, func(c rune) bool { return !r.charset(c) }) >= 0 {
			return failure(codeBusinessError, r.subChar, r.key+" 含有不允许的字符")
		}
		*r.dst = v
	}
	if v := in.get("service_email"); v != "" {
		given = true
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			return failure(codeBusinessError, "INVALID_MINI_APP_SERVICE_EMAIL", "service_email 格式错误")
		}
		next.ServiceEmail = v
	}
	if v := in.get("mini_category_ids"); v != "" {
		given = true
		if a := s.checkCategories(v, true); a != nil {
			return a
		}
		next.MiniCategoryIDs = v
	} else if v := in.get("app_category_ids"); v != "" {
		given = true
		if a := s.checkCategories(v, false); a != nil {
			return a
		}
		next.AppCategoryIDs = v
	}
	if !given {
		return failure(codeBusinessError, "MODIFY_PARAMS_ARE_BLANK", "修改参数不能全部为空")
	}
	if logo != nil {
		if a := checkLogo(logo); a != nil {
			return a
		}
		next.AppLogo = "https://appstoreisvpic.alipayobjects.com/prod/" + logo.SHA256[:32] + strings.ToLower(path.Ext(logo.Filename))
	}
	if next.ServicePhone == "" && next.ServiceEmail == "" {
		return failure(codeBusinessError, "SERVICE_TEL_AND_MAIL_BOTH_BLANK", "客服电话和客服邮箱不能同时为空")
	}
	if !m.listed {
		m.info = next // applied at once: no modify_status, as in Alipay's older model
		return success(struct{}{})
	}
	// A listed mini-program's change waits for an information audit.
	m.pendingInfo = &next
	return success(struct {
		ModifyStatus string `json:"modify_status"`
	}{ModifyStatusPendingAudit})
}

// nameRune is the character set of names: letters (Chinese included),
// digits, '_', '+', '-'.
func nameRune(c rune) bool {
	return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '+' || c == '-'
}

func phoneRune(c rune) bool { return (c >= '0' && c <= '9') || c == '-' }

// checkLogo checks the app_logo file: extension, size, decodable, square.
func checkLogo(f *filePart) *answer {
	switch strings.ToLower(path.Ext(f.Filename)) {
	case ".png", ".jpg", ".jpeg":
	default:
		return failure(codeBusinessError, "INVALID_LOGO_EXT", "logo 只支持 jpeg/jpg/png")
	}
	if f.Size > MaxLogoSize {
		return failure(codeBusinessError, "LOGO_EXCEED_MAX_SIZE", "logo 超过 2M")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(f.head))
	if f.Size == 0 || err != nil {
		return failure(codeBusinessError, "INVALID_LOGO", "logo 不是有效的图片")
	}
	if cfg.Width != cfg.Height {
		return failure(codeBusinessError, "LOGO_HEIGHT_NOT_EQUAL_WIDTH", "logo 的高度和宽度需相等")
	}
	return nil
}
