package alipay

import (
	"errors"
	"fmt"
	"strings"
)

// ErrCategoryNotFound is the class of [CategoryTree.Find] failures where a
// name matches no category at its level.
var ErrCategoryNotFound = errors.New("alipay: category not found")

// CategoryNode is one category in a [CategoryTree].
type CategoryNode struct {
	MiniAppCategory
	// Parent is nil for a top-level category.
	Parent *CategoryNode
	// Children are the sub-categories, in the order of the list.
	Children []*CategoryNode
}

// Path returns the categories from the top level down to n.
func (n *CategoryNode) Path() CategoryPath {
	var p CategoryPath
	for x := n; x != nil; x = x.Parent {
		p = append(p, x)
	}
	for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// CategoryTree is the tree of a flat category list, built by
// [NewCategoryTree].
type CategoryTree struct {
	// Roots are the top-level categories (parent "" or "0"), in list order.
	Roots []*CategoryNode
	// Unplaced are the entries that are not in the tree: an empty id, an
	// id given before, a parent that is not in the list, or a cycle of
	// parents.
	Unplaced []MiniAppCategory
	byID     map[string]*CategoryNode
}

// NewCategoryTree builds the tree of a flat category list from each
// entry's ParentCategoryID. It accepts any list: what cannot be placed is
// kept in Unplaced, never looped over.
func NewCategoryTree(list []MiniAppCategory) *CategoryTree {
	t := &CategoryTree{byID: make(map[string]*CategoryNode, len(list))}
	nodes := make([]*CategoryNode, 0, len(list))
	for _, c := range list {
		if _, dup := t.byID[c.CategoryID]; dup || c.CategoryID == "" {
			t.Unplaced = append(t.Unplaced, c)
			continue
		}
		n := &CategoryNode{MiniAppCategory: c}
		t.byID[c.CategoryID] = n
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		switch p, ok := t.byID[n.ParentCategoryID]; {
		case isRootParent(n.ParentCategoryID):
			t.Roots = append(t.Roots, n)
		case ok:
			n.Parent = p
			p.Children = append(p.Children, n)
		}
	}
	// Keep what the roots reach; the rest has a missing parent or a cycle.
	reached := make(map[*CategoryNode]bool, len(nodes))
	queue := append([]*CategoryNode(nil), t.Roots...)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		reached[n] = true
		queue = append(queue, n.Children...)
	}
	for _, n := range nodes {
		if !reached[n] {
			t.Unplaced = append(t.Unplaced, n.MiniAppCategory)
			delete(t.byID, n.CategoryID)
		}
	}
	return t
}

// isRootParent reports whether a parent id marks a top-level category.
func isRootParent(id string) bool { return id == "" || id == "0" }

// Node returns the category with the given id, or nil.
func (t *CategoryTree) Node(id string) *CategoryNode { return t.byID[id] }

// Find returns the path of the category whose names, from the top level
// down, are names, e.g. Find("文娱", "示例二级类目"). Names are compared
// exactly. A name that matches no category at its level is an error
// wrapping [ErrCategoryNotFound]; a name that matches several is an error
// too (choose by id with [CategoryTree.Node]), as is an id that holds '_'
// or ';' (it could not be sent).
func (t *CategoryTree) Find(names ...string) (CategoryPath, error) {
	if len(names) == 0 {
		return nil, errors.New("alipay: CategoryTree.Find: no names")
	}
	level, path := t.Roots, make(CategoryPath, 0, len(names))
	for i, name := range names {
		var found *CategoryNode
		for _, n := range level {
			if n.CategoryName != name {
				continue
			}
			if found != nil {
				return nil, fmt.Errorf("alipay: CategoryTree.Find: several categories named %q under %q", name, strings.Join(names[:i], "_"))
			}
			found = n
		}
		if found == nil {
			return nil, fmt.Errorf("%w: no %q under %q", ErrCategoryNotFound, name, strings.Join(names[:i], "_"))
		}
		if found.CategoryID == "" || strings.ContainsAny(found.CategoryID, "_;") {
			return nil, fmt.Errorf("alipay: CategoryTree.Find: category %q has id %q, which cannot be sent", name, found.CategoryID)
		}
		path = append(path, found)
		level = found.Children
	}
	return path, nil
}

// CategoryPath is one category with its ancestors, top level first.
type CategoryPath []*CategoryNode

// IDs returns the level ids joined by '_', e.g. "XS1013_XS2071": one
// category as MiniBaseInfoModifyRequest.MiniCategoryIDs and
// MiniCategoryRequireQueryRequest.CategoryCodeList take it.
func (p CategoryPath) IDs() string {
	return p.join(func(n *CategoryNode) string { return n.CategoryID })
}

// Names returns the level names joined by '_', e.g. "文娱_示例二级类目", the
// form of [MiniBaseInfoQueryResponse.CategoryNames].
func (p CategoryPath) Names() string {
	return p.join(func(n *CategoryNode) string { return n.CategoryName })
}

func (p CategoryPath) join(field func(*CategoryNode) string) string {
	parts := make([]string, len(p))
	for i, n := range p {
		parts[i] = field(n)
	}
	return strings.Join(parts, "_")
}

// MiniCategoryIDs renders categories as MiniBaseInfoModifyRequest's
// MiniCategoryIDs: each path's ids joined by '_', the paths by ';'
// ("XS1001_XS2001_XS3002;XS1011_XS2089"). Alipay takes 1 to 4 categories.
func MiniCategoryIDs(paths ...CategoryPath) string {
	parts := make([]string, len(paths))
	for i, p := range paths {
		parts[i] = p.IDs()
	}
	return strings.Join(parts, ";")
}
