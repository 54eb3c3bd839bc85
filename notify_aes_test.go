package alipay

import (
	"encoding/base64"
	"testing"

	"github.com/isvkit/alipay/internal/aescbc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// katAESKey is the generated key of testdata/kat/aes.json.
const katAESKey = "zM+/R8elr0D6ivjOyoUBuQ=="

// TestNotificationAES: a message whose biz_content is AES-encrypted is
// verified over the ciphertext as received, then decrypted with WithAESKey;
// without the key it is delivered with the ciphertext and the typed decoder
// refuses it; a ciphertext that does not decrypt is refused at "decrypt".
func TestNotificationAES(t *testing.T) {
	key, err := base64.StdEncoding.DecodeString(katAESKey)
	require.NoError(t, err)
	params := fieldChangedParams("2024052000262171013056307524600406")
	plain := params["biz_content"]
	cipherText, err := aescbc.EncryptBase64(key, []byte(plain))
	require.NoError(t, err)
	params["biz_content"] = cipherText
	params["encrypt_type"] = "AES"
	form := signNotification(t, testNotifySigner(t), params)

	t.Run("decrypted with the key", func(t *testing.T) {
		n, err := newNotifyClient(t, WithAESKey(katAESKey)).VerifyNotification(form)
		require.NoError(t, err)
		assert.Equal(t, plain, n.BizContent)
		assert.Equal(t, cipherText, n.Params["biz_content"])
		ev, err := n.AppAPIFieldChanged()
		require.NoError(t, err)
		assert.Equal(t, AuthFieldStatusReject, ev.Status)
		assert.Equal(t, "演示视频未展示授权流程", ev.Reason)
	})
	t.Run("raw without the key", func(t *testing.T) {
		n, err := newNotifyClient(t).VerifyNotification(form)
		require.NoError(t, err)
		assert.Equal(t, cipherText, n.BizContent)
		_, err = n.AppAPIFieldChanged()
		assert.ErrorContains(t, err, "WithAESKey")
	})
	t.Run("wrong key", func(t *testing.T) {
		other := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
		_, err := newNotifyClient(t, WithAESKey(other)).VerifyNotification(form)
		var ve *VerifyError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, StepDecrypt, ve.Step)
		assert.NotContains(t, err.Error(), other)
	})
}
