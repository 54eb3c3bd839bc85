package alipaytest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testTemplateID = "2021000000000099"

func templateServer(t *testing.T, n int) *Server {
	tpl := Template{ID: testTemplateID}
	for i := 0; i < n; i++ {
		tpl.Usages = append(tpl.Usages, TemplateUsage{
			MiniAppID: fmt.Sprintf("20210040000%05d", i), AppVersion: "0.0.3", TemplateVersion: []string{"0.0.1", "0.0.2"}[i%2],
		})
	}
	tpl.Usages = append(tpl.Usages, TemplateUsage{MiniAppID: "2021004000099999", BundleID: "com.alipay.iot.xpaas"})
	return newTestServer(t, WithTemplate(tpl))
}

type usagePage struct {
	AppIDs []string `json:"app_ids"`
	Infos  []struct {
		MiniAppID  string `json:"mini_app_id"`
		AppVersion string `json:"app_version"`
	} `json:"template_usage_info_list"`
}

func usageQuery(t *testing.T, s *Server, biz string) (*reply, usagePage) {
	t.Helper()
	r := newCall(t, s, methodTemplateUsage).del("app_auth_token").set("biz_content", biz).do(t)
	var p usagePage
	if r.code == "10000" {
		require.NoError(t, json.Unmarshal(r.nodeRaw, &p))
	}
	return r, p
}

// Paging to the end finds every instance once: no total count, a short
// page ends it.
func TestTemplateUsagePages(t *testing.T) {
	t.Parallel()
	s := templateServer(t, 120)
	var all []string
	for page := 1; ; page++ {
		r, p := usageQuery(t, s, fmt.Sprintf(`{"template_id":%q,"page_num":%d,"page_size":50}`, testTemplateID, page))
		requireCode(t, r, "10000", "")
		assert.NotContains(t, r.raw, "total")
		require.Len(t, p.Infos, len(p.AppIDs))
		all = append(all, p.AppIDs...)
		if len(p.AppIDs) < 50 {
			assert.Equal(t, 3, page)
			break
		}
	}
	assert.Len(t, all, 120)
	assert.Equal(t, "2021004000000000", all[0])
	assert.Equal(t, "2021004000000119", all[119])

	r, p := usageQuery(t, s, `{"template_id":"`+testTemplateID+`","page_num":"4","page_size":"50"}`) // numeric strings too
	requireCode(t, r, "10000", "")
	assert.Empty(t, p.AppIDs)
	assert.NotContains(t, r.raw, "app_ids", "an empty page has no list")
	_, p = usageQuery(t, s, `{"template_id":"`+testTemplateID+`"}`)
	assert.Len(t, p.AppIDs, 10, "page_size defaults to 10")
	_, p = usageQuery(t, s, `{"template_id":"`+testTemplateID+`","template_version":"0.0.2","page_size":50}`)
	assert.Len(t, p.AppIDs, 50)
	assert.Equal(t, "2021004000000001", p.AppIDs[0])
	_, p = usageQuery(t, s, `{"template_id":"`+testTemplateID+`","bundle_id":"com.alipay.iot.xpaas"}`)
	assert.Equal(t, []string{"2021004000099999"}, p.AppIDs)
	_, p = usageQuery(t, s, `{"template_id":"`+testTemplateID+`","page_num":9223372036854775807,"page_size":50}`)
	assert.Empty(t, p.AppIDs, "a huge page_num is past the end")
}

func TestTemplateUsageRefusals(t *testing.T) {
	t.Parallel()
	s := templateServer(t, 3)
	for biz, sub := range map[string]string{
		`{}`: "TEMPLATE_ID_IS_BLANK",
		`{"template_id":"` + testTemplateID + `","page_size":51}`: "INVALID_PARAMETER",
		`{"template_id":"` + testTemplateID + `","page_size":0}`:  "INVALID_PARAMETER",
		`{"template_id":"` + testTemplateID + `","page_num":-1}`:  "INVALID_PARAMETER",
		`{"template_id":"` + testTemplateID + `","page_num":"x"}`: "INVALID_PARAMETER",
		`{"template_id":"2021000000000098"}`:                      "INVALID_PARAMETER",
		``:                                                        "INVALID_PARAMETER",
	} {
		r, _ := usageQuery(t, s, biz)
		requireCode(t, r, "40004", sub)
	}
	// With a merchant token (allowed), which must then be valid.
	r := newCall(t, s, methodTemplateUsage).set("biz_content", `{"template_id":"`+testTemplateID+`"}`).do(t)
	requireCode(t, r, "10000", "")
	r = newCall(t, s, methodTemplateUsage).set("app_auth_token", "bad").set("biz_content", `{"template_id":"x"}`).do(t)
	requireCode(t, r, "20001", "aop.invalid-app-auth-token")

	_, err := NewServer(WithTemplate(Template{ID: "t", Usages: []TemplateUsage{{}}}))
	assert.Error(t, err)
	_, err = NewServer(WithTemplate(Template{}))
	assert.Error(t, err)
}
