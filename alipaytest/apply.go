package alipaytest

import (
	"bytes"
	"encoding/json"
	"path"
	"strings"
)

// File limits of field.apply and baseinfo.modify.
const (
	// MaxFieldApplyFileSize is the largest file field.apply accepts
	// ("10M", read as 10 MiB).
	MaxFieldApplyFileSize = 10 << 20
	// MaxLogoSize is the largest app_logo baseinfo.modify accepts (2 MiB).
	MaxLogoSize = 2 << 20
)

// fieldApplyPart reports whether name is a file part of field.apply.
func fieldApplyPart(name string) bool {
	switch name {
	case "picture_1", "picture_2", "picture_3", "picture_4", "picture_5", "video":
		return true
	}
	return false
}

// authFieldApply is the JSON of the auth_field_apply text part.
type authFieldApply struct {
	APIName           string `json:"api_name"`
	FieldName         string `json:"field_name"`
	PackageCode       string `json:"package_code"`
	SceneCode         string `json:"scene_code"`
	QPSAnswer         string `json:"qps_answer"`
	CustomerAnswer    string `json:"customer_answer"`
	Memo              string `json:"memo"`
	TinyAppTemplateID string `json:"tiny_app_template_id"`
}

// fieldApply checks, in order: the shape (only the known file parts, files
// as file parts), auth_field_apply and its six required fields, the files
// (at least one, sizes, formats), the field against the merchant's
// applicable fields, then the state (an application under audit or already
// approved). The caller holds s.mu.
func (s *Server) fieldApply(m *merchant, in *incoming) *answer {
	for _, f := range in.files {
		if !fieldApplyPart(f.Part) {
			return failure(codeInvalidArgs, "isv.invalid-parameter",
				"参数无效: 未知的文件参数 "+f.Part+"（可用 picture_1…picture_5, video）")
		}
	}
	for _, name := range [...]string{"picture_1", "picture_2", "picture_3", "picture_4", "picture_5", "video"} {
		if _, ok := in.params[name]; ok {
			return failure(codeInvalidArgs, "isv.invalid-parameter", "参数无效: "+name+" 必须是带 filename 的文件参数")
		}
	}
	raw := in.get("auth_field_apply")
	if strings.TrimSpace(raw) == "" {
		msg := "auth_field_apply 不能为空"
		if in.get("biz_content") != "" {
			msg += "（本接口不使用 biz_content）"
		}
		return failure(codeBusinessError, "AUTHFIELDAPPLY_IS_BLANK", msg)
	}
	var req authFieldApply
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		return failure(codeInvalidArgs, "isv.invalid-parameter", "参数无效: auth_field_apply 不是合法的 JSON 对象")
	}
	for _, r := range [...]struct{ value, sub, name string }{
		{req.APIName, "API_NAME_IS_BLANK", "api_name"},
		{req.FieldName, "FIELD_NAME_IS_BLANK", "field_name"},
		{req.PackageCode, "PACKAGE_CODE_IS_BLANK", "package_code"},
		{req.SceneCode, "SCENE_CODE_IS_BLANK", "scene_code"},
		{req.QPSAnswer, "QPS_ANSWER_IS_BLANK", "qps_answer"},
		{req.CustomerAnswer, "CUSTOMER_ANSWER_IS_BLANK", "customer_answer"},
	} {
		if strings.TrimSpace(r.value) == "" {
			return failure(codeBusinessError, r.sub, r.name+" 不能为空")
		}
	}
	if len(in.files) == 0 {
		return failure(codeBusinessError, "FILE_ITEMS_IS_BLANK", "至少上传一个文件: picture_1…picture_5 或 video")
	}
	for _, f := range in.files {
		switch {
		case f.Size == 0:
			return failure(codeBusinessError, "FILE_SIZE_MIN_LIMIT", f.Part+" 文件为空")
		case f.Size > MaxFieldApplyFileSize:
			return failure(codeBusinessError, "FILE_SIZE_OUT_LIMIT", f.Part+" 文件超过 10M")
		case !fileFormatOK(f):
			return failure(codeBusinessError, "FILE_FORMAT_IS_INVALID", f.Part+" 文件格式不支持（图片 png/jpg/jpeg，视频 mp4）")
		}
	}
	if !m.hasAPI(req.APIName) {
		return failure(codeBusinessError, "API_NAME_ERROR", "接口名称错误: "+req.APIName)
	}
	field := m.field(req.APIName, req.FieldName)
	if field == nil {
		return failure(codeBusinessError, "PRIVACY_FIELD_NOT_EXIST", "隐私字段不存在: "+req.FieldName)
	}
	if field.PackageCode != req.PackageCode {
		return failure(codeBusinessError, "PACKAGE_CODE_ERROR", "功能包 code 错误: "+req.PackageCode)
	}
	if !hasScene(field.Scenes, req.SceneCode) {
		return failure(codeBusinessError, "SCENE_CODE_ERROR", "场景 code 错误: "+req.SceneCode)
	}
	if m.latest(req.APIName, req.FieldName, req.PackageCode, StatusAudit) != nil {
		return failure(codeBusinessError, "AUTH_API_FIELD_IS_AUDITING", "该字段正在审核中")
	}
	if m.latest(req.APIName, req.FieldName, req.PackageCode, StatusAgree) != nil {
		return failure(codeBusinessError, "AUTH_API_APPLY_IS_PASS", "该字段已申请通过")
	}
	app := &Application{
		UserAppID: m.appID, APIName: req.APIName, FieldName: req.FieldName, PackageCode: req.PackageCode,
		SceneCode: req.SceneCode, QPSAnswer: req.QPSAnswer, CustomerAnswer: req.CustomerAnswer, Memo: req.Memo,
		TinyAppTemplateID: req.TinyAppTemplateID, AuthFieldApply: raw, Status: StatusAudit,
		AppliedAt: s.now(),
	}
	for _, f := range in.files {
		app.Files = append(app.Files, f.File)
	}
	m.apps = append(m.apps, app)
	s.scheduleAudit(m, app)
	return success(nil)
}

func hasScene(scenes []Scene, code string) bool {
	for _, sc := range scenes {
		if sc.Code == code {
			return true
		}
	}
	return false
}

// fileFormatOK checks a field.apply file's extension and magic bytes:
// pictures PNG or JPEG (.png, .jpg, .jpeg), the video MP4 (.mp4, an "ftyp"
// box first).
func fileFormatOK(f *filePart) bool {
	ext := strings.ToLower(path.Ext(f.Filename))
	if f.Part == "video" {
		return ext == ".mp4" && len(f.head) >= 8 && string(f.head[4:8]) == "ftyp"
	}
	switch ext {
	case ".png":
		return bytes.HasPrefix(f.head, []byte("\x89PNG\r\n\x1a\n"))
	case ".jpg", ".jpeg":
		return bytes.HasPrefix(f.head, []byte{0xff, 0xd8, 0xff})
	}
	return false
}
