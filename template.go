package alipay

import (
	"context"
	"fmt"
	"iter"
	"net/http"
)

// methodMiniTemplateUsageQuery is the Alipay method of the template usage
// list.
const methodMiniTemplateUsageQuery = "alipay.open.mini.template.usage.query"

// maxTemplatePageSize is the largest page_size Alipay accepts.
const maxTemplatePageSize = 50

// MiniTemplateUsageQueryRequest selects the mini-programs built from one
// template, one page at a time.
type MiniTemplateUsageQueryRequest struct {
	// TemplateID is the template's app id (小程序模板APPID). Required: the
	// gateway refuses a blank one (TEMPLATE_ID_IS_BLANK).
	TemplateID string `json:"template_id"`
	// TemplateVersion keeps only the instances on this template version,
	// e.g. "0.0.1"; empty for all.
	TemplateVersion string `json:"template_version,omitempty"`
	// BundleID is the client, e.g. "com.alipay.alipaywallet" (Alipay, the
	// gateway's default) or "com.alipay.iot.xpaas" (IoT); empty for the
	// default.
	BundleID string `json:"bundle_id,omitempty"`
	// PageNum is the page, from 1; 0 sends none (the gateway's default, 1).
	PageNum int `json:"page_num,omitempty"`
	// PageSize is the page size, at most 50; 0 sends none (the gateway's
	// default, 10).
	PageSize int `json:"page_size,omitempty"`
}

// TemplateUsageInfo is one mini-program built from the template (Java
// TemplateUsageInfo).
type TemplateUsageInfo struct {
	// MiniAppID is the merchant mini-program's app id.
	MiniAppID string `json:"mini_app_id"`
	// AppVersion is the merchant mini-program's version; empty when the
	// gateway sent only app_ids.
	AppVersion string `json:"app_version"`
}

// MiniTemplateUsageQueryResponse is one page of the list. It has no total:
// a page shorter than the page size is the last one.
type MiniTemplateUsageQueryResponse struct {
	ResponseMeta
	// AppIDs are the merchant mini-programs' app ids (小程序appId列表).
	AppIDs []string `json:"app_ids"`
	// TemplateUsageInfoList are the same with their versions, when sent.
	TemplateUsageInfoList []TemplateUsageInfo `json:"template_usage_info_list"`
}

// Usages returns the page's mini-programs: TemplateUsageInfoList when it
// is not empty, else AppIDs (without versions), each app id once, empty
// ids dropped.
func (r *MiniTemplateUsageQueryResponse) Usages() []TemplateUsageInfo {
	out := make([]TemplateUsageInfo, 0, r.pageLen())
	seen := make(map[string]bool, r.pageLen())
	add := func(u TemplateUsageInfo) {
		if u.MiniAppID != "" && !seen[u.MiniAppID] {
			seen[u.MiniAppID] = true
			out = append(out, u)
		}
	}
	if len(r.TemplateUsageInfoList) > 0 {
		for _, u := range r.TemplateUsageInfoList {
			add(u)
		}
		return out
	}
	for _, id := range r.AppIDs {
		add(TemplateUsageInfo{MiniAppID: id})
	}
	return out
}

// pageLen is the number of entries the page holds, before deduplication:
// what the short-page rule compares with the page size.
func (r *MiniTemplateUsageQueryResponse) pageLen() int {
	if len(r.TemplateUsageInfoList) > 0 {
		return len(r.TemplateUsageInfoList)
	}
	return len(r.AppIDs)
}

// MiniTemplateUsageQuery lists one page of the merchant mini-programs built
// from one of the ISV's templates; [Client.ListMiniTemplateUsages] walks
// every page. The ISV calls it for itself by default (use the client of
// [NewClient]); Alipay does not say whether a merchant's token is ever
// needed. TemplateID is required and PageSize at most 50, checked before
// sending.
//
// Alipay API: alipay.open.mini.template.usage.query (查询使用模板的小程序列表).
func (c *Client) MiniTemplateUsageQuery(ctx context.Context, req *MiniTemplateUsageQueryRequest) (*MiniTemplateUsageQueryResponse, error) {
	if req == nil {
		req = &MiniTemplateUsageQueryRequest{}
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	biz, err := marshalJSON(req)
	if err != nil {
		return nil, &ValidationError{Method: methodMiniTemplateUsageQuery, Field: "biz_content", Problem: err.Error()}
	}
	return callTyped[MiniTemplateUsageQueryResponse](ctx, c, methodMiniTemplateUsageQuery, biz, nil)
}

func (r *MiniTemplateUsageQueryRequest) validate() error {
	if err := requireFields(methodMiniTemplateUsageQuery, "", "template_id", r.TemplateID); err != nil {
		return err
	}
	if r.PageSize < 0 || r.PageSize > maxTemplatePageSize {
		return &ValidationError{Method: methodMiniTemplateUsageQuery, Field: "page_size",
			Problem: fmt.Sprintf("0 (the default) to %d, got %d", maxTemplatePageSize, r.PageSize)}
	}
	if r.PageNum < 0 {
		return &ValidationError{Method: methodMiniTemplateUsageQuery, Field: "page_num",
			Problem: fmt.Sprintf("from 1 (0 for the default), got %d", r.PageNum)}
	}
	return nil
}

// ListMiniTemplateUsages returns an iterator over every mini-program built
// from the template of req, page after page from req.PageNum (default 1)
// with req.PageSize (default 50, the maximum: fewest calls), each app id
// once across pages. It stops after a page shorter than the page size (the
// gateway gives no total), at the first error, which it yields with a zero
// TemplateUsageInfo (ctx's error when ctx is done), or when the loop breaks.
// A full page holding no app id not seen before is an error too (a
// [*ResponseError] with Reason "repeated_page"): the gateway would be
// ignoring page_num, and the walk would never end. Nothing is sent until
// the loop starts.
func (c *Client) ListMiniTemplateUsages(ctx context.Context, req *MiniTemplateUsageQueryRequest) iter.Seq2[TemplateUsageInfo, error] {
	page := MiniTemplateUsageQueryRequest{}
	if req != nil {
		page = *req
	}
	if page.PageSize == 0 {
		page.PageSize = maxTemplatePageSize
	}
	if page.PageNum == 0 {
		page.PageNum = 1
	}
	return func(yield func(TemplateUsageInfo, error) bool) {
		seen := map[string]bool{}
		for p := page; ; p.PageNum++ {
			if err := ctx.Err(); err != nil {
				yield(TemplateUsageInfo{}, fmt.Errorf("alipay: %s: %w", methodMiniTemplateUsageQuery, err))
				return
			}
			res, err := c.MiniTemplateUsageQuery(ctx, &p)
			if err != nil {
				yield(TemplateUsageInfo{}, err)
				return
			}
			fresh := 0
			for _, u := range res.Usages() {
				if seen[u.MiniAppID] {
					continue
				}
				seen[u.MiniAppID] = true
				fresh++
				if !yield(u, nil) {
					return
				}
			}
			if res.pageLen() < p.PageSize {
				return
			}
			if fresh == 0 {
				yield(TemplateUsageInfo{}, &ResponseError{Method: methodMiniTemplateUsageQuery, StatusCode: http.StatusOK,
					Reason: ReasonRepeatedPage, TraceID: res.TraceID})
				return
			}
		}
	}
}
