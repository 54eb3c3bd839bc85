package alipay

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Sizes of a state.
const (
	// MinStateKeySize is the shortest key NewStateSigner accepts.
	MinStateKeySize = 32
	// MaxStateData is the most data a state carries.
	MaxStateData = 200

	stateVersion  = 1
	stateNonceLen = 16
	stateMACLen   = sha256.Size
	stateHeadLen  = 1 + 8 + stateNonceLen + 1 // version, expiry, nonce, data length
	stateLabel    = "isvkit/alipay authorization state v1\x00"
)

// ErrInvalidState is the class of every refused state: missing, malformed,
// forged, expired or used already.
var ErrInvalidState = errors.New("alipay: invalid authorization state")

// stateError is a refused state: the redirect's reason, and the check that
// failed in words. It unwraps to ErrInvalidState.
type stateError struct {
	reason RedirectReason
	text   string
}

func (e *stateError) Error() string { return ErrInvalidState.Error() + ": " + e.text }

func (e *stateError) Unwrap() error { return ErrInvalidState }

// StateSigner issues the state parameter of the ISV's authorization links
// and checks it when the merchant's browser comes back to the redirect URL:
// an HMAC-SHA256 under the ISV's key over an expiry, a random nonce (the
// state's single-use id) and the ISV's data. The state is lowercase hex
// whose length is a multiple of 4, so it is also valid Base64 (Alipay asks
// for Base64) and needs no URL escaping. It is safe for concurrent use.
//
// The link is the invitation of alipay.open.auth.appauth.invite.create,
// the way Alipay documents to carry the ISV's own state: call
// [Client.AuthAppAuthInviteCreate] with State set to what Issue returned
// and RedirectURL to the URL served by [Client.AuthRedirectHandler], and
// send the merchant to the answer's TaskPageURL. Once the merchant has
// authorised, Alipay sends the browser to RedirectURL with the query
// parameters app_auth_code (the one-time code to exchange), app_id (the
// ISV's app) and state (as given), which the handler checks with Verify.
type StateSigner struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewStateSigner returns a signer with key (at least MinStateKeySize
// random bytes, shared by every replica; copied) whose states expire after
// ttl (1 minute to 7 days; an authorization link is used within minutes,
// but one sent by e-mail may wait).
func NewStateSigner(key []byte, ttl time.Duration) (*StateSigner, error) {
	if len(key) < MinStateKeySize {
		return nil, fmt.Errorf("alipay: NewStateSigner: key has %d bytes, need at least %d", len(key), MinStateKeySize)
	}
	if ttl < time.Minute || ttl > 7*24*time.Hour {
		return nil, fmt.Errorf("alipay: NewStateSigner: ttl %v is outside 1m..168h", ttl)
	}
	return &StateSigner{key: append([]byte(nil), key...), ttl: ttl, now: time.Now}, nil
}

// State is what a valid state carries.
type State struct {
	// ID is the state's random nonce in hex: the key that makes it
	// single-use.
	ID string
	// Data is what the ISV gave Issue (its user or session id, a merchant
	// it invited): signed, not encrypted, so never a secret.
	Data string
	// Expires is when the state stops being accepted.
	Expires time.Time
}

// Issue returns a new state carrying data (at most MaxStateData bytes),
// valid until the signer's ttl passes. Pass it as the State of
// [Client.AuthAppAuthInviteCreate]: the invitation's page is the
// authorization link, and the state comes back to the redirect URL.
func (s *StateSigner) Issue(data string) (string, error) {
	if len(data) > MaxStateData {
		return "", fmt.Errorf("alipay: StateSigner.Issue: data has %d bytes, at most %d", len(data), MaxStateData)
	}
	msg := make([]byte, stateHeadLen, stateHeadLen+len(data)+1+stateMACLen)
	msg[0] = stateVersion
	binary.BigEndian.PutUint64(msg[1:9], uint64(s.now().Add(s.ttl).Unix()))
	if _, err := rand.Read(msg[9 : 9+stateNonceLen]); err != nil {
		return "", fmt.Errorf("alipay: StateSigner.Issue: %w", err)
	}
	msg[stateHeadLen-1] = byte(len(data))
	msg = append(msg, data...)
	if (len(msg)+stateMACLen)%2 == 1 {
		msg = append(msg, 0) // hex of an even byte count has a length divisible by 4
	}
	return hex.EncodeToString(append(msg, s.mac(msg)...)), nil
}

// mac is the HMAC of a state's bytes before the MAC.
func (s *StateSigner) mac(msg []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(stateLabel))
	h.Write(msg)
	return h.Sum(nil)
}

// Verify checks state's MAC and expiry and returns what it carries. Every
// refusal wraps ErrInvalidState and says which check failed, never the
// state itself. It does not make the state single-use: the redirect
// handler does, with a DedupeStore.
func (s *StateSigner) Verify(state string) (*State, error) {
	if state == "" {
		return nil, &stateError{reason: RedirectStateMissing, text: "missing"}
	}
	if len(state) > 2*(stateHeadLen+MaxStateData+1+stateMACLen) {
		return nil, &stateError{reason: RedirectStateInvalid, text: "too long"}
	}
	raw, err := hex.DecodeString(state)
	if err != nil || len(raw) < stateHeadLen+stateMACLen {
		return nil, &stateError{reason: RedirectStateInvalid, text: "malformed"}
	}
	msg, sum := raw[:len(raw)-stateMACLen], raw[len(raw)-stateMACLen:]
	if !hmac.Equal(sum, s.mac(msg)) {
		return nil, &stateError{reason: RedirectStateInvalid, text: "not issued with this key"}
	}
	n := int(msg[stateHeadLen-1])
	pad := len(msg) - stateHeadLen - n
	if msg[0] != stateVersion || (pad != 0 && pad != 1) || (pad == 1 && msg[len(msg)-1] != 0) {
		return nil, &stateError{reason: RedirectStateInvalid, text: "malformed"}
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(msg[1:9])), 0)
	if !s.now().Before(expires) {
		return nil, &stateError{reason: RedirectStateExpired, text: "expired"}
	}
	return &State{
		ID:      hex.EncodeToString(msg[9 : 9+stateNonceLen]),
		Data:    string(msg[stateHeadLen : stateHeadLen+n]),
		Expires: expires,
	}, nil
}
