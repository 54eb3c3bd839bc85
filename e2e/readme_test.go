package e2e

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/isvkit/alipay"
	"github.com/isvkit/alipay/alipaytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestApplyForPhone is the README's alipaytest snippet, as written there
// (TestREADMESnippet keeps the two equal).
func TestApplyForPhone(t *testing.T) {
	ctx := context.Background()
	gw, err := alipaytest.NewServer(alipaytest.WithTB(t)) // closed when the test ends
	require.NoError(t, err)
	isv, err := gw.NewClient() // its gateway URL and the package's PUBLIC TEST keys
	require.NoError(t, err)

	// Your app gateway: built from the client first, then its URL given to the fake.
	changed := make(chan *alipay.AppAPIFieldChanged, 1)
	h, err := isv.NewNotifyHandler(alipay.NotifyRoutes{
		AppAPIFieldChanged: func(_ context.Context, _ *alipay.Notification, ev *alipay.AppAPIFieldChanged) error {
			changed <- ev
			return nil
		},
	})
	require.NoError(t, err)
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)
	require.NoError(t, gw.SetNotifyURL(app.URL))

	m := isv.WithAppAuthToken(alipaytest.DefaultMerchantToken)
	_, err = m.AppAPIFieldApply(ctx, &alipay.AppAPIFieldApplyRequest{ // your code under test
		AuthFieldApply: alipay.AuthFieldApply{APIName: "getPhoneNumber", FieldName: "mobile",
			PackageCode: "20180927110154092444", SceneCode: "14", QPSAnswer: "峰值 10 QPS", CustomerAnswer: "自有客服热线"},
		Pictures: []alipay.File{alipay.FileFromBytes("login.png", []byte("\x89PNG\r\n\x1a\n(demo)"))},
	})
	require.NoError(t, err)
	apps := gw.Applications(alipaytest.DefaultMerchantToken) // what the gateway received
	require.Equal(t, "14", apps[0].SceneCode)
	require.NoError(t, gw.Approve(alipaytest.DefaultMerchantToken, "getPhoneNumber", "mobile", apps[0].PackageCode))
	require.Equal(t, alipay.AuthFieldStatusAgree, (<-changed).Status) // the signed field.changed arrived

	require.NoError(t, gw.InjectFault(alipaytest.Fault{Kind: alipaytest.FaultTamperSignature, Count: 1}))
	_, err = m.AppAPIFieldQuery(ctx, nil)
	require.ErrorIs(t, err, alipay.ErrSignature) // a tampered answer never passes
}

// TestREADMESnippet: the README's "Testing your backend with alipaytest"
// snippet is TestApplyForPhone, line for line, so it compiles and runs as
// written.
func TestREADMESnippet(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Testing your backend with alipaytest\n")
	require.True(t, ok, "the README has the section")
	_, block, ok := strings.Cut(section, "```go\n")
	require.True(t, ok, "the section has a Go block")
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	src, err := os.ReadFile("readme_test.go")
	require.NoError(t, err)
	assert.Contains(t, string(src), block, "README snippet and TestApplyForPhone differ")
	assert.True(t, strings.HasPrefix(block, "func TestApplyForPhone(t *testing.T) {\n"), block)
}
