package alipay

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// categoryNode is a category.query answer with both lists, booleans in
// every form the gateway (or a PHP dump of it) may use.
const categoryNode = `{"code":"10000","msg":"Success",
 "category_list":[{"category_id":"11","category_name":"旧类目","parent_category_id":"","has_child":false}],
 "mini_category_list":[
  {"category_id":"XS1013","category_name":"文娱","parent_category_id":"0","has_child":true,"need_license":false,"need_out_door_pic":false,"need_special_license":false},
  {"category_id":"XS2071","category_name":"示例二级类目","parent_category_id":"XS1013","has_child":1,"need_license":"true","need_out_door_pic":0,"need_special_license":"0"},
  {"category_id":"XS3001","category_name":"三级","parent_category_id":"XS2071","has_child":"false","need_license":"1","need_out_door_pic":null,"need_special_license":""},
  {"category_id":"XS1011","category_name":"交通出行","parent_category_id":"","has_child":true}]}`

// TestMiniCategoryQueryWire: the merchant's token and is_filter are sent
// in plain biz_content; both lists decode with every boolean form.
func TestMiniCategoryQueryWire(t *testing.T) {
	t.Parallel()
	g := newLoopbackGateway(t, func(*gatewayRequest) (string, bool) { return categoryNode, false })
	m := g.client(t).WithAppAuthToken(testToken)
	ctx := context.Background()
	res, err := m.MiniCategoryQuery(ctx, &MiniCategoryQueryRequest{IsFilter: true})
	require.NoError(t, err)
	_, err = m.MiniCategoryQuery(ctx, nil)
	require.NoError(t, err)
	reqs := g.requests(t)
	require.Len(t, reqs, 2)
	for i, want := range []string{`{"is_filter":true}`, `{"is_filter":false}`} {
		assert.Equal(t, methodMiniCategoryQuery, reqs[i].Method)
		assert.Equal(t, testToken, reqs[i].Form.Get("app_auth_token"))
		assert.False(t, reqs[i].Encrypted)
		assert.Equal(t, want, reqs[i].Biz)
	}
	require.Len(t, res.CategoryList, 1)
	require.Len(t, res.MiniCategoryList, 4)
	l := res.MiniCategoryList
	assert.Equal(t, MiniAppCategory{CategoryID: "XS2071", CategoryName: "示例二级类目", ParentCategoryID: "XS1013",
		HasChild: true, NeedLicense: true}, l[1])
	assert.Equal(t, MiniAppCategory{CategoryID: "XS3001", CategoryName: "三级", ParentCategoryID: "XS2071",
		NeedLicense: true}, l[2])
	assert.True(t, bool(l[0].HasChild))

	tree := res.Tree()
	path, err := tree.Find("文娱", "示例二级类目", "三级")
	require.NoError(t, err)
	assert.Equal(t, "XS1013_XS2071_XS3001", path.IDs())
	assert.Equal(t, "文娱_示例二级类目_三级", path.Names())
	assert.Equal(t, path, tree.Node("XS3001").Path())
	transport, err := tree.Find("交通出行")
	require.NoError(t, err)
	assert.Equal(t, "XS1013_XS2071_XS3001;XS1011", MiniCategoryIDs(path, transport))
}

// TestCategoryTree: roots are "" and "0"; duplicates, orphans and cycles
// end in Unplaced and are never looped over; Find refuses unknown,
// ambiguous and unsendable names.
func TestCategoryTree(t *testing.T) {
	t.Parallel()
	cat := func(id, name, parent string) MiniAppCategory {
		return MiniAppCategory{CategoryID: id, CategoryName: name, ParentCategoryID: parent}
	}
	tree := NewCategoryTree([]MiniAppCategory{
		cat("A", "甲", "0"), cat("B", "乙", ""), cat("A1", "子", "A"), cat("A2", "子", "A"),
		cat("A", "重复", "0"), cat("", "无id", "0"), cat("O", "孤儿", "MISSING"),
		cat("C1", "环1", "C2"), cat("C2", "环2", "C1"), cat("S", "自环", "S"), cat("D", "子孙", "C1"),
		cat("X_Y", "坏id", "B"), cat("B1", "乙子", "B"),
	})
	require.Len(t, tree.Roots, 2)
	assert.Equal(t, []string{"A", "B"}, []string{tree.Roots[0].CategoryID, tree.Roots[1].CategoryID})
	var unplaced []string
	for _, c := range tree.Unplaced {
		unplaced = append(unplaced, c.CategoryName)
	}
	assert.ElementsMatch(t, []string{"重复", "无id", "孤儿", "环1", "环2", "自环", "子孙"}, unplaced)
	for _, id := range []string{"O", "C1", "C2", "S", "D"} {
		assert.Nil(t, tree.Node(id), id)
	}
	assert.Nil(t, tree.Roots[0].Parent)
	assert.Equal(t, "A_A1", tree.Node("A1").Path().IDs())

	_, err := tree.Find("甲", "子")
	assert.ErrorContains(t, err, `several categories named "子" under "甲"`)
	_, err = tree.Find("甲", "无")
	assert.ErrorIs(t, err, ErrCategoryNotFound)
	assert.ErrorContains(t, err, `no "无" under "甲"`)
	_, err = tree.Find("丙")
	assert.True(t, errors.Is(err, ErrCategoryNotFound))
	_, err = tree.Find("乙", "坏id")
	assert.ErrorContains(t, err, "cannot be sent")
	_, err = tree.Find()
	assert.Error(t, err)
	p, err := tree.Find("乙", "乙子")
	require.NoError(t, err)
	assert.Equal(t, "B_B1", MiniCategoryIDs(p))
	assert.Empty(t, NewCategoryTree(nil).Roots)
	assert.Equal(t, "", MiniCategoryIDs())
}

// TestMiniCategoryRequireQuery: 1 to 5 paths per call, each one path;
// more are refused before sending, not split.
func TestMiniCategoryRequireQuery(t *testing.T) {
	t.Parallel()
	node := `{"code":"10000","msg":"Success","category_require_info_list":[{"category_code":"XS1013_XS2071",
	 "category_name":"文娱_示例二级类目","category_requirements":"需要营业执照","business_licence_required":true,
	 "door_photo_required":"false","special_licence_required":0}]}`
	g := newLoopbackGateway(t, func(*gatewayRequest) (string, bool) { return node, false })
	m := g.client(t).WithAppAuthToken(testToken)
	ctx := context.Background()
	for name, codes := range map[string][]string{
		"none": nil, "six": strings.Split("a b c d e f", " "), "empty": {"XS1", " "},
		"two in one": {"XS1_XS2;XS3"}, "space": {"XS1 XS2"},
	} {
		_, err := m.MiniCategoryRequireQuery(ctx, &MiniCategoryRequireQueryRequest{CategoryCodeList: codes})
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.True(t, strings.HasPrefix(ve.Field, "category_code_list"), name)
	}
	_, err := m.MiniCategoryRequireQuery(ctx, nil)
	assert.ErrorIs(t, err, ErrInvalidRequest)
	assert.Empty(t, g.requests(t))

	five := []string{"XS1013_XS2071", "XS2", "XS3", "XS4", "XS5"}
	res, err := m.MiniCategoryRequireQuery(ctx, &MiniCategoryRequireQueryRequest{CategoryCodeList: five})
	require.NoError(t, err)
	require.Len(t, res.CategoryRequireInfoList, 1)
	assert.Equal(t, CategoryRequireInfo{CategoryCode: "XS1013_XS2071", CategoryName: "文娱_示例二级类目",
		CategoryRequirements: "需要营业执照", BusinessLicenceRequired: true}, res.CategoryRequireInfoList[0])
	reqs := g.requests(t)
	require.Len(t, reqs, 1)
	assert.Equal(t, methodMiniCategoryRequireQuery, reqs[0].Method)
	assert.Equal(t, testToken, reqs[0].Form.Get("app_auth_token"))
	assert.Equal(t, `{"category_code_list":["XS1013_XS2071","XS2","XS3","XS4","XS5"]}`, reqs[0].Biz)
}

// TestFlexBoolForms: every accepted form, and a refusal.
func TestFlexBoolForms(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"true": true, `"true"`: true, "1": true, `"1"`: true,
		"false": false, `"false"`: false, "0": false, `"0"`: false, "null": false, `""`: false,
	} {
		var b FlexBool
		require.NoError(t, b.UnmarshalJSON([]byte(in)), in)
		assert.Equal(t, want, bool(b), in)
	}
	for _, bad := range []string{"2", `"yes"`, "{}", "TRUE"} {
		var b FlexBool
		assert.Error(t, b.UnmarshalJSON([]byte(bad)), bad)
	}
}
