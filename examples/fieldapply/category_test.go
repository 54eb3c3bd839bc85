package main

import (
	"testing"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSetCategoryFoundWithCategoryQuery: against a gateway, -set-category
// by names or by ids is looked up with category.query before
// baseinfo.modify; one the tree does not offer stops the flow before
// anything changes.
func TestSetCategoryFoundWithCategoryQuery(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		spec, want string
	}{
		"names":    {"交通出行_物流快递", "category.query: 交通出行_物流快递 is XS1011_XS2089"},
		"ids":      {"XS1011_XS2089", "category.query: 交通出行_物流快递 is XS1011_XS2089"},
		"two":      {"交通出行_物流快递;XS1001_XS2001_XS3002", "is XS1011_XS2089;XS1001_XS2001_XS3002"},
		"sub-path": {"物流快递", ""},
		"unknown":  {"交通出行_不存在", ""},
		"bad ids":  {"XS2089_XS1011", ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			code, out, errs := runIt(t, gatewayEnv(t, s), "-set-category", tc.spec)
			if tc.want == "" {
				assert.Equal(t, exitProblem, code, out)
				assert.Contains(t, errs, "-set-category "+tc.spec)
				assert.Contains(t, errs, "is not a category this mini-program may use (category.query)")
				assert.Zero(t, s.RequestCount("alipay.open.mini.baseinfo.modify"), "nothing changed")
				return
			}
			require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
			assert.Contains(t, out, tc.want)
			assert.Equal(t, 1, s.RequestCount("alipay.open.mini.category.query"))
		})
	}
}

// TestCategoryPresentNoQuery: against a gateway, a mini-program that has a
// category needs no category.query: the calls stay as they were.
func TestCategoryPresentNoQuery(t *testing.T) {
	t.Parallel()
	s := newServer(t, alipaytest.WithMerchant(alipaytest.Merchant{
		Token: alipaytest.DefaultMerchantToken, AppID: alipaytest.DefaultMerchantAppID,
		BaseInfo: alipaytest.BaseInfo{AppName: "有类目", ServicePhone: "13110101010", MiniCategoryIDs: "XS1011_XS2089"},
	}))
	code, out, errs := runIt(t, gatewayEnv(t, s), "-set-category", "交通出行_物流快递")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "any category: present")
	assert.Zero(t, s.RequestCount("alipay.open.mini.category.query"))
}

// TestCategoryChangePendingAudit: on a mini-program with a listed version
// the change goes to an information audit; the run says "pending audit",
// never "applied", and goes on.
func TestCategoryChangePendingAudit(t *testing.T) {
	t.Parallel()
	s := newServer(t, alipaytest.WithMerchant(alipaytest.Merchant{
		Token: alipaytest.DefaultMerchantToken, AppID: alipaytest.DefaultMerchantAppID, Listed: true,
		BaseInfo: alipaytest.BaseInfo{AppName: "已上架", ServicePhone: "13110101010"},
	}))
	code, out, errs := runIt(t, gatewayEnv(t, s), "-set-category", "交通出行_物流快递")
	require.NotEqual(t, exitProblem, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, `(modify_status "AUDITING": pending audit until baseinfo.query shows it)`)
	assert.Contains(t, out, "not applied yet: the change waits for an information audit")
	assert.NotContains(t, out, "the change shows")
}

// TestCategoryChangeRefused: a refusal of the change (a listed version)
// exits 1 and says what to do.
func TestCategoryChangeRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	require.NoError(t, s.InjectFault(alipaytest.Fault{
		Method: "alipay.open.mini.baseinfo.modify", Kind: alipaytest.FaultError, Count: 1,
		SubCode: alipay.SubCodeCannotModifyCategoryWithRelationVersion, SubMsg: "已关联版本，不可修改类目",
	}))
	code, out, errs := runIt(t, gatewayEnv(t, s), "-set-category", "交通出行_物流快递")
	assert.Equal(t, exitAPIError, code, out)
	assert.Contains(t, errs, alipay.SubCodeCannotModifyCategoryWithRelationVersion)
	assert.Contains(t, errs, "change the category with the next version's audit")
}
