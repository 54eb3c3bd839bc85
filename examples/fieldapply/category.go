package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/isvkit/alipay"
)

// findCategories turns -set-category into the mini_category_ids that
// baseinfo.modify takes, with alipay.open.mini.category.query: each path
// (paths joined by ';') is given by its names ("交通出行_物流快递", looked
// up with CategoryTree.Find) or by its ids ("XS1011_XS2089", checked
// against the tree). Only categories the mini-program may use count
// (is_filter), so a category Alipay would refuse stops the flow before
// anything changes.
func (f *flow) findCategories(ctx context.Context, spec string) (string, error) {
	res, err := f.m.MiniCategoryQuery(ctx, &alipay.MiniCategoryQueryRequest{IsFilter: true})
	if err != nil {
		return "", err
	}
	tree := res.Tree()
	var paths []alipay.CategoryPath
	for _, one := range strings.Split(spec, ";") {
		levels := strings.Split(one, "_")
		path := pathByIDs(tree, levels)
		if path == nil {
			if path, err = tree.Find(levels...); err != nil {
				return "", categoryStop(one, err)
			}
		}
		paths = append(paths, path)
	}
	ids := alipay.MiniCategoryIDs(paths...)
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = p.Names()
	}
	f.printf("   category.query: %s is %s\n", strings.Join(names, ";"), ids)
	return ids, nil
}

// pathByIDs returns the path whose ids are levels, top level first, or nil
// when levels are not the ids of one path of the tree.
func pathByIDs(tree *alipay.CategoryTree, levels []string) alipay.CategoryPath {
	n := tree.Node(levels[len(levels)-1])
	if n == nil {
		return nil
	}
	path := n.Path()
	if len(path) != len(levels) {
		return nil
	}
	for i, node := range path {
		if node.CategoryID != levels[i] {
			return nil
		}
	}
	return path
}

// categoryStop explains a category that category.query does not offer.
func categoryStop(spec string, err error) error {
	msg := fmt.Sprintf("-set-category %s: %v", spec, err)
	if errors.Is(err, alipay.ErrCategoryNotFound) {
		msg = fmt.Sprintf("-set-category %s is not a category this mini-program may use (category.query): %v", spec, err)
	}
	return &stopError{code: exitProblem, msg: msg}
}

// modifyHint adds what to do to a refused category change: on a
// mini-program with a listed version the category changes with the next
// version's audit.
func modifyHint(err error) error {
	var apiErr *alipay.APIError
	if errors.As(err, &apiErr) && (apiErr.SubCode == alipay.SubCodeCannotModifyCategoryWithRelationVersion ||
		apiErr.SubCode == alipay.SubCodeMiniAppInfoAuditContains) {
		return fmt.Errorf("%w (change the category with the next version's audit)", err)
	}
	return err
}
