package alipaytest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A soak test must not grow the server's logs without end.
func TestLogsAreBounded(t *testing.T) {
	t.Parallel()
	var s *Server
	rc := newReceiver(t, &s, func(int) (int, string) { return http.StatusOK, "success" })
	s = newTestServer(t, WithLogLimit(3), WithNotifyURL(rc.URL))
	for _, m := range []string{methodAPIQuery, methodAPIQuery, methodFieldQuery, methodBaseInfoQuery, methodSceneQuery} {
		newCall(t, s, m).do(t)
	}
	recs := s.Requests()
	require.Len(t, recs, 3)
	assert.Equal(t, []string{methodFieldQuery, methodBaseInfoQuery, methodSceneQuery},
		[]string{recs[0].Method, recs[1].Method, recs[2].Method}, "the last ones")
	assert.Equal(t, 5, s.RequestCount(""), "counts are not bounded")
	assert.Equal(t, 2, s.RequestCount(methodAPIQuery))

	for i := 0; i < 5; i++ {
		_, err := s.Authorize("2021004000000010")
		require.NoError(t, err)
		rc.next(t)
	}
	waitIdle(t, s)
	assert.Len(t, s.Notifications(), 3)
	require.NoError(t, s.Redeliver(), "the last message is kept for redelivery")
	rc.next(t)
	_, err := NewServer(WithLogLimit(0))
	assert.Error(t, err)
}
