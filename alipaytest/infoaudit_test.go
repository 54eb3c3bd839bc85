package alipaytest

import (
	"testing"

	"github.com/isvkit/alipay"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On a mini-program with a listed version, a modify goes to an information
// audit: modify_status says so, and nothing changes until it is approved.
func TestBaseInfoModifyOnAListedMiniProgram(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithMerchant(Merchant{Token: "listed", AppID: "2021004000000030", Listed: true,
		BaseInfo: BaseInfo{AppName: "上架小程序", ServicePhone: "13110101010"}}))
	modify := func(tok, cats string) *reply {
		return newCall(t, s, methodBaseInfoModify).set("app_auth_token", tok).set("mini_category_ids", cats).do(t)
	}
	r := modify("listed", "XS1011_XS2089")
	requireCode(t, r, "10000", "")
	assert.Equal(t, ModifyStatusPendingAudit, r.fields["modify_status"])
	info, _ := s.BaseInfo("listed")
	assert.Empty(t, info.MiniCategoryIDs, "not applied while under audit")
	pending, ok := s.PendingBaseInfo("2021004000000030")
	require.True(t, ok)
	assert.Equal(t, "XS1011_XS2089", pending.MiniCategoryIDs)

	requireCode(t, modify("listed", "XS1005_XS2030"), "40004", "MINI_APP_INFO_AUDIT_CONTAINS")
	require.NoError(t, s.ApproveBaseInfo("listed"))
	info, _ = s.BaseInfo("listed")
	assert.Equal(t, "XS1011_XS2089", info.MiniCategoryIDs)
	require.ErrorIs(t, s.ApproveBaseInfo("listed"), ErrNoInfoAudit)

	requireCode(t, modify("listed", "XS1005_XS2030"), "10000", "")
	require.NoError(t, s.RejectBaseInfo("2021004000000030"))
	info, _ = s.BaseInfo("listed")
	assert.Equal(t, "XS1011_XS2089", info.MiniCategoryIDs, "a rejected change is dropped")

	// An unlisted mini-program applies at once; SetListed switches.
	r = modify(DefaultMerchantToken, "XS1011_XS2089")
	requireCode(t, r, "10000", "")
	assert.NotContains(t, r.fields, "modify_status", "applied at once: no status")
	require.NoError(t, s.SetListed(DefaultMerchantAppID, true))
	r = modify(DefaultMerchantToken, "XS1005_XS2030")
	assert.Equal(t, ModifyStatusPendingAudit, r.fields["modify_status"])
	require.ErrorIs(t, s.SetListed("nobody", true), ErrUnknownMerchant)
	require.ErrorIs(t, s.RejectBaseInfo("nobody"), ErrUnknownMerchant)
}

// TestPendingAuditAgreesWithTheChange: the client's PendingAudit is true
// exactly when baseinfo.query does not show the change yet — false on a
// mini-program without a listed version (applied at once, no
// modify_status), true on a listed one until ApproveBaseInfo.
func TestPendingAuditAgreesWithTheChange(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithMerchant(Merchant{Token: "listed", AppID: "2021004000000030", Listed: true,
		BaseInfo: BaseInfo{AppName: "上架小程序", ServicePhone: "13110101010"}}))
	ctx := testCtx(t)
	for _, tc := range []struct {
		token   string
		pending bool
	}{{DefaultMerchantToken, false}, {"listed", true}} {
		m := newClient(t, s).WithAppAuthToken(tc.token)
		res, err := m.MiniBaseInfoModify(ctx, &alipay.MiniBaseInfoModifyRequest{MiniCategoryIDs: "XS1011_XS2089"})
		require.NoError(t, err)
		assert.Equal(t, tc.pending, res.PendingAudit(), tc.token)
		info, err := m.MiniBaseInfoQuery(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, !tc.pending, info.HasCategory("交通出行", "物流快递"), tc.token)
	}
	require.NoError(t, s.ApproveBaseInfo("listed"))
	info, err := newClient(t, s).WithAppAuthToken("listed").MiniBaseInfoQuery(ctx, nil)
	require.NoError(t, err)
	assert.True(t, info.HasCategory("交通出行", "物流快递"), "applied once approved")
}
