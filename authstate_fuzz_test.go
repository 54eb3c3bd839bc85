package alipay

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzStateVerify: any input is refused with ErrInvalidState or accepted
// as a state this signer issued; nothing panics.
func FuzzStateVerify(f *testing.F) {
	s, err := NewStateSigner(bytes.Repeat([]byte{5}, 32), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	good, err := s.Issue("isv-user-42")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", good, good[:len(good)-2], "00", "zz", good + "00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, state string) {
		st, err := s.Verify(state)
		if err != nil {
			if !errors.Is(err, ErrInvalidState) {
				t.Fatalf("error outside ErrInvalidState: %v", err)
			}
			return
		}
		if len(st.Data) > MaxStateData || len(st.ID) != 32 {
			t.Fatalf("accepted a state with %d bytes of data, id %q", len(st.Data), st.ID)
		}
	})
}
