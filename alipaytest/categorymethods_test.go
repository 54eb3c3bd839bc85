package alipaytest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type categoryEntry struct {
	CategoryID         string `json:"category_id"`
	CategoryName       string `json:"category_name"`
	ParentCategoryID   string `json:"parent_category_id"`
	HasChild           bool   `json:"has_child"`
	NeedLicense        bool   `json:"need_license"`
	NeedOutDoorPic     bool   `json:"need_out_door_pic"`
	NeedSpecialLicense bool   `json:"need_special_license"`
}

func TestCategoryQueryDefaultTree(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for name, c := range map[string]*call{
		"merchant token": newCall(t, s, methodCategoryQuery).set("biz_content", `{"is_filter":true}`),
		"self-invoked":   newCall(t, s, methodCategoryQuery).del("app_auth_token"),
	} {
		r := c.do(t)
		requireCode(t, r, "10000", "")
		var out struct {
			Legacy []categoryEntry `json:"category_list"`
			Front  []categoryEntry `json:"mini_category_list"`
		}
		require.NoError(t, json.Unmarshal(r.nodeRaw, &out), name)
		require.Len(t, out.Front, 9, name)
		assert.Equal(t, categoryEntry{"XS1011", "交通出行", "0", true, false, false, false}, out.Front[3], name)
		assert.Equal(t, categoryEntry{"XS2089", "物流快递", "XS1011", false, true, false, false}, out.Front[4], name)
		assert.Equal(t, "XS3002", out.Front[2].CategoryID)
		assert.Equal(t, "XS2001", out.Front[2].ParentCategoryID)
		require.Len(t, out.Legacy, 4, name)
		assert.Equal(t, "13", out.Legacy[1].ParentCategoryID)
	}
	r := newCall(t, s, methodCategoryQuery).set("app_auth_token", "202405BBrevoked").do(t)
	requireCode(t, r, "20001", "aop.invalid-app-auth-token")
	requireCode(t, newCall(t, s, methodCategoryQuery).set("biz_content", "{").do(t), "40004", "INVALID_PARAMETER")
}

func TestCategoryTreeOption(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithCategoryTree(
		Category{ID: "XS5000", Name: "教育"},
		Category{ID: "XS5001", Name: "职业培训", ParentID: "XS5000", NeedSpecialLicense: true, Requirements: "办学许可证"},
	))
	r := newCall(t, s, methodCategoryQuery).do(t)
	requireCode(t, r, "10000", "")
	assert.NotContains(t, r.raw, "XS1011", "the tree was replaced")
	assert.NotContains(t, r.raw, `"category_list"`, "no legacy category left")
	requireCode(t, newCall(t, s, methodBaseInfoModify).set("mini_category_ids", "XS5000_XS5001").do(t), "10000", "")
	requireCode(t, newCall(t, s, methodBaseInfoModify).set("mini_category_ids", "XS1011_XS2089").do(t), "40004", "INVALID_CATEGOTY")

	_, err := NewServer(WithCategoryTree(Category{ID: "XS1", Name: "a", ParentID: "XS404"}))
	assert.Error(t, err, "unknown parent")
	_, err = NewServer(WithCategoryTree(Category{ID: "XS1_2", Name: "a"}))
	assert.Error(t, err, "'_' in an id")
}

// A path must follow the tree: a known child under another parent is refused.
func TestBaseInfoModifyCategoryPaths(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for ids, sub := range map[string]string{
		"XS1001_XS2001_XS3002": "",
		"XS1011_XS2001":        "INVALID_CATEGOTY", // 家政服务 is not under 交通出行
		"XS2001_XS3002":        "INVALID_CATEGOTY", // not from a root
		"XS1011_XS2089":        "",
	} {
		r := newCall(t, s, methodBaseInfoModify).set("mini_category_ids", ids).do(t)
		if sub == "" {
			requireCode(t, r, "10000", "")
		} else {
			requireCode(t, r, "40004", sub)
		}
	}
}

func TestCategoryRequireQuery(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	r := newCall(t, s, methodCategoryRequireQuery).
		set("biz_content", `{"category_code_list":["XS1011_XS2089","XS1005_XS2030","XS1001_XS2001_XS3002"]}`).do(t)
	requireCode(t, r, "10000", "")
	var out struct {
		List []struct {
			CategoryCode            string `json:"category_code"`
			CategoryName            string `json:"category_name"`
			CategoryRequirements    string `json:"category_requirements"`
			BusinessLicenceRequired bool   `json:"business_licence_required"`
			DoorPhotoRequired       bool   `json:"door_photo_required"`
			SpecialLicenceRequired  bool   `json:"special_licence_required"`
		} `json:"category_require_info_list"`
	}
	require.NoError(t, json.Unmarshal(r.nodeRaw, &out))
	require.Len(t, out.List, 3)
	assert.Equal(t, "交通出行_物流快递", out.List[0].CategoryName)
	assert.True(t, out.List[0].BusinessLicenceRequired)
	assert.False(t, out.List[0].DoorPhotoRequired)
	assert.True(t, out.List[1].DoorPhotoRequired)
	assert.Equal(t, "生活服务_家政服务_室内清洁服务", out.List[2].CategoryName)
	assert.NotEmpty(t, out.List[1].CategoryRequirements)

	six := `{"category_code_list":["XS1011_XS2089","XS1011_XS2089","XS1011_XS2089","XS1011_XS2089","XS1011_XS2089","XS1011_XS2089"]}`
	for _, biz := range []string{six, `{"category_code_list":[]}`, `{"category_code_list":["XS1011_XS2001"]}`, ""} {
		requireCode(t, newCall(t, s, methodCategoryRequireQuery).set("biz_content", biz).do(t), "40004", "INVALID_PARAMETER")
	}
}
