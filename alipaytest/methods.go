package alipaytest

import (
	"strings"
)

// process answers one parsed request: the protocol checks, the merchant
// behind the token, then the method. Business state changes happen here,
// under s.mu.
func (s *Server) process(in *incoming) *answer {
	if a := s.checkProtocol(in); a != nil {
		return a
	}
	method := in.get("method")
	a := s.dispatch(in, method)
	a.node, a.signed, a.aesKey = nodeName(method), true, in.aesKey
	return a
}

func (s *Server) dispatch(in *incoming, method string) *answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.dispatchISV(in, method); ok {
		return a
	}
	m, fail := s.subject(in.get("app_id"), in.get("app_auth_token"))
	if fail != nil {
		return fail
	}
	if a := noFiles(in, method); a != nil {
		return a
	}
	switch method {
	case methodBaseInfoQuery:
		return s.baseInfoQuery(m)
	case methodBaseInfoModify:
		return s.baseInfoModify(m, in)
	case methodAPIQuery:
		return apiQuery(m)
	case methodSceneQuery:
		return sceneQuery(m, in)
	case methodFieldApply:
		return s.fieldApply(m, in)
	default: // methodFieldQuery; checkProtocol admits no other method
		return s.fieldQuery(m)
	}
}

// isvMethod is a method the ISV app calls for itself. refusal is the
// sub_code a common app_auth_token gets; "" when one is allowed (it must
// then be valid).
type isvMethod struct {
	refusal string
	handle  func(s *Server, in *incoming, caller string) *answer
}

// isvMethods are the methods that do not act on a merchant's mini-program
// through the common app_auth_token.
var isvMethods = map[string]isvMethod{
	methodTokenApp:             {"APP_NOT_ISV", (*Server).tokenApp},
	methodTokenAppQuery:        {"APP_NOT_ISV", (*Server).tokenAppQuery},
	methodAESSet:               {"ACCESS_DENIED", (*Server).aesSet},
	methodAESGet:               {"ACCESS_DENIED", (*Server).aesGet},
	methodCategoryQuery:        {"", (*Server).categoryQuery},
	methodCategoryRequireQuery: {"", (*Server).categoryRequireQuery},
	methodTemplateUsage:        {"", (*Server).templateUsage},
}

// dispatchISV answers the methods of isvMethods; ok is false for the
// others. The caller holds s.mu.
func (s *Server) dispatchISV(in *incoming, method string) (a *answer, ok bool) {
	im, ok := isvMethods[method]
	if !ok {
		return nil, false
	}
	caller, token := in.get("app_id"), in.get("app_auth_token")
	if token != "" {
		if im.refusal != "" {
			return failure(codeBusinessError, im.refusal, method+" 是三方应用自调用接口, 不能传 app_auth_token"), true
		}
		if _, fail := s.subject(caller, token); fail != nil {
			return fail, true
		}
	}
	if a := noFiles(in, method); a != nil {
		return a, true
	}
	return im.handle(s, in, caller), true
}

// noFiles refuses file parts on a method that takes none.
func noFiles(in *incoming, method string) *answer {
	if method != methodBaseInfoModify && method != methodFieldApply && len(in.files) > 0 {
		return failure(codeInvalidArgs, "isv.invalid-parameter", "参数无效: "+method+" 不接受文件参数 "+in.files[0].Part)
	}
	return nil
}

// subject returns the mini-program a call acts on. With an app_auth_token
// it is the merchant who granted that token to the calling app. Without
// one, the call acts on the calling app itself: that is a mini-program only
// if a merchant was registered with the caller's app id (a self-developed
// mini-program); an ISV's own app is not one, so the answer is 40004
// APPLICATION_TYPE_NOT_MINIAPP. The caller holds s.mu.
func (s *Server) subject(appID, token string) (*merchant, *answer) {
	if token != "" {
		if g := s.grants[token]; g != nil && g.isvAppID == appID && g.live(s.now()) {
			return g.m, nil
		}
		return nil, failure(codeTokenInvalid, "aop.invalid-app-auth-token", "无效的应用授权令牌")
	}
	if m := s.merchants[appID]; m != nil {
		return m, nil
	}
	return nil, failure(codeBusinessError, "APPLICATION_TYPE_NOT_MINIAPP",
		"应用类型不是小程序: 未传 app_auth_token, 接口作用于调用方应用 "+appID+" 本身")
}

// baseInfoNode is the business part of baseinfo.query.
type baseInfoNode struct {
	AppName                  string   `json:"app_name,omitempty"`
	AppEnglishName           string   `json:"app_english_name,omitempty"`
	AppSlogan                string   `json:"app_slogan,omitempty"`
	AppLogo                  string   `json:"app_logo,omitempty"`
	AppDesc                  string   `json:"app_desc,omitempty"`
	CategoryNames            string   `json:"category_names,omitempty"`
	PackageNames             []string `json:"package_names,omitempty"`
	SafeDomains              []string `json:"safe_domains,omitempty"`
	ServiceEmail             string   `json:"service_email,omitempty"`
	ServicePhone             string   `json:"service_phone,omitempty"`
	RegistrationLimitRelease bool     `json:"registration_limit_release"`
}

func (s *Server) baseInfoQuery(m *merchant) *answer {
	i := m.info
	cats := i.MiniCategoryIDs
	if cats == "" {
		cats = i.AppCategoryIDs
	}
	return success(baseInfoNode{
		AppName: i.AppName, AppEnglishName: i.AppEnglishName, AppSlogan: i.AppSlogan, AppLogo: i.AppLogo,
		AppDesc: i.AppDesc, CategoryNames: s.categoryNames(cats), PackageNames: i.PackageNames,
		SafeDomains: i.SafeDomains, ServiceEmail: i.ServiceEmail, ServicePhone: i.ServicePhone,
		RegistrationLimitRelease: i.RegistrationLimitRelease,
	})
}

// apiDTO is one entry of app.api.query's apis.
type apiDTO struct {
	APIName     string `json:"api_name"`
	FieldName   string `json:"field_name"`
	PackageCode string `json:"package_code"`
}

func apiQuery(m *merchant) *answer {
	apis := make([]apiDTO, 0, len(m.fields))
	for _, f := range m.fields {
		apis = append(apis, apiDTO{f.APIName, f.FieldName, f.PackageCode})
	}
	return success(struct {
		APIs []apiDTO `json:"apis,omitempty"`
	}{apis})
}

// sceneDTO is one entry of scene.query's auth_field_scene.
type sceneDTO struct {
	SceneCode string `json:"scene_code"`
	SceneDesc string `json:"scene_desc"`
}

func sceneQuery(m *merchant, in *incoming) *answer {
	var q struct {
		APIName   *string `json:"api_name"`
		FieldName *string `json:"field_name"`
	}
	if a := bizJSON(in, &q, "INVALID_PARAM"); a != nil {
		return a
	}
	switch {
	case q.APIName == nil || strings.TrimSpace(*q.APIName) == "":
		return failure(codeBusinessError, "INVALID_PARAM", "参数有误: api_name 不能为空")
	case q.FieldName == nil || strings.TrimSpace(*q.FieldName) == "":
		return failure(codeBusinessError, "INVALID_PARAM", "参数有误: field_name 不能为空")
	}
	f := m.field(*q.APIName, *q.FieldName)
	if f == nil {
		return failure(codeBusinessError, "NO_PERMISSION", "无权限: 应用不可申请 "+*q.APIName+"/"+*q.FieldName)
	}
	if len(f.Scenes) == 0 {
		return failure(codeBusinessError, "AUTH_FIELD_SCENE_IS_BLANK", "该字段未配置使用场景")
	}
	scenes := make([]sceneDTO, len(f.Scenes))
	for i, sc := range f.Scenes {
		scenes[i] = sceneDTO{sc.Code, sc.Desc}
	}
	return success(struct {
		AuthFieldScene []sceneDTO `json:"auth_field_scene"`
	}{scenes})
}

// recordDTO is one entry of field.query's records.
type recordDTO struct {
	UserAppID   string `json:"user_app_id"`
	APIName     string `json:"api_name"`
	FieldName   string `json:"field_name"`
	PackageCode string `json:"package_code"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
}

func (s *Server) fieldQuery(m *merchant) *answer {
	recs := make([]recordDTO, len(m.apps))
	for i, a := range m.apps {
		recs[i] = recordDTO{a.UserAppID, a.APIName, a.FieldName, a.PackageCode, s.wireStatus(a.Status), a.Reason}
	}
	type records struct {
		Records []recordDTO `json:"records,omitempty"`
	}
	return success(struct {
		AuthFieldResponse records `json:"auth_field_response"`
	}{records{recs}})
}

// wireStatus spells a status as the server is configured to send it.
func (s *Server) wireStatus(st Status) string {
	if s.cfg.lowerStatus {
		return strings.ToLower(string(st))
	}
	return string(st)
}
