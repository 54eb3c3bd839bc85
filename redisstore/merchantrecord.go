package redisstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/isvkit/alipay"
)

// recordFormat is the version of the record's JSON layout.
const recordFormat = 1

// record is the stored form of an alipay.Merchant: its secrets revealed
// (the whole record is then sealed), its times in UTC.
type record struct {
	Format         int           `json:"format"`
	AppID          string        `json:"app_id"`
	UserID         string        `json:"user_id,omitempty"`
	AppAuthToken   string        `json:"app_auth_token,omitempty"`
	RefreshToken   string        `json:"refresh_token,omitempty"`
	AuthorizedAt   time.Time     `json:"authorized_at"`
	RefreshedAt    time.Time     `json:"refreshed_at"`
	AuthCodeDigest string        `json:"auth_code_digest,omitempty"`
	State          string        `json:"state"`
	Reason         string        `json:"reason,omitempty"`
	StateSince     time.Time     `json:"state_since"`
	History        []eventRecord `json:"history,omitempty"`
	AESKey         string        `json:"aes_key,omitempty"`
	PrevAESKey     string        `json:"prev_aes_key,omitempty"`
	RefreshOwner   string        `json:"refresh_owner,omitempty"`
	RefreshUntil   time.Time     `json:"refresh_until"`
	Version        int64         `json:"version"`
}

// eventRecord is the stored form of an alipay.MerchantEvent.
type eventRecord struct {
	At     time.Time `json:"at"`
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
}

// utc returns t in UTC, or the zero time.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// encodeRecord returns the JSON of m stored as version.
func encodeRecord(m *alipay.Merchant, version int64) ([]byte, error) {
	r := record{
		Format: recordFormat, AppID: m.AppID, UserID: m.UserID,
		AppAuthToken: m.AppAuthToken.Reveal(), RefreshToken: m.RefreshToken.Reveal(),
		AuthorizedAt: utc(m.AuthorizedAt), RefreshedAt: utc(m.RefreshedAt), AuthCodeDigest: m.AuthCodeDigest,
		State: string(m.State), Reason: m.Reason, StateSince: utc(m.StateSince),
		AESKey: m.AESKey.Reveal(), PrevAESKey: m.PrevAESKey.Reveal(),
		RefreshOwner: m.Refresh.Owner, RefreshUntil: utc(m.Refresh.Until), Version: version,
	}
	for _, e := range m.History {
		r.History = append(r.History, eventRecord{At: utc(e.At), State: string(e.State), Reason: e.Reason})
	}
	return json.Marshal(r)
}

// decodeRecord parses a record of appID stored as version.
func decodeRecord(appID string, version int64, data []byte) (*alipay.Merchant, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, errors.New("redisstore: the merchant record is not valid JSON")
	}
	switch {
	case r.Format != recordFormat:
		return nil, fmt.Errorf("redisstore: merchant record format %d, this version reads %d", r.Format, recordFormat)
	case r.AppID != appID:
		return nil, fmt.Errorf("redisstore: the record under %q belongs to %q", appID, r.AppID)
	case r.Version != version:
		return nil, fmt.Errorf("redisstore: merchant %s: the record says version %d, its key %d (altered)", appID, r.Version, version)
	}
	m := &alipay.Merchant{
		AppID: r.AppID, UserID: r.UserID,
		AppAuthToken: alipay.NewSecret(r.AppAuthToken), RefreshToken: alipay.NewSecret(r.RefreshToken),
		AuthorizedAt: utc(r.AuthorizedAt), RefreshedAt: utc(r.RefreshedAt), AuthCodeDigest: r.AuthCodeDigest,
		State: alipay.MerchantState(r.State), Reason: r.Reason, StateSince: utc(r.StateSince),
		AESKey: alipay.NewSecret(r.AESKey), PrevAESKey: alipay.NewSecret(r.PrevAESKey),
		Refresh: alipay.RefreshLease{Owner: r.RefreshOwner, Until: utc(r.RefreshUntil)},
		Version: r.Version,
	}
	for _, e := range r.History {
		m.History = append(m.History, alipay.MerchantEvent{At: utc(e.At), State: alipay.MerchantState(e.State), Reason: e.Reason})
	}
	return m, nil
}
