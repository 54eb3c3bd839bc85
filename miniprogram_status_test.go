package alipay

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMiniBaseInfoModifyStatus: modify_status is kept raw, string or
// number, and any value is "pending audit"; its absence is not.
func TestMiniBaseInfoModifyStatus(t *testing.T) {
	t.Parallel()
	for node, want := range map[string]string{
		`{"code":"10000","msg":"Success","modify_status":"1"}`:      "1",
		`{"code":"10000","msg":"Success","modify_status":1}`:        "1",
		`{"code":"10000","msg":"Success","modify_status":"AUDIT"}`:  "AUDIT",
		`{"code":"10000","msg":"Success","modify_status":"\u5ba1"}`: "审",
		`{"code":"10000","msg":"Success","modify_status":null}`:     "",
		`{"code":"10000","msg":"Success"}`:                          "",
	} {
		c, mock := newMockClient(t)
		serveMock(t, mock, http.StatusOK, newGatewaySigner(t).body(methodMiniBaseInfoModify, node), nil)
		res, err := c.WithAppAuthToken(testToken).MiniBaseInfoModify(context.Background(),
			&MiniBaseInfoModifyRequest{MiniCategoryIDs: "XS1013_XS2071"})
		require.NoError(t, err, node)
		assert.Equal(t, want, res.ModifyStatus, node)
		assert.Equal(t, want != "", res.PendingAudit(), node)
		assert.JSONEq(t, node, string(res.Raw))
	}
}

// TestMiniBaseInfoModifyRefusedOnline: the sub_codes of a refused change
// on an online mini-program match their constants.
func TestMiniBaseInfoModifyRefusedOnline(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{SubCodeCannotModifyCategoryWithRelationVersion, SubCodeMiniAppInfoAuditContains,
		SubCodeCannotModifyNameAfterOnline} {
		c, mock := newMockClient(t)
		node := `{"code":"40004","msg":"Business Failed","sub_code":"` + sub + `","sub_msg":"x"}`
		serveMock(t, mock, http.StatusOK, newGatewaySigner(t).body(methodMiniBaseInfoModify, node), nil)
		_, err := c.WithAppAuthToken(testToken).MiniBaseInfoModify(context.Background(),
			&MiniBaseInfoModifyRequest{MiniCategoryIDs: "XS1013_XS2071"})
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, sub, ae.SubCode)
		assert.True(t, ae.Verified)
	}
}
