package alipay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// MerchantState is where a merchant's authorization of the ISV stands.
type MerchantState string

// States of a [Merchant].
const (
	// MerchantAuthorized: the stored token is believed to work.
	MerchantAuthorized MerchantState = "authorized"
	// MerchantCancelled: the merchant withdrew the authorization
	// (alipay.open.auth.appauth.cancelled). Only a new authorization helps.
	MerchantCancelled MerchantState = "cancelled"
	// MerchantNeedsReauthorization: the gateway refused the stored token
	// (code 20001) or its refresh token. Only a new authorization helps.
	MerchantNeedsReauthorization MerchantState = "needs_reauthorization"
)

// Valid reports whether s is one of the three states.
func (s MerchantState) Valid() bool {
	return s == MerchantAuthorized || s == MerchantCancelled || s == MerchantNeedsReauthorization
}

// MaxMerchantHistory is how many events a [Merchant] keeps; older ones are
// dropped first.
const MaxMerchantHistory = 32

// MerchantEvent is one change of a merchant's authorization: a new token
// (by authorization or refresh) or a change of state. It holds no secret.
type MerchantEvent struct {
	At     time.Time
	State  MerchantState // the state after the event
	Reason string        // e.g. "redirect", "notify", "refresh", "aop.invalid-app-auth-token on …"
}

// RefreshLease is the claim of the process refreshing a merchant's token
// (see [Client.RefreshMerchant]); zero when no refresh runs. It lives in
// the record so that every replica sharing the store sees it.
type RefreshLease struct {
	Owner string    // random id of the refreshing process
	Until time.Time // after this instant the claim is void (its owner died)
}

// Merchant is what the ISV keeps about one merchant app (keyed by its app
// id, auth_app_id). Tokens and keys are [Secret]s: a Merchant prints,
// logs and marshals without them. Cancelling keeps the record, and
// History says what happened.
type Merchant struct {
	// AppID is the merchant app id (auth_app_id), the key of the record.
	AppID string
	// UserID is the merchant's Alipay user id (2088…).
	UserID string
	// AppAuthToken is the token calls for this merchant carry.
	AppAuthToken Secret
	// RefreshToken is the app_refresh_token of the last exchange or refresh.
	RefreshToken Secret
	// AuthorizedAt is when the merchant last authorised the ISV.
	AuthorizedAt time.Time
	// RefreshedAt is when the token was last refreshed (zero: never).
	RefreshedAt time.Time
	// AuthCodeDigest identifies the app_auth_code of the last authorization
	// (a SHA-256, never the code), so that a redirect whose code the
	// notify already spent is recognised.
	AuthCodeDigest string
	// State is the authorization's state; Reason and StateSince say why
	// and since when (Reason is empty while authorized).
	State      MerchantState
	Reason     string
	StateSince time.Time
	// History lists the last MaxMerchantHistory events, oldest first.
	History []MerchantEvent
	// AESKey is the merchant app's content-encryption key (Base64 as
	// Alipay gives it); PrevAESKey is the one it replaced, still accepted
	// while Alipay switches over.
	AESKey     Secret
	PrevAESKey Secret
	// Refresh is the claim of a refresh in progress.
	Refresh RefreshLease
	// Version is the store's version of the record, for compare-and-swap:
	// 0 for a record not stored yet. See [MerchantStore.Put].
	Version int64
}

// Clone returns a deep copy of m (Secrets are immutable and shared).
func (m *Merchant) Clone() *Merchant {
	if m == nil {
		return nil
	}
	cp := *m
	cp.History = append([]MerchantEvent(nil), m.History...)
	return &cp
}

// LogValue logs the app id, the state and the token's fingerprint.
func (m *Merchant) LogValue() slog.Value {
	if m == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("app_id", m.AppID), slog.String("state", string(m.State)),
		slog.String("token", m.AppAuthToken.Fingerprint()), slog.Int64("version", m.Version))
}

// Validate reports what makes m unfit to store: an app id that is empty,
// longer than 64 bytes or not made of letters, digits, '.', '_' and '-';
// an unknown state; an authorized record without a token; a negative
// version. Stores call it in Put.
func (m *Merchant) Validate() error {
	if m == nil {
		return errors.New("alipay: nil merchant")
	}
	if err := checkMerchantID(m.AppID); err != nil {
		return err
	}
	switch {
	case !m.State.Valid():
		return fmt.Errorf("alipay: merchant %s: invalid state %q", m.AppID, m.State)
	case m.State == MerchantAuthorized && m.AppAuthToken.IsZero():
		return fmt.Errorf("alipay: merchant %s: authorized without a token", m.AppID)
	case m.Version < 0:
		return fmt.Errorf("alipay: merchant %s: negative version", m.AppID)
	}
	return nil
}

// checkMerchantID checks an app id used as a store key.
func checkMerchantID(id string) error {
	switch {
	case id == "" || len(id) > 64:
		return fmt.Errorf("alipay: merchant app id must be 1 to 64 bytes (got %d)", len(id))
	case !safeToken(id, 64):
		return fmt.Errorf("alipay: merchant app id %q: only letters, digits, '.', '_' and '-' are allowed", id)
	}
	return nil
}

// setState moves m to state for reason at, and records the event.
func (m *Merchant) setState(state MerchantState, reason string, at time.Time) {
	m.State, m.StateSince = state, at
	m.Reason = reason
	if state == MerchantAuthorized {
		m.Reason = ""
	}
	m.addEvent(MerchantEvent{At: at, State: state, Reason: reason})
}

// addEvent appends e to the history, dropping the oldest events past
// MaxMerchantHistory.
func (m *Merchant) addEvent(e MerchantEvent) {
	m.History = append(m.History, e)
	if n := len(m.History) - MaxMerchantHistory; n > 0 {
		m.History = append([]MerchantEvent(nil), m.History[n:]...)
	}
}

// Errors of a [MerchantStore].
var (
	// ErrMerchantNotFound: no record for that app id. The SDK's own
	// errors wrapping it name the app id once ("alipay: ForMerchant:
	// merchant 2021… is not in the registry"), whatever the store said.
	ErrMerchantNotFound = errors.New("alipay: merchant not found")
	// ErrVersionConflict: the record changed since it was read (Put's
	// compare-and-swap failed); read it again and retry.
	ErrVersionConflict = errors.New("alipay: merchant record changed since it was read")
)

// storeCallTimeout bounds each store operation the SDK makes on its own
// initiative (a MerchantStore or DedupeStore call, the app id function of
// WithNotifyAppIDFunc), and the work a client does after a call, detached
// from the call's ctx (marking a merchant).
const storeCallTimeout = 10 * time.Second

// MerchantStore keeps the [Merchant] records of the ISV, keyed by merchant
// app id. Implementations must be safe for concurrent use and, when several
// processes share them, make Put atomic across all of them: the refresh
// lease and every state change rely on its compare-and-swap. Tokens and
// keys should be protected at rest (redisstore seals them with AES-GCM).
// The package merchanttest checks an implementation against this contract.
type MerchantStore interface {
	// Get returns a copy of the record of appID, or an error wrapping
	// ErrMerchantNotFound.
	Get(ctx context.Context, appID string) (*Merchant, error)
	// Put writes m if the stored record's version equals m.Version (0: no
	// record may exist), as one atomic step; the stored version is then
	// m.Version+1, and Put sets m.Version to it. Otherwise it writes
	// nothing and returns an error wrapping ErrVersionConflict. m must
	// pass Validate. Times may come back in UTC, without monotonic clock.
	Put(ctx context.Context, m *Merchant) error
	// AppIDsByAuthCode returns the app ids of records whose
	// AuthCodeDigest is digest, for records written in the last 24 hours
	// at least (the life of an app_auth_code); it may return ids whose
	// record changed since, and returns none (and no error) when nothing
	// matches. Callers Get each id and check it.
	AppIDsByAuthCode(ctx context.Context, digest string) ([]string, error)
}

// authCodeDigest is the AuthCodeDigest of an app_auth_code: hex SHA-256
// under a fixed label, so the code itself is never stored.
func authCodeDigest(code string) string {
	if code == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("isvkit/alipay app_auth_code\x00" + code))
	return hex.EncodeToString(sum[:])
}

// MerchantStateError is the refusal of a merchant whose authorization is
// cancelled or needs renewing: [Client.ForMerchant] and
// [Client.RefreshMerchant] return it, and [IsReauthorizationNeeded] is
// true for it.
type MerchantStateError struct {
	AppID  string
	State  MerchantState
	Reason string // why, as recorded (an event or a sub_code)
	Since  time.Time
}

// Error names the merchant, its state (in words: "is cancelled", "needs
// re-authorization") and the reason.
func (e *MerchantStateError) Error() string {
	msg := "alipay: merchant " + e.AppID + " is " + string(e.State)
	if e.State == MerchantNeedsReauthorization {
		msg = "alipay: merchant " + e.AppID + " needs re-authorization"
	}
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg + ": the merchant must authorise the ISV again"
}

// classTokenDead are the sub_codes that say the token itself no longer
// works (code 20001). aop.invalid-app-auth-token-no-api is not among them:
// that token works for other methods.
var classTokenDead = errorClass{subCodes: []string{
	"aop.invalid-app-auth-token", "aop.app-auth-token-time-out", "aop.invalid-auth-token", "aop.auth-token-time-out",
}}

// IsReauthorizationNeeded reports whether err says that the merchant's
// token no longer works: a [*MerchantStateError] (the store records the
// merchant as cancelled or needing re-authorization), or an [*APIError]
// whose sub_code says the token is invalid or expired (code 20001). After
// such an APIError from a client of [Client.ForMerchant], the merchant is
// already marked in the store, unless another replica stored a newer
// token meanwhile: call ForMerchant again, and it either gives a working
// client or refuses with a *MerchantStateError.
func IsReauthorizationNeeded(err error) bool {
	var se *MerchantStateError
	if errors.As(err, &se) {
		return se.State == MerchantCancelled || se.State == MerchantNeedsReauthorization
	}
	return classTokenDead.match(err)
}

// notFoundError is a merchant the registry does not hold, named once: op
// (the SDK call, or "" for a store) and the app id. It unwraps to
// ErrMerchantNotFound.
type notFoundError struct{ op, appID string }

func (e *notFoundError) Error() string {
	id := e.appID
	if checkMerchantID(id) != nil {
		id = strconv.Quote(id) // not an app id: quoted, as given
	}
	if e.op == "" {
		return "alipay: merchant " + id + " is not in the registry"
	}
	return "alipay: " + e.op + ": merchant " + id + " is not in the registry"
}

func (e *notFoundError) Unwrap() error { return ErrMerchantNotFound }

// registryError reports err, from the store's Get of appID, as the error
// of op: an unknown merchant as a notFoundError (the store's own text adds
// nothing), any other error wrapped, naming appID unless the store's text
// does already.
func registryError(op, appID string, err error) error {
	if errors.Is(err, ErrMerchantNotFound) {
		return &notFoundError{op: op, appID: appID}
	}
	if strings.Contains(err.Error(), appID) {
		return fmt.Errorf("alipay: %s: %w", op, err)
	}
	return fmt.Errorf("alipay: %s %s: %w", op, appID, err)
}
