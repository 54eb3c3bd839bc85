package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/isvkit/alipay"
)

// Offline bounds: the fake gateway answers in milliseconds, so these are
// only safety nets for a loaded machine.
const (
	offlineWait = 30 * time.Second // for a notification, a redirect, the audit
	offlinePoll = 5 * time.Second  // WaitFieldAudit's first pause: the notification comes first
)

// simulatedMobile is the number the simulated mini-program user shares.
const simulatedMobile = "13800000000"

// authorize is step 0, offline: the merchant authorises the ISV, and the
// ISV's backend ends with the token in its registry, from both of the
// ways Alipay delivers it (the authorization notify and the redirect of
// the merchant's browser, whose code is exchanged); the same token twice
// is one record. The client of the following steps comes from the
// registry.
func (o *offline) authorize(ctx context.Context, f *flow) error {
	ctx, cancel := context.WithTimeout(ctx, offlineWait)
	defer cancel()
	state, err := o.states.Issue("isv-account-42") // the ISV's own account starting the link
	if err != nil {
		return err
	}
	code, err := o.gw.Authorize(o.merchant)
	if err != nil {
		return err
	}
	f.printf("0. the merchant authorizes ISV app %s for mini-program %s (alipaytest Authorize)\n", o.isv.AppID(), o.merchant)
	f.printf("   Alipay posts the authorization notify, and sends the merchant's browser to %s with app_auth_code and the link's state\n",
		o.baseURL+redirectPath)
	select {
	case id := <-o.authNotified:
		f.printf("   authorization notify received at %s: token of %s stored in the registry\n", o.baseURL+notifyPath, id)
	case <-ctx.Done():
		return fmt.Errorf("no authorization notify received: %w", ctx.Err())
	}
	a, err := o.redirect(ctx, code, state)
	if err != nil {
		return err
	}
	for _, m := range a.Merchants {
		how := "code exchanged with auth.token.app"
		if a.AlreadyStored {
			how = "code already spent; the notify's record counts"
		}
		f.printf("   redirect: state checked, %s: %s %s\n", how, m.AppID, m.State)
	}
	f.printf("   registry: %d merchant (the notify and the redirect brought the same token: one record)\n", o.store.Len())
	if f.m, err = o.isv.ForMerchant(ctx, o.store, o.merchant); err != nil {
		return err
	}
	f.printf("   ForMerchant(%s): the client of the next steps, with the token from the registry\n", o.merchant)
	return nil
}

// redirect plays the merchant's browser arriving at the redirect URL.
func (o *offline) redirect(ctx context.Context, code, state string) (*alipay.AuthRedirect, error) {
	q := url.Values{"app_id": {o.isv.AppID()}, "app_auth_code": {code}, "state": {state}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.baseURL+redirectPath+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("redirect: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<10))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("redirect: HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(body)))
	}
	select {
	case a := <-o.redirected:
		return a, nil
	default:
		return nil, errors.New("redirect: answered without storing the authorization")
	}
}

// awaitAudit is step 5, offline: WaitFieldAudit follows the audit, woken by
// the field.changed notification the backend receives.
func (o *offline) awaitAudit(ctx context.Context, f *flow, api alipay.AuthAPIDTO) error {
	ctx, cancel := context.WithTimeout(ctx, offlineWait)
	defer cancel()
	updates, stop := o.hub.Subscribe(o.merchant) // a message sent before this: the first poll sees its record
	defer stop()
	rec, err := f.m.WaitFieldAudit(ctx, &alipay.WaitFieldAuditRequest{
		APIName: api.APIName, FieldName: api.FieldName, PackageCode: api.PackageCode,
		UserAppID: o.merchant, Interval: offlinePoll, Updates: updates,
	})
	if err != nil {
		return err
	}
	for { // the notification, for the printout (the wait may have ended on its poll)
		select {
		case n := <-o.events:
			if !n.rec.Matches(api.APIName, api.FieldName, api.PackageCode) {
				continue
			}
			f.printf("5. field.changed received at %s: notify_id %s, %s/%s of %s: %s\n",
				o.baseURL+notifyPath, n.notifyID, n.rec.APIName, n.rec.FieldName, n.rec.UserAppID, describe(&n.rec))
			f.printf("   WaitFieldAudit: %s\n", describe(rec))
			return nil
		case <-ctx.Done():
			return fmt.Errorf("no field.changed notification received: %w", ctx.Err())
		}
	}
}

// useField is steps 7 and 8, offline, once the field is approved: the
// merchant's AES key goes into the registry, then a user of the
// mini-program shares a phone number and the backend decrypts it.
func (o *offline) useField(ctx context.Context, f *flow) error {
	rec, err := o.isv.SyncMerchantAESKey(ctx, o.store, o.merchant, true)
	if err != nil {
		return err
	}
	f.printf("7. SyncMerchantAESKey: aes.get (aes.set when the mini-program has none); the registry holds the AES key of %s: %v\n", o.merchant, rec.AESKey)
	envelope, err := o.gw.PhoneNumberEnvelope(o.merchant, simulatedMobile)
	if err != nil {
		return err
	}
	endpoint := o.baseURL + strings.Replace(strings.TrimPrefix(phonePattern, "POST "), "{appID}", o.merchant, 1)
	f.printf("8. a user of %s shares a phone number (my.getPhoneNumber): the front end posts the signed, encrypted envelope (%d bytes) to %s\n",
		o.merchant, len(envelope), endpoint)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(envelope))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("phone endpoint: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<10))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("phone endpoint: HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
