package alipaytest

import (
	"errors"
	"fmt"
	"strings"
)

// Category methods. Both accept a call with or without an app_auth_token
// (a given token must be valid): Alipay's samples show both, and the tree
// does not depend on the merchant here.
const (
	methodCategoryQuery        = "alipay.open.mini.category.query"
	methodCategoryRequireQuery = "alipay.open.mini.category.require.query"
)

// maxRequireCodes is how many categories category.require.query takes.
const maxRequireCodes = 5

// Category is one category of the server's tree. New front-end categories
// (新小程序前台类目) have ids starting with "XS" and go to
// mini_category_ids; legacy ones (digits) go to app_category_ids.
type Category struct {
	ID       string // e.g. "XS1011"
	Name     string // e.g. "交通出行"
	ParentID string // the parent's ID; "" for a root (answered as "0")
	// What the category requires (its levels' requirements add up).
	NeedLicense        bool // business licence (营业执照)
	NeedOutDoorPic     bool // shop-front photo (门头照)
	NeedSpecialLicense bool // special licence (特许经营许可)
	// Requirements is the text category.require.query reports.
	Requirements string
}

// DefaultCategories returns (a fresh copy of) the tree a server has
// without [WithCategoryTree]: front-end categories two or three levels
// deep, and a few legacy ones.
func DefaultCategories() []Category {
	return []Category{
		{ID: "XS1001", Name: "生活服务"},
		{ID: "XS2001", Name: "家政服务", ParentID: "XS1001"},
		{ID: "XS3002", Name: "室内清洁服务", ParentID: "XS2001", Requirements: "无需特殊资质"},
		{ID: "XS1011", Name: "交通出行"},
		{ID: "XS2089", Name: "物流快递", ParentID: "XS1011", NeedLicense: true,
			Requirements: "需提供营业执照，经营范围需包含快递或物流服务"},
		{ID: "XS1005", Name: "汽车服务"},
		{ID: "XS2030", Name: "汽车维修", ParentID: "XS1005", NeedLicense: true, NeedOutDoorPic: true,
			Requirements: "需提供营业执照及门店门头照"},
		{ID: "XS1020", Name: "航空票务"},
		{ID: "XS2101", Name: "航空公司", ParentID: "XS1020", NeedLicense: true, NeedSpecialLicense: true,
			Requirements: "需提供营业执照及航空运输许可证"},
		// legacy categories (小程序类目)
		{ID: "13", Name: "生活服务"},
		{ID: "14", Name: "室内清洁服务", ParentID: "13"},
		{ID: "11", Name: "航空票务"},
		{ID: "12", Name: "航空公司", ParentID: "11"},
	}
}

// categoryTable is the server's categories, in the order configured.
type categoryTable struct {
	byID  map[string]Category
	order []string
}

func newCategoryTable(cats []Category) (categoryTable, error) {
	t := categoryTable{byID: map[string]Category{}}
	for _, c := range cats {
		if err := t.set(c); err != nil {
			return categoryTable{}, err
		}
	}
	for _, c := range t.byID {
		if c.ParentID != "" && c.ParentID != "0" {
			if _, ok := t.byID[c.ParentID]; !ok {
				return categoryTable{}, fmt.Errorf("category %s: unknown parent %s", c.ID, c.ParentID)
			}
		}
	}
	return t, nil
}

// set adds c, or replaces the category with its ID.
func (t *categoryTable) set(c Category) error {
	if c.ID == "" || c.Name == "" || strings.ContainsAny(c.ID, "_;") {
		return errors.New("a category needs an ID without '_' or ';', and a name")
	}
	if c.ParentID == "0" {
		c.ParentID = ""
	}
	if _, ok := t.byID[c.ID]; !ok {
		t.order = append(t.order, c.ID)
	}
	t.byID[c.ID] = c
	return nil
}

// WithCategoryTree replaces the server's category tree (by default
// [DefaultCategories]): what category.query lists, category.require.query
// describes, and baseinfo.modify accepts. Every ParentID must be in cats.
func WithCategoryTree(cats ...Category) Option {
	return func(c *config) error {
		t, err := newCategoryTable(cats)
		if err != nil {
			return fmt.Errorf("WithCategoryTree: %v", err)
		}
		c.categories = t
		return nil
	}
}

// WithCategory adds a category id and its name to the tree, or renames
// one. A category added this way has no known place in the tree:
// category.query lists it as a root and baseinfo.modify accepts it at any
// level. New front-end category ids start with "XS"; legacy ones are
// digits.
func WithCategory(id, name string) Option {
	return func(c *config) error {
		cat := Category{ID: id, Name: name}
		if old, ok := c.categories.byID[id]; ok {
			old.Name, cat = name, old
		}
		if err := c.categories.set(cat); err != nil {
			return fmt.Errorf("WithCategory: %v", err)
		}
		return nil
	}
}

// name returns a category's name, or the id itself when it is unknown.
func (t categoryTable) name(id string) string {
	if c, ok := t.byID[id]; ok {
		return c.Name
	}
	return id
}

// categoryNames renders ids ("XS1001_XS2001;XS1011_XS2089") as the names
// baseinfo.query reports ("生活服务_家政服务;交通出行_物流快递;").
func (s *Server) categoryNames(ids string) string {
	var b strings.Builder
	for _, cat := range splitCategoryIDs(ids) {
		for i, id := range cat {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteString(s.cfg.categories.name(id))
		}
		b.WriteByte(';')
	}
	return b.String()
}

// splitCategoryIDs parses "a_b;c_d;" into [[a b] [c d]], skipping empty
// categories.
func splitCategoryIDs(s string) [][]string {
	var out [][]string
	for _, cat := range strings.Split(s, ";") {
		if cat = strings.TrimSpace(cat); cat != "" {
			out = append(out, strings.Split(cat, "_"))
		}
	}
	return out
}

// checkPath checks one category path: known ids of the right kind (front
// ends "XS"), each the child of the one before when its parent is known.
// It returns the first bad id, or "".
func (t categoryTable) checkPath(path []string, front bool) string {
	for i, id := range path {
		c, known := t.byID[id]
		if !known || strings.HasPrefix(id, "XS") != front {
			return id
		}
		if i == 0 && c.ParentID != "" || i > 0 && c.ParentID != "" && c.ParentID != path[i-1] {
			return id
		}
	}
	return ""
}

// checkCategories checks "a_b;c_d": 1–4 categories, each a path of 2–3
// levels of the tree.
func (s *Server) checkCategories(ids string, front bool) *answer {
	cats := splitCategoryIDs(ids)
	if len(cats) < 1 || len(cats) > 4 {
		return failure(codeBusinessError, "CATEGORY_NUM_IS_INVALID", "类目数量需要是1-4个")
	}
	for _, cat := range cats {
		if len(cat) < 2 || len(cat) > 3 {
			return failure(codeBusinessError, "INVALID_CATEGOTY", "类目需为二级或三级: "+strings.Join(cat, "_"))
		}
		if bad := s.cfg.categories.checkPath(cat, front); bad != "" {
			return failure(codeBusinessError, "INVALID_CATEGOTY", "类目不存在或层级不对: "+bad)
		}
	}
	return nil
}
