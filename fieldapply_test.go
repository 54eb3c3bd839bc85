package alipay

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSceneQueryValidation: both names are required and nothing is sent
// without them; a nil request is the zero request.
func TestSceneQueryValidation(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		req   *AppAPISceneQueryRequest
		field string
	}{
		"nil":           {nil, "api_name"},
		"zero":          {&AppAPISceneQueryRequest{}, "api_name"},
		"no_field_name": {&AppAPISceneQueryRequest{APIName: "getPhoneNumber"}, "field_name"},
		"no_api_name":   {&AppAPISceneQueryRequest{FieldName: "mobile"}, "api_name"},
		"blank":         {&AppAPISceneQueryRequest{APIName: " \t", FieldName: "mobile"}, "api_name"},
	} {
		t.Run(name, func(t *testing.T) {
			c, mock := newMockClient(t)
			res, err := c.WithAppAuthToken(testToken).AppAPISceneQuery(context.Background(), tc.req)
			assert.Nil(t, res)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.ErrorIs(t, err, ErrInvalidRequest)
			assert.Equal(t, tc.field, ve.Field)
			assert.Equal(t, methodAppAPISceneQuery, ve.Method)
			assert.Equal(t, 0, mock.GetTotalCallCount())
		})
	}
}

// TestAppAPIQueryFind: Find picks the field by its two names, the first
// package when one is listed twice, and says false (never panics) otherwise.
func TestAppAPIQueryFind(t *testing.T) {
	t.Parallel()
	r := &AppAPIQueryResponse{APIs: []AuthAPIDTO{
		{APIName: "alipay.user.info.share", FieldName: "mobile", PackageCode: "20201019201538211864"},
		{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444"},
		{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "2"},
	}}
	got, ok := r.Find("getPhoneNumber", "mobile")
	assert.True(t, ok)
	assert.Equal(t, AuthAPIDTO{APIName: "getPhoneNumber", FieldName: "mobile", PackageCode: "20180927110154092444"}, got)
	for _, names := range [][2]string{{"getPhoneNumber", "name"}, {"mobile", "getPhoneNumber"}, {"", ""}} {
		got, ok = r.Find(names[0], names[1])
		assert.False(t, ok, names)
		assert.Zero(t, got)
	}
	_, ok = (*AppAPIQueryResponse)(nil).Find("getPhoneNumber", "mobile")
	assert.False(t, ok)
}
