package alipay

import (
	"context"
	"strings"
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
	// may send a boolean or the strings "true"/"false" [U]; both decode.
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
