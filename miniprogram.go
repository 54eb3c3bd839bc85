package alipay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Alipay method names of the mini-program calls.
const (
	methodMiniBaseInfoQuery  = "alipay.open.mini.baseinfo.query"
	methodMiniBaseInfoModify = "alipay.open.mini.baseinfo.modify"
)

// MiniBaseInfoQueryRequest is the request of [Client.MiniBaseInfoQuery]. The
// call has no business parameters today; the type exists so fields can come
// later. A nil request is the zero request.
type MiniBaseInfoQueryRequest struct{}

// MiniBaseInfoQueryResponse is the merchant mini-program's basic info.
// Every field is optional on the wire; a missing one is the zero value.
type MiniBaseInfoQueryResponse struct {
	ResponseMeta
	// AppName is the mini-program name (小程序应用名称).
	AppName string `json:"app_name"`
	// AppEnglishName is the English name (小程序应用英文名称).
	AppEnglishName string `json:"app_english_name"`
	// AppSlogan is the one-line introduction (小程序应用简介).
	AppSlogan string `json:"app_slogan"`
	// AppLogo is the URL of the logo image (小程序应用logo图标).
	AppLogo string `json:"app_logo"`
	// AppDesc is the description (小程序应用描述).
	AppDesc string `json:"app_desc"`
	// CategoryNames are the category names (类目名称) as the gateway sends
	// them: "一级_二级;一级_二级;" with a trailing ';'. The response has no
	// category ids; see [MiniBaseInfoQueryResponse.Categories].
	CategoryNames string `json:"category_names"`
	// PackageNames are the feature packages (功能包名称) the app has.
	PackageNames []string `json:"package_names"`
	// SafeDomains is the domain whitelist (域白名单).
	SafeDomains []string `json:"safe_domains"`
	// ServiceEmail is the customer-service email (小程序客服邮箱).
	ServiceEmail string `json:"service_email"`
	// ServicePhone is the customer-service phone (小程序客服电话).
	ServicePhone string `json:"service_phone"`
	// RegistrationLimitRelease reports restricted release (受限发布: listed
	// before ICP filing finished). Newer field: nil when absent. The gateway
	// may send a boolean or the strings "true"/"false": Alipay's models
	// declare a boolean, and both decode (docs/wire.md row U20).
	RegistrationLimitRelease *FlexBool `json:"registration_limit_release"`
}

// Categories splits CategoryNames into its categories, each a list of
// levels: "航空票务_航空公司;生活服务_室内清洁服务;" → [[航空票务 航空公司]
// [生活服务 室内清洁服务]].
func (r *MiniBaseInfoQueryResponse) Categories() [][]string {
	return splitCategories(r.CategoryNames)
}

// HasCategory reports whether the mini-program has a category whose
// levels are exactly levels, e.g. HasCategory("生活服务", "室内清洁服务").
func (r *MiniBaseInfoQueryResponse) HasCategory(levels ...string) bool {
	for _, cat := range r.Categories() {
		if equalStrings(cat, levels) {
			return true
		}
	}
	return false
}

// MiniBaseInfoQuery reads the merchant mini-program's basic info, including
// its categories: step 1 of the flow, to check the category before applying
// for user information.
//
// Alipay API: alipay.open.mini.baseinfo.query (查询小程序基础信息).
func (c *Client) MiniBaseInfoQuery(ctx context.Context, req *MiniBaseInfoQueryRequest) (*MiniBaseInfoQueryResponse, error) {
	_ = req
	return callTyped[MiniBaseInfoQueryResponse](ctx, c, methodMiniBaseInfoQuery, nil, nil)
}

// MiniBaseInfoModifyRequest changes the merchant mini-program's basic info.
// Every field is optional, but at least one must be set: an empty field is
// neither sent nor signed and keeps the current value ("C" fields are
// required only when never set before). Alipay does not say how it counts
// characters, so lengths are checked leniently: a value is refused only
// when its UTF-8 byte length is below the minimum or its rune count above
// the maximum (docs/wire.md row U17); character sets and everything
// else are left to the gateway.
type MiniBaseInfoModifyRequest struct {
	// MiniCategoryIDs are the new front-end categories (新小程序前台类目),
	// levels joined by '_', categories by ';', e.g.
	// "XS1001_XS2001_XS3002;XS1011_XS2089"; 1–4 categories. When present the
	// gateway ignores AppCategoryIDs.
	MiniCategoryIDs string
	// AppCategoryIDs are the old categories (小程序类目), "11_12;12_13".
	AppCategoryIDs string
	// AppName is the name (小程序名称), 3–30 characters.
	AppName string
	// AppEnglishName is the English name (小程序应用英文名称), 3–30 characters.
	AppEnglishName string
	// AppSlogan is the one-line introduction (小程序简介), 10–32 characters.
	AppSlogan string
	// AppDesc is the description (小程序描述), 20–400 characters.
	AppDesc string
	// ServicePhone is the customer-service phone (小程序客服电话), 5–30
	// characters, digits and '-'. Phone or email must exist.
	ServicePhone string
	// ServiceEmail is the customer-service email (小程序客服邮箱).
	ServiceEmail string
	// AppLogo is the logo (小程序logo图标): jpeg or png, square, ≤ 2 MiB,
	// 180×180 px recommended; nil keeps the current logo. With a logo the
	// call is a streamed multipart upload, without one an ordinary form post
	// (as the Java SDK does).
	AppLogo *File
}

// MiniBaseInfoModifyResponse is the answer to a change of basic info.
type MiniBaseInfoModifyResponse struct {
	ResponseMeta
	// ModifyStatus is the result of the change (小程序基础信息修改结果)
	// exactly as received: a JSON string's value, or a number's digits
	// (Alipay does not document the type or the values; an example shows
	// "1"). Empty when absent. Read it through
	// [MiniBaseInfoModifyResponse.PendingAudit].
	ModifyStatus string `json:"-"`
}

// UnmarshalJSON decodes the response, keeping modify_status raw whether it
// is a string or a number.
func (r *MiniBaseInfoModifyResponse) UnmarshalJSON(data []byte) error {
	var raw struct {
		ModifyStatus json.RawMessage `json:"modify_status"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	r.ModifyStatus = ""
	switch v := raw.ModifyStatus; {
	case len(v) == 0 || string(v) == "null":
	case v[0] == '"':
		return json.Unmarshal(v, &r.ModifyStatus)
	default:
		r.ModifyStatus = string(v)
	}
	return nil
}

// PendingAudit reports whether the gateway sent a modify_status. For a
// mini-program that has a listed version a change goes to an information
// audit and takes effect only once approved; Alipay does not document the
// values, so any modify_status is reported as "pending audit", never as
// "applied": confirm with [Client.MiniBaseInfoQuery] later. A change that
// applied at once comes without one (Alipay's older response model has no
// such field; alipaytest answers so for a mini-program without a listed
// version).
func (r *MiniBaseInfoModifyResponse) PendingAudit() bool { return r.ModifyStatus != "" }

// Sub_codes of [Client.MiniBaseInfoModify] refusing a change of a
// mini-program that is online. Compare [APIError.SubCode] exactly.
const (
	// SubCodeCannotModifyCategoryWithRelationVersion: the category cannot
	// change while a version uses it; change it with the next version's
	// audit (alipay.open.mini.version.audit.apply, mini_category_ids).
	SubCodeCannotModifyCategoryWithRelationVersion = "CANNOT_MODIFY_CATEGORY_WITH_RELATION_VERSION"
	// SubCodeMiniAppInfoAuditContains: an information audit is under way;
	// wait for it, or change the category with the next version's audit.
	SubCodeMiniAppInfoAuditContains = "MINI_APP_INFO_AUDIT_CONTAINS"
	// SubCodeCannotModifyNameAfterOnline: the name cannot change once the
	// mini-program is online.
	SubCodeCannotModifyNameAfterOnline = "CANNOT_MODIFY_NAME_AFTER_ONLINE"
)

// lengthRule is the documented length range of a text parameter.
type lengthRule struct {
	key      string
	min, max int
}

// MiniBaseInfoModify sets or changes the merchant mini-program's basic info
// and category, with an optional logo. The request is validated before
// anything is sent; every failure is a [*ValidationError] naming the field.
// A cancelled ctx, a timeout or a transport error does not tell whether the
// change was applied: check with [Client.MiniBaseInfoQuery] before sending
// it again. Nothing is ever retried.
//
// On a mini-program with a listed version the change goes to an
// information audit: a success then means "submitted", reported by
// [MiniBaseInfoModifyResponse.PendingAudit], and a refusal carries
// [SubCodeCannotModifyCategoryWithRelationVersion],
// [SubCodeMiniAppInfoAuditContains] or [SubCodeCannotModifyNameAfterOnline].
// Category ids come from [Client.MiniCategoryQuery] ([CategoryTree.Find],
// [MiniCategoryIDs]).
//
// Alipay API: alipay.open.mini.baseinfo.modify (小程序修改基础信息).
func (c *Client) MiniBaseInfoModify(ctx context.Context, req *MiniBaseInfoModifyRequest) (*MiniBaseInfoModifyResponse, error) {
	if req == nil {
		req = &MiniBaseInfoModifyRequest{}
	}
	text := []param{
		{"mini_category_ids", req.MiniCategoryIDs}, {"app_category_ids", req.AppCategoryIDs},
		{"app_name", req.AppName}, {"app_english_name", req.AppEnglishName},
		{"app_slogan", req.AppSlogan}, {"app_desc", req.AppDesc},
		{"service_phone", req.ServicePhone}, {"service_email", req.ServiceEmail},
	}
	rules := [...]lengthRule{{"app_name", 3, 30}, {"app_english_name", 3, 30}, {"app_slogan", 10, 32},
		{"app_desc", 20, 400}, {"service_phone", 5, 30}}
	changed := false
	for _, p := range text {
		if p.value == "" {
			continue
		}
		changed = true
		for _, r := range rules {
			if r.key != p.key {
				continue
			}
			if len(p.value) < r.min {
				return nil, &ValidationError{Method: methodMiniBaseInfoModify, Field: p.key,
					Problem: fmt.Sprintf("shorter than %d characters", r.min)}
			}
			if n := utf8.RuneCountInString(p.value); n > r.max {
				return nil, &ValidationError{Method: methodMiniBaseInfoModify, Field: p.key,
					Problem: fmt.Sprintf("longer than %d characters (%d)", r.max, n)}
			}
		}
	}
	if !changed && req.AppLogo == nil {
		return nil, &ValidationError{Method: methodMiniBaseInfoModify,
			Problem: "nothing to change: set at least one field or the logo"}
	}
	if req.AppLogo == nil {
		return callTyped[MiniBaseInfoModifyResponse](ctx, c, methodMiniBaseInfoModify, nil, text)
	}
	logo := uploadFile{field: "app_logo", file: *req.AppLogo, limit: MaxAppLogoSize}
	res, err := c.upload(ctx, methodMiniBaseInfoModify, text, []uploadFile{logo})
	if err != nil {
		return nil, err
	}
	return decodeVerified[MiniBaseInfoModifyResponse](methodMiniBaseInfoModify, res)
}

// splitCategories parses "a_b;c_d;" into [[a b] [c d]], skipping empty
// entries.
func splitCategories(s string) [][]string {
	var out [][]string
	for _, cat := range strings.Split(s, ";") {
		if cat = strings.TrimSpace(cat); cat != "" {
			out = append(out, strings.Split(cat, "_"))
		}
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
