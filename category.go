package alipay

import (
	"context"
	"fmt"
	"strings"
)

// Alipay method names of the category calls.
const (
	methodMiniCategoryQuery        = "alipay.open.mini.category.query"
	methodMiniCategoryRequireQuery = "alipay.open.mini.category.require.query"
)

// maxCategoryCodes is the most category paths one require.query takes.
const maxCategoryCodes = 5

// MiniCategoryQueryRequest is the request of [Client.MiniCategoryQuery]. A
// nil request is the zero request (the full tree).
type MiniCategoryQueryRequest struct {
	// IsFilter drops the categories the app may not use (true) or lists
	// the full tree (false). It is always sent.
	IsFilter bool `json:"is_filter"`
}

// MiniAppCategory is one category of the flat list the gateway returns
// (Java MiniAppCategory). Build the tree with [NewCategoryTree].
type MiniAppCategory struct {
	// CategoryID is the id (类目ID), e.g. "XS1013".
	CategoryID string `json:"category_id"`
	// CategoryName is the name (类目名称), e.g. "文娱".
	CategoryName string `json:"category_name"`
	// ParentCategoryID is the parent's id; "" or "0" for a top-level
	// category (Alipay does not document which one roots use).
	ParentCategoryID string `json:"parent_category_id"`
	// HasChild reports sub-categories (是否有子类目).
	HasChild FlexBool `json:"has_child"`
	// NeedLicense reports that a business licence (营业执照) is required.
	NeedLicense FlexBool `json:"need_license"`
	// NeedOutDoorPic reports that a shop-front photo (门头照) is required.
	NeedOutDoorPic FlexBool `json:"need_out_door_pic"`
	// NeedSpecialLicense reports that a special licence (特许经营许可) is
	// required.
	NeedSpecialLicense FlexBool `json:"need_special_license"`
}

// MiniCategoryQueryResponse holds the category lists, each flat.
type MiniCategoryQueryResponse struct {
	ResponseMeta
	// CategoryList are the old categories (小程序类目), whose ids went to
	// app_category_ids; legacy.
	CategoryList []MiniAppCategory `json:"category_list"`
	// MiniCategoryList are the new front-end categories (新小程序前台类目,
	// ids "XS…", three levels), whose paths go to
	// MiniBaseInfoModifyRequest.MiniCategoryIDs.
	MiniCategoryList []MiniAppCategory `json:"mini_category_list"`
}

// Tree returns the tree of MiniCategoryList, the categories
// [Client.MiniBaseInfoModify] takes.
func (r *MiniCategoryQueryResponse) Tree() *CategoryTree { return NewCategoryTree(r.MiniCategoryList) }

// MiniCategoryQuery lists the mini-program categories, as flat lists;
// [MiniCategoryQueryResponse.Tree] builds the tree and
// [CategoryTree.Find] finds a category by its names, to set it with
// [Client.MiniBaseInfoModify] (step 1 of applying for a field: a field is
// refused outright when the category does not allow it). Call it with the
// merchant's client: IsFilter filters by what that app may use.
//
// Alipay API: alipay.open.mini.category.query (小程序类目树查询).
func (c *Client) MiniCategoryQuery(ctx context.Context, req *MiniCategoryQueryRequest) (*MiniCategoryQueryResponse, error) {
	if req == nil {
		req = &MiniCategoryQueryRequest{}
	}
	biz, err := marshalJSON(req)
	if err != nil {
		return nil, &ValidationError{Method: methodMiniCategoryQuery, Field: "biz_content", Problem: err.Error()}
	}
	return callTyped[MiniCategoryQueryResponse](ctx, c, methodMiniCategoryQuery, biz, nil)
}

// MiniCategoryRequireQueryRequest names the categories whose requirements
// to read.
type MiniCategoryRequireQueryRequest struct {
	// CategoryCodeList are full category paths, the level ids of one
	// category joined by '_' ([CategoryPath.IDs], e.g. "XS1013_XS2071"): 1
	// to 5 per call. Required.
	CategoryCodeList []string `json:"category_code_list"`
}

// CategoryRequireInfo is what one category requires (Java
// CategoryRequireInfo).
type CategoryRequireInfo struct {
	// CategoryCode is the path, level ids joined by '_'.
	CategoryCode string `json:"category_code"`
	// CategoryName is the path's names joined by '_'.
	CategoryName string `json:"category_name"`
	// CategoryRequirements is the original requirement text (类目要求原始描述信息).
	CategoryRequirements string `json:"category_requirements"`
	// BusinessLicenceRequired reports that a business licence is required.
	BusinessLicenceRequired FlexBool `json:"business_licence_required"`
	// DoorPhotoRequired reports that a shop-front photo is required.
	DoorPhotoRequired FlexBool `json:"door_photo_required"`
	// SpecialLicenceRequired reports that a special licence is required.
	SpecialLicenceRequired FlexBool `json:"special_licence_required"`
}

// MiniCategoryRequireQueryResponse lists the requirements per category.
type MiniCategoryRequireQueryResponse struct {
	ResponseMeta
	// CategoryRequireInfoList has one entry per category asked for.
	CategoryRequireInfoList []CategoryRequireInfo `json:"category_require_info_list"`
}

// MiniCategoryRequireQuery reads what the given categories require
// (licence, shop-front photo, special licence). Alipay takes at most 5
// categories per call; more are refused before sending rather than split,
// so that one method is one gateway call (split the list and call again).
// Empty entries and entries holding ';' (several categories) are refused
// too. Alipay does not say whether the merchant's token is needed; call it
// with the merchant's client.
//
// Alipay API: alipay.open.mini.category.require.query (查询类目所需资质信息).
func (c *Client) MiniCategoryRequireQuery(ctx context.Context, req *MiniCategoryRequireQueryRequest) (*MiniCategoryRequireQueryResponse, error) {
	if req == nil {
		req = &MiniCategoryRequireQueryRequest{}
	}
	codes := req.CategoryCodeList
	if len(codes) == 0 || len(codes) > maxCategoryCodes {
		return nil, &ValidationError{Method: methodMiniCategoryRequireQuery, Field: "category_code_list",
			Problem: fmt.Sprintf("1 to %d categories per call, got %d", maxCategoryCodes, len(codes))}
	}
	for i, code := range codes {
		if strings.TrimSpace(code) == "" || strings.ContainsAny(code, "; \t\r\n") {
			return nil, &ValidationError{Method: methodMiniCategoryRequireQuery, Field: fmt.Sprintf("category_code_list[%d]", i),
				Problem: "one category path, level ids joined by '_' (no ';' or spaces)"}
		}
	}
	biz, err := marshalJSON(req)
	if err != nil {
		return nil, &ValidationError{Method: methodMiniCategoryRequireQuery, Field: "biz_content", Problem: err.Error()}
	}
	return callTyped[MiniCategoryRequireQueryResponse](ctx, c, methodMiniCategoryRequireQuery, biz, nil)
}
