package alipay

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Alipay method names of the user-information (app.api) calls.
const (
	methodAppAPIQuery      = "alipay.open.app.api.query"
	methodAppAPISceneQuery = "alipay.open.app.api.scene.query"
	methodAppAPIFieldApply = "alipay.open.app.api.field.apply"
	methodAppAPIFieldQuery = "alipay.open.app.api.field.query"
)

// AppAPIQueryRequest is the request of [Client.AppAPIQuery]. The call has no
// business parameters; a nil request is the zero request.
type AppAPIQueryRequest struct{}

// AuthAPIDTO is one sensitive output field an app may apply for (Java
// AuthApiDTO). Pass its values back verbatim to scene.query and field.apply.
type AuthAPIDTO struct {
	// APIName is the API whose output holds the field (敏感信息可申请接口名),
	// e.g. "getPhoneNumber".
	APIName string `json:"api_name"`
	// FieldName is the sensitive field (敏感信息申请字段), e.g. "mobile". One
	// Alipay example shows a comma list ("name,phone"); it is kept verbatim
	// (docs/wire.md row U26).
	FieldName string `json:"field_name"`
	// PackageCode is the feature package code (敏感信息申请能力 code 值).
	PackageCode string `json:"package_code"`
}

// AppAPIQueryResponse lists what the merchant app may apply for.
type AppAPIQueryResponse struct {
	ResponseMeta
	// APIs are the applicable fields; empty when nothing can be applied for.
	APIs []AuthAPIDTO `json:"apis"`
}

// Find returns the applicable field (apiName, fieldName), e.g.
// ("getPhoneNumber", "mobile"), with the package code to apply with; false
// when the app may not apply for it. When Alipay lists the field in more
// than one package, the first listed is returned: range over APIs to choose.
func (r *AppAPIQueryResponse) Find(apiName, fieldName string) (AuthAPIDTO, bool) {
	if r == nil {
		return AuthAPIDTO{}, false
	}
	for _, a := range r.APIs {
		if a.APIName == apiName && a.FieldName == fieldName {
			return a, true
		}
	}
	return AuthAPIDTO{}, false
}

// AppAPIQuery lists the sensitive output fields of APIs that the merchant's
// app may apply for, with the feature package code to use.
//
// Alipay API: alipay.open.app.api.query (查询应用可申请的接口出参敏感字段列表).
func (c *Client) AppAPIQuery(ctx context.Context, req *AppAPIQueryRequest) (*AppAPIQueryResponse, error) {
	_ = req
	return callTyped[AppAPIQueryResponse](ctx, c, methodAppAPIQuery, nil, nil)
}

// AppAPISceneQueryRequest selects the field whose usage scenes to list.
type AppAPISceneQueryRequest struct {
	// APIName is the API English name (接口英文名), from [Client.AppAPIQuery].
	// Required.
	APIName string `json:"api_name"`
	// FieldName is the output field English name (接口出参字段英文名), from
	// [Client.AppAPIQuery]. Required.
	FieldName string `json:"field_name"`
}

// AuthFieldSceneDTO is one usage scene of a field (Java AuthFieldSceneDTO).
type AuthFieldSceneDTO struct {
	// SceneCode is the scene code (场景 code) to put in field.apply. A string,
	// though the examples are digits.
	SceneCode string `json:"scene_code"`
	// SceneDesc describes the scene (场景 code 描述), e.g. "汽车服务".
	SceneDesc string `json:"scene_desc"`
}

// AppAPISceneQueryResponse lists the usage scenes of one field.
type AppAPISceneQueryResponse struct {
	ResponseMeta
	// AuthFieldScene are the scenes (接口信息字段应用场景).
	AuthFieldScene []AuthFieldSceneDTO `json:"auth_field_scene"`
}

// AppAPISceneQuery lists the usage scenes allowed for one (api_name,
// field_name); the chosen scene code goes into [Client.AppAPIFieldApply].
// Both names are required and checked before anything is sent.
//
// Alipay API: alipay.open.app.api.scene.query (查询接口字段使用场景).
func (c *Client) AppAPISceneQuery(ctx context.Context, req *AppAPISceneQueryRequest) (*AppAPISceneQueryResponse, error) {
	if req == nil {
		req = &AppAPISceneQueryRequest{}
	}
	if err := requireFields(methodAppAPISceneQuery, "", "api_name", req.APIName, "field_name", req.FieldName); err != nil {
		return nil, err
	}
	biz, err := marshalJSON(req)
	if err != nil {
		return nil, &ValidationError{Method: methodAppAPISceneQuery, Field: "biz_content", Problem: err.Error()}
	}
	return callTyped[AppAPISceneQueryResponse](ctx, c, methodAppAPISceneQuery, biz, nil)
}

// AppAPIFieldQueryRequest is the request of [Client.AppAPIFieldQuery]. The
// call has no business parameters (no filter, no paging); a nil request is
// the zero request.
type AppAPIFieldQueryRequest struct{}

// AuthFieldStatus is the audit status of an application (审核状态).
type AuthFieldStatus string

// Audit statuses. Alipay's SDK models send upper case and its integration
// guide lower case, and Alipay does not say which the gateway sends: values
// are compared case-insensitively (docs/wire.md row U23) and normalised to
// these constants; anything else becomes AuthFieldStatusUnknown, with the
// received text kept in the record's StatusRaw.
const (
	AuthFieldStatusAudit   AuthFieldStatus = "AUDIT"   // under audit (审核中)
	AuthFieldStatusAgree   AuthFieldStatus = "AGREE"   // approved (通过)
	AuthFieldStatusReject  AuthFieldStatus = "REJECT"  // rejected (驳回); see Reason
	AuthFieldStatusInvalid AuthFieldStatus = "INVALID" // invalid (无效), ISV-on-behalf only
	AuthFieldStatusUnknown AuthFieldStatus = "UNKNOWN" // a value this version does not know
)

// parseAuthFieldStatus normalises a received status.
func parseAuthFieldStatus(s string) AuthFieldStatus {
	switch st := AuthFieldStatus(strings.ToUpper(strings.TrimSpace(s))); st {
	case AuthFieldStatusAudit, AuthFieldStatusAgree, AuthFieldStatusReject, AuthFieldStatusInvalid:
		return st
	default:
		return AuthFieldStatusUnknown
	}
}

// Terminal reports whether the status ends an audit (agree, reject, invalid).
func (s AuthFieldStatus) Terminal() bool {
	return s == AuthFieldStatusAgree || s == AuthFieldStatusReject || s == AuthFieldStatusInvalid
}

// AuthFieldDTO is one application record (Java AuthFieldDTO); the
// field.changed message carries the same fields.
type AuthFieldDTO struct {
	// UserAppID is the app id of the applicant (the merchant mini-program).
	UserAppID string `json:"user_app_id"`
	// APIName is the API English name (接口英文名称).
	APIName string `json:"api_name"`
	// FieldName is the field English name (接口字段英文名称).
	FieldName string `json:"field_name"`
	// PackageCode is the feature package of the API (接口归属的功能code).
	PackageCode string `json:"package_code"`
	// Status is the normalised audit status.
	Status AuthFieldStatus `json:"status"`
	// StatusRaw is the status exactly as received.
	StatusRaw string `json:"-"`
	// Reason is the rejection reason (驳回原因), expected with REJECT.
	Reason string `json:"reason,omitempty"`
}

// UnmarshalJSON decodes a record, normalising Status and keeping StatusRaw.
func (d *AuthFieldDTO) UnmarshalJSON(data []byte) error {
	type plain AuthFieldDTO
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	p.StatusRaw = string(p.Status)
	p.Status = parseAuthFieldStatus(p.StatusRaw)
	*d = AuthFieldDTO(p)
	return nil
}

// Matches reports whether the record is about the given api, field and
// package: the correlation key of an application, which has no id.
func (d *AuthFieldDTO) Matches(apiName, fieldName, packageCode string) bool {
	return d.APIName == apiName && d.FieldName == fieldName && d.PackageCode == packageCode
}

// AuthFieldResponse is the query result (用户信息申请信息记录查询响应模型).
type AuthFieldResponse struct {
	// Records are the application records (用户信息申请记录列表).
	Records []AuthFieldDTO `json:"records"`
}

// AppAPIFieldQueryResponse holds the application records of the merchant app.
type AppAPIFieldQueryResponse struct {
	ResponseMeta
	// AuthFieldResponse holds the records.
	AuthFieldResponse AuthFieldResponse `json:"auth_field_response"`
}

// Records returns the records matching (apiName, fieldName, packageCode).
func (r *AppAPIFieldQueryResponse) Records(apiName, fieldName, packageCode string) []AuthFieldDTO {
	var out []AuthFieldDTO
	for _, rec := range r.AuthFieldResponse.Records {
		if rec.Matches(apiName, fieldName, packageCode) {
			out = append(out, rec)
		}
	}
	return out
}

// AppAPIFieldQuery lists the user-information application records of the
// merchant's app and their audit status. There is no filter: use
// [AppAPIFieldQueryResponse.Records] to select one application.
//
// Alipay API: alipay.open.app.api.field.query (用户信息申请记录查询).
func (c *Client) AppAPIFieldQuery(ctx context.Context, req *AppAPIFieldQueryRequest) (*AppAPIFieldQueryResponse, error) {
	_ = req
	return callTyped[AppAPIFieldQueryResponse](ctx, c, methodAppAPIFieldQuery, nil, nil)
}

// Sub_codes of [Client.AppAPIFieldApply] that mean the application exists
// already. A resend after a transport error or a cancelled ctx can meet
// them: treat them as "already submitted" and follow the audit with
// [Client.AppAPIFieldQuery] or [Client.WaitFieldAudit]. Compare
// [APIError.SubCode] exactly.
const (
	// SubCodeAuthAPIFieldIsAuditing: an application for this field is under
	// audit.
	SubCodeAuthAPIFieldIsAuditing = "AUTH_API_FIELD_IS_AUDITING"
	// SubCodeAuthAPIApplyIsPass: the field was approved already.
	SubCodeAuthAPIApplyIsPass = "AUTH_API_APPLY_IS_PASS"
)

// AuthFieldApply is one application for a user-information field (Java
// AuthFieldApply). It is sent as the JSON text parameter auth_field_apply,
// marshalled once (compact, no HTML escaping, empty optional fields
// omitted); that exact string is signed.
type AuthFieldApply struct {
	// APIName is the API English name (接口英文名称), from
	// [Client.AppAPIQuery], e.g. "getPhoneNumber". Required.
	APIName string `json:"api_name"`
	// FieldName is the field English name (字段英文名称), from
	// [Client.AppAPIQuery], e.g. "mobile". Required.
	FieldName string `json:"field_name"`
	// PackageCode is the feature package code (功能包 code), from
	// [Client.AppAPIQuery]. Required.
	PackageCode string `json:"package_code"`
	// SceneCode is the usage scene code (字段使用场景 code), from
	// [Client.AppAPISceneQuery]. Required.
	SceneCode string `json:"scene_code"`
	// QPSAnswer answers: expected peak calls per second within a year of
	// going live (最高峰值 1000 QPS), free text. Required.
	QPSAnswer string `json:"qps_answer"`
	// CustomerAnswer answers: the app's own customer-service channel and how
	// many public-opinion cases it can handle in time, free text. Required.
	CustomerAnswer string `json:"customer_answer"`
	// Memo is a remark (备注), in practice the purpose of the data.
	Memo string `json:"memo,omitempty"`
	// TinyAppTemplateID is the template's app id (小程序模板id), to apply
	// for a template (template-built mini-programs, 模板开发): send the
	// application with the template's client (WithAppAuthToken with the
	// token the template was authorised with, as for a merchant app).
	// Alipay does not say whether a template's approval covers the
	// mini-programs built from it: check each merchant with
	// [Client.AppAPIFieldQuery] ([Client.ListMiniTemplateUsages] lists
	// them). Each template and each instance needs its own AES key
	// ([Client.AuthAppAESSet]). Empty for an ordinary mini-program.
	TinyAppTemplateID string `json:"tiny_app_template_id,omitempty"`
}

// AppAPIFieldApplyRequest is an application with its demo material: at
// least one picture or the video. The material must show how the user logs
// in, how the user authorises the output of the field, and how the field is
// then used.
type AppAPIFieldApplyRequest struct {
	// AuthFieldApply is the application. Required.
	AuthFieldApply AuthFieldApply
	// Pictures are the demo pictures (png, jpg, jpeg), at most 5, sent as
	// picture_1 … picture_5 in order; each ≤ 10 MiB and not empty.
	Pictures []File
	// Video is the demo video (MP4), ≤ 10 MiB and not empty; nil for none.
	Video *File
}

// AppAPIFieldApplyResponse is the answer to an application. It has no
// business fields and no application id: follow the audit by (api_name,
// field_name, package_code) with [Client.AppAPIFieldQuery] or
// [Client.WaitFieldAudit].
type AppAPIFieldApplyResponse struct {
	ResponseMeta
}

// AppAPIFieldApply submits an application for one user-information field of
// the merchant's mini-program, with at least one picture or a video. The
// request is validated before anything is sent (required fields, at most 5
// pictures, each file present, not empty and ≤ 10 MiB); every failure is a
// [*ValidationError] naming the field, e.g. "auth_field_apply.scene_code" or
// "picture_2". Files are streamed, never held in memory, and never signed;
// the client's timeout ([WithTimeout]) bounds the whole upload, so raise it
// for large files on slow links.
//
// It is a write, never retried. When the application may have been
// recorded although no usable answer came (a timeout or a cancelled ctx
// after sending, a dropped connection, a proxy's error page, a 20000), the
// error satisfies errors.Is(err, [ErrOutcomeUnknown]): check with
// [Client.AppAPIFieldQuery] before applying again, or apply with
// [Client.ApplyFieldOnce], which does so. A resend of a recorded
// application fails with [SubCodeAuthAPIFieldIsAuditing] or
// [SubCodeAuthAPIApplyIsPass].
//
// Alipay API: alipay.open.app.api.field.apply (申请获取接口用户敏感信息字段).
func (c *Client) AppAPIFieldApply(ctx context.Context, req *AppAPIFieldApplyRequest) (*AppAPIFieldApplyResponse, error) {
	if req == nil {
		req = &AppAPIFieldApplyRequest{}
	}
	files, err := req.validate()
	if err != nil {
		return nil, err
	}
	text, err := marshalJSON(req.AuthFieldApply)
	if err != nil {
		return nil, &ValidationError{Method: methodAppAPIFieldApply, Field: "auth_field_apply", Problem: err.Error()}
	}
	res, err := c.upload(ctx, methodAppAPIFieldApply, []param{{"auth_field_apply", string(text)}}, files)
	if err != nil {
		return nil, err
	}
	return decodeVerified[AppAPIFieldApplyResponse](methodAppAPIFieldApply, res)
}

// validate checks the application and the number of files, and lists the
// file parts; the upload checks the files themselves, still before anything
// is sent.
func (r *AppAPIFieldApplyRequest) validate() ([]uploadFile, error) {
	a := &r.AuthFieldApply
	if err := requireFields(methodAppAPIFieldApply, "auth_field_apply.",
		"api_name", a.APIName, "field_name", a.FieldName, "package_code", a.PackageCode,
		"scene_code", a.SceneCode, "qps_answer", a.QPSAnswer, "customer_answer", a.CustomerAnswer); err != nil {
		return nil, err
	}
	if len(r.Pictures) > MaxFieldApplyPictures {
		return nil, &ValidationError{Method: methodAppAPIFieldApply, Field: "pictures",
			Problem: fmt.Sprintf("at most %d pictures (picture_1 … picture_5), got %d", MaxFieldApplyPictures, len(r.Pictures))}
	}
	if len(r.Pictures) == 0 && r.Video == nil {
		return nil, &ValidationError{Method: methodAppAPIFieldApply, Field: "pictures",
			Problem: "at least one picture or a video is required"}
	}
	files := make([]uploadFile, 0, len(r.Pictures)+1)
	for i, p := range r.Pictures {
		files = append(files, uploadFile{field: "picture_" + strconv.Itoa(i+1), file: p, limit: MaxFieldApplyFileSize})
	}
	if r.Video != nil {
		files = append(files, uploadFile{field: "video", file: *r.Video, limit: MaxFieldApplyFileSize})
	}
	return files, nil
}

// requireFields returns a *ValidationError for the first empty value of
// name/value pairs; prefix qualifies the field names ("auth_field_apply.").
func requireFields(method, prefix string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return &ValidationError{Method: method, Field: prefix + pairs[i], Problem: "required"}
		}
	}
	return nil
}
