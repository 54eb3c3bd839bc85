package alipaytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// methodTemplateUsage lists the mini-programs built from a template. It is
// self-invoked by default; a call with an app_auth_token is accepted too
// (the token must be valid), as Alipay's samples leave the mode open.
const methodTemplateUsage = "alipay.open.mini.template.usage.query"

// Template paging.
const (
	defaultTemplatePageSize = 10
	// MaxTemplatePageSize is the largest page_size template.usage.query
	// accepts.
	MaxTemplatePageSize = 50
	// defaultBundleID is the Alipay client's bundle_id.
	defaultBundleID = "com.alipay.alipaywallet"
)

// Template is a mini-program template of an ISV app, with the merchant
// mini-programs built from it.
type Template struct {
	ID       string // the template's app id (template_id). Required.
	ISVAppID string // the app owning the template; "" means [DefaultAppID]
	Usages   []TemplateUsage
}

// TemplateUsage is one mini-program built from a template.
type TemplateUsage struct {
	MiniAppID       string // the merchant mini-program's app id. Required.
	AppVersion      string // the merchant app's version, e.g. "0.0.3"
	TemplateVersion string // the template version it is built on, e.g. "0.0.1"
	// BundleID is the client it runs in; "" means the Alipay client
	// ("com.alipay.alipaywallet").
	BundleID string
}

// WithTemplate adds (or replaces, by ID) a template that
// template.usage.query reports on.
func WithTemplate(t Template) Option {
	return func(c *config) error {
		if t.ID == "" {
			return errors.New("WithTemplate: empty template ID")
		}
		if t.ISVAppID == "" {
			t.ISVAppID = DefaultAppID
		}
		t.Usages = append([]TemplateUsage(nil), t.Usages...)
		for i, u := range t.Usages {
			if u.MiniAppID == "" {
				return fmt.Errorf("WithTemplate(%s): usage %d has no MiniAppID", t.ID, i)
			}
			if u.BundleID == "" {
				t.Usages[i].BundleID = defaultBundleID
			}
		}
		if c.templates == nil {
			c.templates = map[string]Template{}
		}
		c.templates[t.ID] = t
		return nil
	}
}

// pageNumber reads an optional positive integer sent as a JSON number or a
// numeric string; def when absent.
func pageNumber(raw json.RawMessage, def int) (int, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, true
	}
	var text string
	if json.Unmarshal(raw, &text) != nil {
		text = string(raw)
	}
	n, err := strconv.Atoi(text)
	return n, err == nil && n >= 1
}

// usageDTO is one entry of template_usage_info_list.
type usageDTO struct {
	MiniAppID  string `json:"mini_app_id"`
	AppVersion string `json:"app_version,omitempty"`
}

// templateUsage answers one page. There is no total count: a client pages
// until a page is short. An empty page has neither list. The caller holds
// s.mu.
func (s *Server) templateUsage(in *incoming, caller string) *answer {
	var q struct {
		TemplateID      string          `json:"template_id"`
		TemplateVersion string          `json:"template_version"`
		BundleID        string          `json:"bundle_id"`
		PageNum         json.RawMessage `json:"page_num"`
		PageSize        json.RawMessage `json:"page_size"`
	}
	if a := bizJSON(in, &q, "INVALID_PARAMETER"); a != nil {
		return a
	}
	if q.TemplateID == "" {
		return failure(codeBusinessError, "TEMPLATE_ID_IS_BLANK", "模板id为空")
	}
	num, okNum := pageNumber(q.PageNum, 1)
	size, okSize := pageNumber(q.PageSize, defaultTemplatePageSize)
	if !okNum || !okSize || size > MaxTemplatePageSize {
		return failure(codeBusinessError, "INVALID_PARAMETER", "page_num 需 ≥ 1, page_size 需为 1-50")
	}
	t, ok := s.cfg.templates[q.TemplateID]
	if !ok || t.ISVAppID != caller {
		return failure(codeBusinessError, "INVALID_PARAMETER", "模板不存在或不属于调用方应用: "+q.TemplateID)
	}
	bundle := q.BundleID
	if bundle == "" {
		bundle = defaultBundleID
	}
	var match []TemplateUsage
	for _, u := range t.Usages {
		if u.BundleID == bundle && (q.TemplateVersion == "" || u.TemplateVersion == q.TemplateVersion) {
			match = append(match, u)
		}
	}
	var page []TemplateUsage
	if num-1 < (len(match)+size-1)/size { // compared as page numbers: a huge page_num cannot overflow
		start := (num - 1) * size
		page = match[start:min(start+size, len(match))]
	}
	ids := make([]string, len(page))
	infos := make([]usageDTO, len(page))
	for i, u := range page {
		ids[i], infos[i] = u.MiniAppID, usageDTO{u.MiniAppID, u.AppVersion}
	}
	return success(struct {
		AppIDs []string   `json:"app_ids,omitempty"`
		Infos  []usageDTO `json:"template_usage_info_list,omitempty"`
	}{ids, infos})
}
