package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Success nodes: illustrative bodies built from each method's documented
// response fields.
const (
	nodeBaseInfo = `{"code":"10000","msg":"Success","app_name":"小程序示例","app_english_name":"demoexample","app_slogan":"提供小程序示例功能","app_logo":"https://appstoreisvpic.alipayobjects.com/prod/04843e84-f1fd-4717-a230-1c72de99aa5d.png","app_desc":"小程序官方示例Demo，展示已支持的接口能力及组件。","category_names":"航空票务_航空公司;生活服务_室内清洁服务;","package_names":["小程序基础功能包1","小程序基础功能包2"],"safe_domains":["example.com"],"service_email":"example@mail.com","service_phone":"13110101010","registration_limit_release":false}`
	nodeAPIQuery = `{"code":"10000","msg":"Success","apis":[{"api_name":"getPhoneNumber","field_name":"mobile","package_code":"20180927110154092444"},{"api_name":"alipay.user.info.share","field_name":"mobile","package_code":"20201019201538211864"}]}`
	nodeScene    = `{"code":"10000","msg":"Success","auth_field_scene":[{"scene_code":"14","scene_desc":"物流快递"},{"scene_code":"6","scene_desc":"汽车服务"}]}`
	nodeFieldQ   = `{"code":"10000","msg":"Success","auth_field_response":{"records":[{"user_app_id":"2021004000000002","api_name":"getPhoneNumber","field_name":"mobile","package_code":"20180927110154092444","status":"AUDIT"},{"user_app_id":"2021004000000002","api_name":"alipay.user.info.share","field_name":"mobile","package_code":"20190910140822144236","status":"REJECT","reason":"使用场景不在信息开放的范围内"}]}}`
)

var successNodes = map[string]string{
	methodMiniBaseInfoQuery: nodeBaseInfo, methodAppAPIQuery: nodeAPIQuery,
	methodAppAPISceneQuery: nodeScene, methodAppAPIFieldQuery: nodeFieldQ,
}

// apiCall is one of the four query calls, driven generically.
type apiCall struct {
	name, method, subCode string
	invoke                func(context.Context, *Client) (any, error)
	check                 func(*testing.T, any)
	zero                  func(context.Context, *Client) (any, error) // with a non-nil zero request
}

// asAny turns a typed nil pointer into a nil interface.
func asAny[T any](res *T, err error) (any, error) {
	if res == nil {
		return nil, err
	}
	return res, err
}

var fourCalls = []apiCall{
	{"MiniBaseInfoQuery", methodMiniBaseInfoQuery, "APP_INFO_NOT_EXIST",
		func(ctx context.Context, c *Client) (any, error) { return asAny(c.MiniBaseInfoQuery(ctx, nil)) },
		func(t *testing.T, v any) {
			r, no := *v.(*MiniBaseInfoQueryResponse), FlexBool(false)
			assert.True(t, r.HasCategory("生活服务", "室内清洁服务"))
			assert.False(t, r.HasCategory("生活服务"))
			r.ResponseMeta = ResponseMeta{}
			assert.Equal(t, MiniBaseInfoQueryResponse{AppName: "小程序示例", AppEnglishName: "demoexample",
				AppSlogan: "提供小程序示例功能", AppLogo: "https://appstoreisvpic.alipayobjects.com/prod/04843e84-f1fd-4717-a230-1c72de99aa5d.png",
				AppDesc: "小程序官方示例Demo，展示已支持的接口能力及组件。", CategoryNames: "航空票务_航空公司;生活服务_室内清洁服务;",
				PackageNames: []string{"小程序基础功能包1", "小程序基础功能包2"}, SafeDomains: []string{"example.com"},
				ServiceEmail: "example@mail.com", ServicePhone: "13110101010", RegistrationLimitRelease: &no}, r)
		},
		func(ctx context.Context, c *Client) (any, error) {
			return asAny(c.MiniBaseInfoQuery(ctx, &MiniBaseInfoQueryRequest{}))
		}},
	{"AppAPIQuery", methodAppAPIQuery, "INVALID_PARAMETER",
		func(ctx context.Context, c *Client) (any, error) { return asAny(c.AppAPIQuery(ctx, nil)) },
		func(t *testing.T, v any) {
			assert.Equal(t, []AuthAPIDTO{
				{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444"},
				{APIName: "alipay.user.info.share", FieldName: "mobile", PackageCode: "20201019201538211864"},
			}, v.(*AppAPIQueryResponse).APIs)
		},
		func(ctx context.Context, c *Client) (any, error) {
			return asAny(c.AppAPIQuery(ctx, &AppAPIQueryRequest{}))
		}},
	{"AppAPISceneQuery", methodAppAPISceneQuery, "AUTH_FIELD_SCENE_IS_BLANK",
		func(ctx context.Context, c *Client) (any, error) {
			return asAny(c.AppAPISceneQuery(ctx, &AppAPISceneQueryRequest{APIName: "getPhoneNumber", FieldName: "mobile"}))
		},
		func(t *testing.T, v any) {
			assert.Equal(t, []AuthFieldSceneDTO{{SceneCode: "14", SceneDesc: "物流快递"}, {SceneCode: "6", SceneDesc: "汽车服务"}},
				v.(*AppAPISceneQueryResponse).AuthFieldScene)
		}, nil},
	{"AppAPIFieldQuery", methodAppAPIFieldQuery, "INVALID_PARAM",
		func(ctx context.Context, c *Client) (any, error) { return asAny(c.AppAPIFieldQuery(ctx, nil)) },
		func(t *testing.T, v any) {
			r := v.(*AppAPIFieldQueryResponse)
			require.Len(t, r.AuthFieldResponse.Records, 2)
			assert.Equal(t, AuthFieldDTO{UserAppID: "2021004000000002", APIName: "getPhoneNumber", FieldName: "mobile",
				PackageCode: "20180927110154092444", Status: AuthFieldStatusAudit, StatusRaw: "AUDIT"}, r.AuthFieldResponse.Records[0])
			rej := r.Records("alipay.user.info.share", "mobile", "20190910140822144236")
			require.Len(t, rej, 1)
			assert.Equal(t, AuthFieldStatusReject, rej[0].Status)
			assert.True(t, rej[0].Status.Terminal())
			assert.False(t, r.AuthFieldResponse.Records[0].Status.Terminal())
			assert.Equal(t, "使用场景不在信息开放的范围内", rej[0].Reason)
			assert.Empty(t, r.Records("getPhoneNumber", "mobile", "other"))
		},
		func(ctx context.Context, c *Client) (any, error) {
			return asAny(c.AppAPIFieldQuery(ctx, &AppAPIFieldQueryRequest{}))
		}},
}

func failNode(code, msg, sub, subMsg string) string {
	return `{"code":"` + code + `","msg":"` + msg + `","sub_code":"` + sub + `","sub_msg":"` + subMsg + `"}`
}

// TestCalls drives each of the four calls through every outcome.
func TestCalls(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	trace := http.Header{"Trace_id": {"0b8a1c2d17161820550001234"}}
	for _, tc := range fourCalls {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok := successNodes[tc.method]
			fail := failNode("40004", "Business Failed", tc.subCode, "业务处理失败")
			errNode := failNode("40002", "Invalid Arguments", "isv.invalid-timestamp", "非法的时间戳参数")
			signedOK := g.body(tc.method, ok)

			verifyStep := func(step VerifyStep) func(*testing.T, any, error) {
				return func(t *testing.T, _ any, err error) {
					require.ErrorIs(t, err, ErrSignature)
					var ve *VerifyError
					require.ErrorAs(t, err, &ve)
					assert.Equal(t, step, ve.Step)
					assert.Equal(t, tc.method, ve.Method)
					var apiErr *APIError
					assert.False(t, errors.As(err, &apiErr))
				}
			}
			apiError := func(code, sub string, verified bool) func(*testing.T, any, error) {
				return func(t *testing.T, _ any, err error) {
					var apiErr *APIError
					require.ErrorAs(t, err, &apiErr)
					assert.Equal(t, APIError{Method: tc.method, Code: code, Msg: apiErr.Msg, SubCode: sub, SubMsg: apiErr.SubMsg,
						TraceID: "0b8a1c2d17161820550001234", Verified: verified}, *apiErr)
					assert.Equal(t, !verified, strings.HasSuffix(err.Error(), " [unverified]"))
				}
			}
			badResponse := func(status int, reason ResponseReason, snippet string) func(*testing.T, any, error) {
				return func(t *testing.T, _ any, err error) {
					require.ErrorIs(t, err, ErrBadResponse)
					var re *ResponseError
					require.ErrorAs(t, err, &re)
					assert.Equal(t, status, re.StatusCode)
					assert.Equal(t, reason, re.Reason)
					assert.Equal(t, "0b8a1c2d17161820550001234", re.TraceID)
					assert.LessOrEqual(t, len(re.Body), 512)
					assert.True(t, strings.HasPrefix(re.Body, snippet), re.Body)
					assert.Less(t, len(err.Error()), 1400)
				}
			}
			i := strings.Index(signedOK, `"sign":"`) + len(`"sign":"`) + 10
			flipped := signedOK[:i] + map[bool]string{true: "B", false: "A"}[signedOK[i] == 'A'] + signedOK[i+1:]
			page := "<html><head><title>502 Bad Gateway</title></head>" + strings.Repeat("网关错误 ", 200) + "</html>"
			for _, sc := range []struct {
				name   string
				status int
				body   string
				check  func(*testing.T, any, error)
			}{
				{"success", 200, signedOK, func(t *testing.T, res any, err error) { require.NoError(t, err); tc.check(t, res) }},
				{"business_failure", 200, g.body(tc.method, fail), apiError("40004", tc.subCode, true)},
				{"unsigned_error", 200, `{"` + nodeKey(tc.method) + `":` + fail + `}`, apiError("40004", tc.subCode, false)},
				{"unsigned_success", 200, `{"` + nodeKey(tc.method) + `":` + ok + `}`, verifyStep(StepMissingSign)},
				{"tampered_body", 200, strings.Replace(signedOK, `"msg":"Success"`, `"msg":"Succesz"`, 1), verifyStep(StepBadSignature)},
				{"tampered_signature", 200, flipped, verifyStep(StepBadSignature)},
				{"duplicate_node", 200, strings.TrimSuffix(signedOK, "}") + `,"` + nodeKey(tc.method) + `":` + fail + `}`, verifyStep(StepDuplicateNode)},
				{"error_response_signed", 200, `{"error_response":` + errNode + `,"sign":"` + g.sign(errNode) + `"}`,
					apiError("40002", "isv.invalid-timestamp", true)},
				{"error_response_unsigned", 200, `{"error_response":` + errNode + `}`, apiError("40002", "isv.invalid-timestamp", false)},
				{"http_502", http.StatusBadGateway, page, badResponse(502, "http_status", "<html><head><title>502")},
				{"non_json", 200, "<html><body>服务器繁忙</body></html>", badResponse(200, "invalid_json", "<html><body>服务器繁忙")},
			} {
				t.Run(sc.name, func(t *testing.T) {
					c, mock := newMockClient(t, WithRetry(1, 0, 0)) // one attempt: retries are retry_test.go's
					mg := serveMock(t, mock, sc.status, sc.body, trace)
					res, err := tc.invoke(context.Background(), c.WithAppAuthToken(testToken))
					if err != nil {
						assert.Nil(t, res, "a result with an error")
					}
					sc.check(t, res, err)
					assert.Equal(t, 1, mock.GetTotalCallCount())
					reqs := mg.requests(t)
					require.Len(t, reqs, 1)
					assert.Equal(t, tc.method, reqs[0].Query.Get("method"))
					assert.Equal(t, testToken, reqs[0].Form.Get("app_auth_token"))
					assert.Equal(t, tc.method == methodAppAPISceneQuery, reqs[0].Form.Has("biz_content"))
				})
			}
			checkCancelled := func(t *testing.T, res any, err error) {
				t.Helper()
				assert.Nil(t, res)
				require.ErrorIs(t, err, context.Canceled)
				assert.True(t, strings.HasPrefix(err.Error(), "alipay: "+tc.method+": "), err.Error())
				assertNoRequestSecrets(t, err.Error())
				var apiErr *APIError
				assert.False(t, errors.As(err, &apiErr))
				assert.False(t, errors.Is(err, ErrSignature) || errors.Is(err, ErrBadResponse))
			}
			t.Run("cancelled_in_flight", func(t *testing.T) {
				c, mock := newMockClient(t)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				mock.RegisterResponder(http.MethodPost, testGW, func(r *http.Request) (*http.Response, error) {
					cancel() // the caller gives up while the gateway works
					<-r.Context().Done()
					return nil, r.Context().Err() // as net/http's transport does
				})
				res, err := tc.invoke(ctx, c.WithAppAuthToken(testToken))
				checkCancelled(t, res, err)
			})
			t.Run("cancelled_before_call", func(t *testing.T) {
				c, mock := newMockClient(t)
				serveMock(t, mock, 200, signedOK, nil)
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				res, err := tc.invoke(ctx, c.WithAppAuthToken(testToken))
				checkCancelled(t, res, err)
				assert.Equal(t, 0, mock.GetTotalCallCount())
			})
			t.Run("timeout", func(t *testing.T) {
				c, mock := newMockClient(t, WithTimeout(20*time.Millisecond))
				mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(200, signedOK).Delay(time.Second))
				res, err := tc.invoke(context.Background(), c.WithAppAuthToken(testToken))
				assert.Nil(t, res)
				require.Error(t, err)
				var ne net.Error
				assert.True(t, errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()), err.Error())
				assert.Contains(t, err.Error(), tc.method)
				assertNoRequestSecrets(t, err.Error())
			})
			t.Run("ctx_deadline", func(t *testing.T) {
				c, mock := newMockClient(t)
				mock.RegisterResponder(http.MethodPost, testGW, httpmock.NewStringResponder(200, signedOK).Delay(time.Second))
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				defer cancel()
				res, err := tc.invoke(ctx, c.WithAppAuthToken(testToken))
				assert.Nil(t, res)
				require.ErrorIs(t, err, context.DeadlineExceeded)
			})
			t.Run("empty_token_not_sent", func(t *testing.T) {
				c, mock := newMockClient(t)
				serveMock(t, mock, 200, signedOK, nil)
				res, err := tc.invoke(context.Background(), c.WithAppAuthToken(""))
				assert.Nil(t, res)
				require.ErrorIs(t, err, ErrInvalidRequest)
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, "app_auth_token", ve.Field)
				assert.Equal(t, 0, mock.GetTotalCallCount())
			})
		})
	}
}

// assertNoRequestSecrets checks an error text for the query and the token.
func assertNoRequestSecrets(t *testing.T, s string) {
	t.Helper()
	for _, bad := range []string{"sign=", "timestamp=", "app_id=", "?", testToken} {
		assert.NotContains(t, s, bad)
	}
}

// TestCallGeneric: biz_content in (marshalled once, no HTML escaping),
// verified raw JSON out; nil biz sends no biz_content.
func TestCallGeneric(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	const method = "alipay.open.mini.category.query"
	node := `{"code":"10000","msg":"Success","mini_category_list":[{"category_id":"XS1001"}]}`
	for name, tc := range map[string]struct {
		biz  any
		want string
	}{
		"struct": {struct {
			Filter bool   `json:"is_filter"`
			Q      string `json:"q"`
		}{true, "<a&b> 测试"}, `{"is_filter":true,"q":"<a&b> 测试"}`},
		"raw": {json.RawMessage(`{"x":1}`), `{"x":1}`},
		"nil": {nil, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c, mock := newMockClient(t)
			mg := serveMock(t, mock, 200, g.body(method, node), nil)
			raw, err := c.WithAppAuthToken(testToken).Call(context.Background(), method, tc.biz)
			require.NoError(t, err)
			assert.Equal(t, node, string(raw))
			reqs := mg.requests(t)
			require.Len(t, reqs, 1)
			assert.Equal(t, method, reqs[0].Query.Get("method"))
			assert.Equal(t, tc.want, reqs[0].Form.Get("biz_content"))
			assert.Equal(t, tc.want != "", reqs[0].Form.Has("biz_content"))
		})
	}
	t.Run("refused_before_sending", func(t *testing.T) {
		c, mock := newMockClient(t)
		_, err := c.Call(context.Background(), "", nil)
		assert.ErrorIs(t, err, ErrInvalidRequest)
		_, err = c.Call(context.Background(), method, make(chan int))
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "biz_content", ve.Field)
		assert.Equal(t, 0, mock.GetTotalCallCount())
	})
	c, mock := newMockClient(t)
	serveMock(t, mock, 200, g.body(method, failNode("40006", "Insufficient Permissions", "isv.insufficient-isv-permissions", "权限不足")), nil)
	raw, err := c.Call(context.Background(), method, nil)
	assert.True(t, raw == nil && IsPermissionDenied(err), "%s %v", raw, err)
}

// TestNilRequestEqualsZero: a nil request sends exactly what the zero
// request sends (the clock is fixed, so even sign is equal).
func TestNilRequestEqualsZero(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	for _, tc := range fourCalls {
		if tc.zero == nil {
			continue // scene.query: the zero request is invalid (TestSceneQueryValidation)
		}
		t.Run(tc.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			mg := serveMock(t, mock, 200, g.body(tc.method, successNodes[tc.method]), nil)
			m := c.WithAppAuthToken(testToken)
			for _, call := range []func(context.Context, *Client) (any, error){tc.invoke, tc.zero} {
				res, err := call(context.Background(), m)
				require.NoError(t, err)
				tc.check(t, res)
			}
			reqs := mg.requests(t)
			require.Len(t, reqs, 2)
			assert.Equal(t, reqs[0].Query, reqs[1].Query)
			assert.Equal(t, reqs[0].Form, reqs[1].Form)
		})
	}
}

// TestResponseDecoding: ResponseMeta, status normalisation and the two
// encodings of registration_limit_release.
func TestResponseDecoding(t *testing.T) {
	t.Parallel()
	g := newGatewaySigner(t)
	fetch := func(t *testing.T, method, node string, h http.Header) (any, error) {
		c, mock := newMockClient(t)
		serveMock(t, mock, 200, g.body(method, node), h)
		for _, tc := range fourCalls {
			if tc.method == method {
				return tc.invoke(context.Background(), c.WithAppAuthToken(testToken))
			}
		}
		panic(method)
	}
	t.Run("meta", func(t *testing.T) {
		res, err := fetch(t, methodAppAPIQuery, nodeAPIQuery, http.Header{"Trace_id": {"trace-123"}})
		require.NoError(t, err)
		r := res.(*AppAPIQueryResponse)
		assert.Equal(t, "trace-123", r.TraceID)
		assert.Equal(t, nodeAPIQuery, string(r.Raw))
		res, err = fetch(t, methodMiniBaseInfoQuery, `{"code":"10000","msg":"Success"}`, nil) // no header, no field
		require.NoError(t, err)
		assert.Equal(t, &MiniBaseInfoQueryResponse{ResponseMeta: ResponseMeta{Raw: []byte(`{"code":"10000","msg":"Success"}`)}}, res)
	})
	t.Run("status", func(t *testing.T) {
		var recs []string
		raws := []string{"agree", "AUDIT", " Reject ", "invalid", "PENDING", ""}
		for _, s := range raws {
			recs = append(recs, `{"api_name":"a","field_name":"f","package_code":"p","status":"`+s+`"}`)
		}
		node := `{"code":"10000","msg":"Success","auth_field_response":{"records":[` + strings.Join(recs, ",") + `]}}`
		res, err := fetch(t, methodAppAPIFieldQuery, node, nil)
		require.NoError(t, err)
		got := res.(*AppAPIFieldQueryResponse).Records("a", "f", "p")
		require.Len(t, got, len(raws))
		want := []AuthFieldStatus{AuthFieldStatusAgree, AuthFieldStatusAudit, AuthFieldStatusReject,
			AuthFieldStatusInvalid, AuthFieldStatusUnknown, AuthFieldStatusUnknown}
		for i, r := range got {
			assert.Equal(t, want[i], r.Status, raws[i])
			assert.Equal(t, raws[i], r.StatusRaw)
		}
	})
	for _, tc := range []struct{ raw, want string }{
		{`true`, "true"}, {`"true"`, "true"}, {`false`, "false"}, {`"false"`, "false"}, {`null`, "nil"}, {`1`, "true"}, {`"0"`, "false"}, {`2`, "error"},
	} {
		t.Run("registration_limit_release_"+tc.raw, func(t *testing.T) {
			res, err := fetch(t, methodMiniBaseInfoQuery, `{"code":"10000","msg":"Success","registration_limit_release":`+tc.raw+`}`, nil)
			got := "error"
			if err == nil {
				got = "nil"
				if v := res.(*MiniBaseInfoQueryResponse).RegistrationLimitRelease; v != nil {
					got = fmt.Sprint(bool(*v))
				}
			} else {
				assert.ErrorIs(t, err, ErrBadResponse)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
