package alipaytest

import (
	"time"
)

// Merchant is a merchant's mini-program that authorised an ISV app
// (app_auth_token). Every call carrying Token acts on it. Merchants that
// authorise while the server runs come from [Server.Authorize].
type Merchant struct {
	// Token is the app_auth_token. Required.
	Token string
	// RefreshToken is the app_refresh_token that goes with Token; empty
	// means a random one ([Server.Grants] shows it).
	RefreshToken string
	// UserID is the merchant's Alipay user id (2088…); empty means a
	// random one.
	UserID string
	// AESKey is the mini-program's AES key (Base64 of 16, 24 or 32 bytes),
	// which aes.get returns and [Server.PhoneNumberEnvelope] encrypts with;
	// empty means none until aes.set.
	AESKey string
	// Listed reports that the mini-program has a listed (上架) version: a
	// baseinfo.modify then goes to an information audit (modify_status
	// [ModifyStatusPendingAudit]) instead of applying at once (answered
	// without modify_status).
	Listed bool
	// AppID is the mini-program's app id (user_app_id). Required.
	AppID string
	// ISVAppID is the app the token was issued to; a call from any other
	// app gets 20001 aop.invalid-app-auth-token. Empty means [DefaultAppID].
	ISVAppID string
	// BaseInfo is the mini-program's basic info at start.
	BaseInfo BaseInfo
	// Fields are the sensitive fields the mini-program may apply for, with
	// their scenes. Nil means [DefaultFields]; empty means none.
	Fields []Field
}

// BaseInfo is a mini-program's basic info, as baseinfo.query reports it and
// baseinfo.modify changes it.
type BaseInfo struct {
	AppName        string // 小程序名称
	AppEnglishName string // 英文名称
	AppSlogan      string // 简介
	AppLogo        string // logo URL
	AppDesc        string // 描述
	// MiniCategoryIDs are the front-end category ids ("XS1001_XS2001;…").
	// They take precedence over AppCategoryIDs, as on the gateway.
	MiniCategoryIDs string
	// AppCategoryIDs are the legacy category ids ("11_12;…").
	AppCategoryIDs           string
	PackageNames             []string // 功能包名称
	SafeDomains              []string // 域白名单
	ServiceEmail             string   // 客服邮箱
	ServicePhone             string   // 客服电话
	RegistrationLimitRelease bool     // 受限发布
}

// Field is a sensitive output field that an app may apply for.
type Field struct {
	APIName     string  // e.g. "getPhoneNumber"
	FieldName   string  // e.g. "mobile"
	PackageCode string  // the feature package code to apply with
	Scenes      []Scene // the usage scenes scene.query lists
}

// Scene is a usage scene of a field.
type Scene struct {
	Code string // scene_code, e.g. "14"
	Desc string // scene_desc, e.g. "物流快递"
}

// DefaultFields returns (a fresh copy of) the fields every merchant may
// apply for unless [Merchant.Fields] says otherwise: getPhoneNumber/mobile
// and alipay.user.info.share/mobile, each with scenes 14 物流快递 and
// 6 汽车服务.
func DefaultFields() []Field {
	scenes := func() []Scene { return []Scene{{"14", "物流快递"}, {"6", "汽车服务"}} }
	return []Field{
		{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444", Scenes: scenes()},
		{APIName: "alipay.user.info.share", FieldName: "mobile", PackageCode: "20201019201538211864", Scenes: scenes()},
	}
}

// defaultMerchant is the merchant of [DefaultMerchantToken]. It has no
// category yet, so a flow must set one with baseinfo.modify.
func defaultMerchant() Merchant {
	return Merchant{
		Token: DefaultMerchantToken, AppID: DefaultMerchantAppID, ISVAppID: DefaultAppID,
		BaseInfo: BaseInfo{
			AppName: "小程序示例", AppEnglishName: "demoexample", AppSlogan: "提供小程序示例功能",
			AppLogo:      "https://appstoreisvpic.alipayobjects.com/prod/alipaytest-default-logo.png",
			AppDesc:      "小程序官方示例Demo，展示已支持的接口能力及组件。",
			PackageNames: []string{"小程序基础功能包"}, SafeDomains: []string{"example.com"},
			ServiceEmail: "example@mail.com", ServicePhone: "13110101010",
		},
	}
}

// Status is the audit status of an application.
type Status string

// Audit statuses, as the SDK models spell them (see [WithLowerCaseStatus]).
const (
	StatusAudit   Status = "AUDIT"   // under audit (审核中)
	StatusAgree   Status = "AGREE"   // approved (通过)
	StatusReject  Status = "REJECT"  // rejected (驳回), with a reason
	StatusInvalid Status = "INVALID" // invalid (无效)
)

// Application is one field.apply the server accepted, with what it
// received. Applications are never replaced: a new application after a
// rejection sits next to the old record, as field.query then shows.
type Application struct {
	UserAppID         string // the merchant mini-program (user_app_id)
	APIName           string // api_name of auth_field_apply
	FieldName         string // field_name
	PackageCode       string // package_code
	SceneCode         string // scene_code
	QPSAnswer         string // qps_answer
	CustomerAnswer    string // customer_answer
	Memo              string // memo, when given
	TinyAppTemplateID string // tiny_app_template_id, when given
	// AuthFieldApply is the auth_field_apply text exactly as received.
	AuthFieldApply string
	Status         Status    // current audit status
	Reason         string    // set with StatusReject
	Files          []File    // the demo material, in the order received
	AppliedAt      time.Time // server clock
	DecidedAt      time.Time // server clock; zero while under audit
}

// File describes a received file part. The server streams file parts and
// keeps only this.
type File struct {
	Part        string // form name: "picture_1" … "picture_5", "video", "app_logo"
	Filename    string // filename of the Content-Disposition
	ContentType string // the part's Content-Type header
	Detected    string // http.DetectContentType of the first bytes
	Size        int64  // bytes received
	SHA256      string // hex SHA-256 of the content
}

func copyFields(in []Field) []Field {
	out := make([]Field, len(in))
	for i, f := range in {
		f.Scenes = append([]Scene(nil), f.Scenes...)
		out[i] = f
	}
	return out
}

// field returns the merchant's field (api, field), or nil.
func (m *merchant) field(apiName, fieldName string) *Field {
	for i := range m.fields {
		if m.fields[i].APIName == apiName && m.fields[i].FieldName == fieldName {
			return &m.fields[i]
		}
	}
	return nil
}

// hasAPI reports whether any field of the merchant belongs to apiName.
func (m *merchant) hasAPI(apiName string) bool {
	for _, f := range m.fields {
		if f.APIName == apiName {
			return true
		}
	}
	return false
}

// latest returns the newest application for the key with one of statuses.
func (m *merchant) latest(apiName, fieldName, packageCode string, statuses ...Status) *Application {
	for i := len(m.apps) - 1; i >= 0; i-- {
		a := m.apps[i]
		if a.APIName != apiName || a.FieldName != fieldName || a.PackageCode != packageCode {
			continue
		}
		for _, st := range statuses {
			if a.Status == st {
				return a
			}
		}
	}
	return nil
}

// BaseInfo returns the current basic info of the merchant with this token
// or mini-program app id.
func (s *Server) BaseInfo(merchantTokenOrAppID string) (BaseInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.lookupMerchant(merchantTokenOrAppID)
	if m == nil {
		return BaseInfo{}, false
	}
	return copyInfo(m.info), true
}

// copyInfo returns info with its own slices.
func copyInfo(info BaseInfo) BaseInfo {
	info.PackageNames = append([]string(nil), info.PackageNames...)
	info.SafeDomains = append([]string(nil), info.SafeDomains...)
	return info
}

// Applications returns copies of the applications of the merchant with this
// token or mini-program app id, oldest first; nil for an unknown merchant.
func (s *Server) Applications(merchantTokenOrAppID string) []Application {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.lookupMerchant(merchantTokenOrAppID)
	if m == nil {
		return nil
	}
	out := make([]Application, len(m.apps))
	for i, a := range m.apps {
		out[i] = *a
		out[i].Files = append([]File(nil), a.Files...)
	}
	return out
}
