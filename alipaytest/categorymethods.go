package alipaytest

import "strings"

// categoryDTO is one entry of category.query's lists (MiniAppCategory).
type categoryDTO struct {
	CategoryID         string `json:"category_id"`
	CategoryName       string `json:"category_name"`
	ParentCategoryID   string `json:"parent_category_id"`
	HasChild           bool   `json:"has_child"`
	NeedLicense        bool   `json:"need_license"`
	NeedOutDoorPic     bool   `json:"need_out_door_pic"`
	NeedSpecialLicense bool   `json:"need_special_license"`
}

// categoryQuery lists the tree, flat, in configured order: legacy
// categories in category_list, front-end ones in mini_category_list, a
// root's parent as "0". is_filter is accepted; every category is available
// to every app here. The caller holds s.mu.
func (s *Server) categoryQuery(in *incoming, _ string) *answer {
	if in.biz() != "" {
		var q struct {
			IsFilter *bool `json:"is_filter"`
		}
		if a := bizJSON(in, &q, "INVALID_PARAMETER"); a != nil {
			return a
		}
	}
	t := s.cfg.categories
	parents := map[string]bool{}
	for _, c := range t.byID {
		parents[c.ParentID] = true
	}
	var legacy, front []categoryDTO
	for _, id := range t.order {
		c := t.byID[id]
		parent := c.ParentID
		if parent == "" {
			parent = "0"
		}
		d := categoryDTO{id, c.Name, parent, parents[id], c.NeedLicense, c.NeedOutDoorPic, c.NeedSpecialLicense}
		if strings.HasPrefix(id, "XS") {
			front = append(front, d)
		} else {
			legacy = append(legacy, d)
		}
	}
	return success(struct {
		CategoryList     []categoryDTO `json:"category_list,omitempty"`
		MiniCategoryList []categoryDTO `json:"mini_category_list,omitempty"`
	}{legacy, front})
}

// requireDTO is one entry of category.require.query's answer.
type requireDTO struct {
	CategoryCode            string `json:"category_code"`
	CategoryName            string `json:"category_name"`
	CategoryRequirements    string `json:"category_requirements"`
	BusinessLicenceRequired bool   `json:"business_licence_required"`
	DoorPhotoRequired       bool   `json:"door_photo_required"`
	SpecialLicenceRequired  bool   `json:"special_licence_required"`
}

// categoryRequireQuery describes at most five category paths ("XS1011_XS2089"):
// the requirements of all their levels. The caller holds s.mu.
func (s *Server) categoryRequireQuery(in *incoming, _ string) *answer {
	var q struct {
		Codes []string `json:"category_code_list"`
	}
	if a := bizJSON(in, &q, "INVALID_PARAMETER"); a != nil {
		return a
	}
	if len(q.Codes) == 0 || len(q.Codes) > maxRequireCodes {
		return failure(codeBusinessError, "INVALID_PARAMETER", "category_code_list 需为 1-5 个类目")
	}
	t := s.cfg.categories
	out := make([]requireDTO, 0, len(q.Codes))
	for _, code := range q.Codes {
		path := strings.Split(code, "_")
		if code == "" || t.checkPath(path, strings.HasPrefix(code, "XS")) != "" {
			return failure(codeBusinessError, "INVALID_PARAMETER", "类目不存在: "+code)
		}
		d := requireDTO{CategoryCode: code}
		names := make([]string, len(path))
		var reqs []string
		for i, id := range path {
			c := t.byID[id]
			names[i] = c.Name
			d.BusinessLicenceRequired = d.BusinessLicenceRequired || c.NeedLicense
			d.DoorPhotoRequired = d.DoorPhotoRequired || c.NeedOutDoorPic
			d.SpecialLicenceRequired = d.SpecialLicenceRequired || c.NeedSpecialLicense
			if c.Requirements != "" {
				reqs = append(reqs, c.Requirements)
			}
		}
		d.CategoryName, d.CategoryRequirements = strings.Join(names, "_"), strings.Join(reqs, "；")
		out = append(out, d)
	}
	return success(struct {
		List []requireDTO `json:"category_require_info_list"`
	}{out})
}
