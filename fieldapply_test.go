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
