package alipay

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAppAPIFieldChanged decodes the field.changed payload, keeps an
// unknown status raw, and refuses every other shape of biz_content.
func TestAppAPIFieldChanged(t *testing.T) {
	t.Parallel()
	n := &Notification{NotifyID: "n1", MsgMethod: MsgMethodAppAPIFieldChanged, Charset: "utf-8",
		BizContent: fieldChangedParams("x")["biz_content"]}
	ev, err := n.AppAPIFieldChanged()
	require.NoError(t, err)
	assert.Equal(t, AppAPIFieldChanged{AuthFieldDTO{
		UserAppID: "2021004000000002", APIName: "getPhoneNumber", FieldName: "mobile",
		PackageCode: "20180927110154092444", Status: AuthFieldStatusReject, StatusRaw: "reject",
		Reason: "演示视频未展示授权流程",
	}}, *ev)

	var none *Notification
	_, err = none.AppAPIFieldChanged()
	require.Error(t, err)

	unknown := *n
	unknown.BizContent = `{"status":"Pending"}`
	ev, err = unknown.AppAPIFieldChanged()
	require.NoError(t, err)
	assert.Equal(t, AuthFieldStatusUnknown, ev.Status)
	assert.Equal(t, "Pending", ev.StatusRaw)

	bad := map[string]func(*Notification){
		"other method": func(n *Notification) { n.MsgMethod = "alipay.open.mini.version.audit.passed" },
		"array":        func(n *Notification) { n.BizContent = `[` + n.BizContent + `]` },
		"string":       func(n *Notification) { n.BizContent = `"x"` },
		"number":       func(n *Notification) { n.BizContent = `1` },
		"empty":        func(n *Notification) { n.BizContent = `` },
		"two objects":  func(n *Notification) { n.BizContent = `{}{}` },
		"truncated":    func(n *Notification) { n.BizContent = n.BizContent[:20] },
		"wrong type":   func(n *Notification) { n.BizContent = `{"status":1}` },
		"encrypted":    func(n *Notification) { n.EncryptType = "AES"; n.BizContent = "c2VjcmV0" },
		"gbk":          func(n *Notification) { n.Charset = "GBK" },
	}
	for name, edit := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := *n
			edit(&m)
			ev, err := m.AppAPIFieldChanged()
			require.Error(t, err)
			assert.Nil(t, ev)
			assert.True(t, strings.HasPrefix(err.Error(), "alipay: notification n1: "), err.Error())
		})
	}
}
