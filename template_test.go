package alipay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testTemplateID = "2021000000000099"

// templatePages answers page n (from 1) with pages[n-1] (an app_ids page
// when the ids have no '@version', else a template_usage_info_list page),
// and an empty page beyond them.
func templatePages(t *testing.T, pages ...[]string) gatewayAnswer {
	return func(r *gatewayRequest) (string, bool) {
		var req MiniTemplateUsageQueryRequest
		if err := json.Unmarshal([]byte(r.Biz), &req); err != nil || req.PageNum < 1 {
			t.Errorf("biz_content %q", r.Biz)
			return `{"code":"40002","msg":"Invalid Arguments"}`, false
		}
		var ids []string
		if req.PageNum <= len(pages) {
			ids = pages[req.PageNum-1]
		}
		if len(ids) > 0 && strings.Contains(ids[0], "@") {
			infos := make([]string, len(ids))
			for i, id := range ids {
				app, ver, _ := strings.Cut(id, "@")
				infos[i] = `{"mini_app_id":"` + app + `","app_version":"` + ver + `"}`
			}
			return `{"code":"10000","msg":"Success","app_ids":["ignored"],"template_usage_info_list":[` + strings.Join(infos, ",") + `]}`, false
		}
		js, _ := json.Marshal(ids)
		return `{"code":"10000","msg":"Success","app_ids":` + string(js) + `}`, false
	}
}

// appIDs returns n app ids from start.
func appIDs(start, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("20210040%08d", start+i)
	}
	return ids
}

// collect runs the iterator to its end.
func collect(seq func(func(TemplateUsageInfo, error) bool)) ([]TemplateUsageInfo, error) {
	var out []TemplateUsageInfo
	for u, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, u)
	}
	return out, nil
}

// TestMiniTemplateUsageQueryWire: self-invoked (no token), plain
// biz_content with the paging fields, and the page's usages from the list
// when present, else from app_ids, deduplicated.
func TestMiniTemplateUsageQueryWire(t *testing.T) {
	t.Parallel()
	g := newLoopbackGateway(t, templatePages(t, []string{"A@0.0.3", "B@0.0.2", "A@0.0.3"}, []string{"C", "C", "", "D"}))
	c := g.client(t)
	ctx := context.Background()
	res, err := c.MiniTemplateUsageQuery(ctx, &MiniTemplateUsageQueryRequest{TemplateID: testTemplateID, TemplateVersion: "0.0.1",
		BundleID: "com.alipay.alipaywallet", PageNum: 1, PageSize: 50})
	require.NoError(t, err)
	assert.Equal(t, []TemplateUsageInfo{{"A", "0.0.3"}, {"B", "0.0.2"}}, res.Usages())
	res, err = c.MiniTemplateUsageQuery(ctx, &MiniTemplateUsageQueryRequest{TemplateID: testTemplateID, PageNum: 2})
	require.NoError(t, err)
	assert.Equal(t, []TemplateUsageInfo{{MiniAppID: "C"}, {MiniAppID: "D"}}, res.Usages())
	reqs := g.requests(t)
	require.Len(t, reqs, 2)
	assert.Equal(t, `{"template_id":"2021000000000099","template_version":"0.0.1","bundle_id":"com.alipay.alipaywallet","page_num":1,"page_size":50}`, reqs[0].Biz)
	assert.Equal(t, `{"template_id":"2021000000000099","page_num":2}`, reqs[1].Biz)
	for _, r := range reqs {
		assert.Equal(t, methodMiniTemplateUsageQuery, r.Method)
		assert.False(t, r.Form.Has("app_auth_token"))
		assert.False(t, r.Encrypted)
	}
	for name, req := range map[string]*MiniTemplateUsageQueryRequest{
		"nil": nil, "no template": {PageSize: 10}, "page size 51": {TemplateID: testTemplateID, PageSize: 51},
		"negative size": {TemplateID: testTemplateID, PageSize: -1}, "negative page": {TemplateID: testTemplateID, PageNum: -1},
	} {
		_, err := c.MiniTemplateUsageQuery(ctx, req)
		assert.ErrorIs(t, err, ErrInvalidRequest, name)
	}
	assert.Len(t, g.requests(t), 2)
}

// TestListMiniTemplateUsages: every page until a short one, page size 50
// by default, each app id once across pages.
func TestListMiniTemplateUsages(t *testing.T) {
	t.Parallel()
	p2 := append(appIDs(50, 49), appIDs(0, 1)...) // repeats one id of page 1
	g := newLoopbackGateway(t, templatePages(t, appIDs(0, 50), p2, appIDs(100, 12)))
	c := g.client(t)
	seq := c.ListMiniTemplateUsages(context.Background(), &MiniTemplateUsageQueryRequest{TemplateID: testTemplateID})
	assert.Empty(t, g.requests(t), "nothing is sent before the loop")
	got, err := collect(seq)
	require.NoError(t, err)
	require.Len(t, got, 111)
	assert.Equal(t, appIDs(0, 1)[0], got[0].MiniAppID)
	assert.Equal(t, appIDs(100, 12)[11], got[110].MiniAppID)
	reqs := g.requests(t)
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		assert.Contains(t, r.Biz, fmt.Sprintf(`"page_num":%d,"page_size":50`, i+1))
	}

	// A page size that divides the list: the empty page ends it.
	g = newLoopbackGateway(t, templatePages(t, []string{"A@1", "B@1"}, []string{"C@2", "D@2"}))
	got, err = collect(g.client(t).ListMiniTemplateUsages(context.Background(),
		&MiniTemplateUsageQueryRequest{TemplateID: testTemplateID, PageSize: 2, PageNum: 1}))
	require.NoError(t, err)
	assert.Equal(t, []TemplateUsageInfo{{"A", "1"}, {"B", "1"}, {"C", "2"}, {"D", "2"}}, got)
	assert.Len(t, g.requests(t), 3)
}

// TestListMiniTemplateUsagesStops: a break stops paging, a done ctx and a
// gateway error are yielded once, a request error before any call, and a
// gateway that ignores page_num is caught.
func TestListMiniTemplateUsagesStops(t *testing.T) {
	t.Parallel()
	req := &MiniTemplateUsageQueryRequest{TemplateID: testTemplateID}
	g := newLoopbackGateway(t, templatePages(t, appIDs(0, 50), appIDs(50, 50)))
	for range g.client(t).ListMiniTemplateUsages(context.Background(), req) {
		break
	}
	assert.Len(t, g.requests(t), 1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g = newLoopbackGateway(t, templatePages(t, appIDs(0, 50), appIDs(50, 50)))
	n := 0
	var last error
	for _, err := range g.client(t).ListMiniTemplateUsages(ctx, req) {
		n++
		if n == 50 {
			cancel()
		}
		last = err
	}
	assert.ErrorIs(t, last, context.Canceled)
	assert.Equal(t, 51, n)
	assert.Len(t, g.requests(t), 1)

	g = newLoopbackGateway(t, func(*gatewayRequest) (string, bool) {
		return `{"code":"40004","msg":"Business Failed","sub_code":"TEMPLATE_ID_IS_BLANK","sub_msg":"模板id为空"}`, false
	})
	got, err := collect(g.client(t).ListMiniTemplateUsages(context.Background(), req))
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "TEMPLATE_ID_IS_BLANK", ae.SubCode)
	assert.Empty(t, got)

	_, err = collect(g.client(t).ListMiniTemplateUsages(context.Background(), &MiniTemplateUsageQueryRequest{PageSize: 60}))
	assert.ErrorIs(t, err, ErrInvalidRequest)
	_, err = collect(g.client(t).ListMiniTemplateUsages(context.Background(), nil))
	assert.ErrorIs(t, err, ErrInvalidRequest)
	assert.Len(t, g.requests(t), 1)

	same := templatePages(t, appIDs(0, 50))
	g = newLoopbackGateway(t, func(r *gatewayRequest) (string, bool) {
		r.Biz = strings.Replace(r.Biz, `"page_num":2`, `"page_num":1`, 1) // ignores page_num
		return same(r)
	})
	got, err = collect(g.client(t).ListMiniTemplateUsages(context.Background(), req))
	var re *ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, ReasonRepeatedPage, re.Reason)
	assert.Len(t, got, 50)
	assert.Len(t, g.requests(t), 2)
}
