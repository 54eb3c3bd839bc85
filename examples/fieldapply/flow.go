package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/isvkit/alipay"
)

// flow is one run of the steps for one merchant.
type flow struct {
	st  *settings
	m   *alipay.Client // acts for the merchant
	out io.Writer

	// off is the embedded world of an offline run (nil against a
	// gateway): the steps before and after the six of the field flow.
	off *offline
}

// notified is a verified field.changed message, as the handler passes it on.
type notified struct {
	notifyID string
	rec      alipay.AuthFieldDTO
}

func (f *flow) printf(format string, args ...any) {
	fmt.Fprintf(f.out, format, args...)
}

// run performs the steps in order and stops at the first error. Offline,
// step 0 (the merchant authorises the ISV) gives the client, and steps 7
// and 8 use the approved field.
func (f *flow) run(ctx context.Context) error {
	if f.off != nil {
		if err := f.off.authorize(ctx, f); err != nil {
			return err
		}
	}
	if err := f.checkCategory(ctx); err != nil {
		return err
	}
	api, err := f.chooseField(ctx)
	if err != nil {
		return err
	}
	scene, err := f.chooseScene(ctx, api)
	if err != nil {
		return err
	}
	if err := f.apply(ctx, api, scene); err != nil {
		return err
	}
	if err := f.notification(ctx, api); err != nil {
		return err
	}
	final, err := f.confirm(ctx, api)
	if err != nil {
		return err
	}
	if final == nil {
		f.printf("done: %s/%s has no record yet\n", api.APIName, api.FieldName)
		return nil
	}
	if f.off != nil && final.Status == alipay.AuthFieldStatusAgree {
		if err := f.off.useField(ctx, f); err != nil {
			return err
		}
	}
	f.printf("done: %s/%s is %s\n", api.APIName, api.FieldName, describe(final))
	return nil
}

// checkCategory is step 1: the mini-program needs a category that fits the
// field's usage; set it when it is missing.
func (f *flow) checkCategory(ctx context.Context) error {
	info, err := f.m.MiniBaseInfoQuery(ctx, nil)
	if err != nil {
		return err
	}
	f.printf("1. baseinfo.query: %q, categories: %s\n", info.AppName, categoryList(info))
	want := "any category"
	if f.st.category != "" {
		want = "category " + f.st.category
	}
	if f.hasCategory(info) {
		f.printf("   %s: present\n", want)
		return nil
	}
	if f.st.setCategory == "" {
		return &stopError{code: exitProblem, msg: want + " is missing: pass -set-category IDS to set it with baseinfo.modify"}
	}
	ids, err := f.findCategories(ctx, f.st.setCategory)
	if err != nil {
		return err
	}
	res, err := f.m.MiniBaseInfoModify(ctx, &alipay.MiniBaseInfoModifyRequest{MiniCategoryIDs: ids})
	if err != nil {
		return modifyHint(err)
	}
	// A modify_status never means "applied": a listed mini-program's change
	// waits for an information audit. baseinfo.query tells.
	result := "no modify_status: baseinfo.query tells"
	if res.PendingAudit() {
		result = fmt.Sprintf("modify_status %q: pending audit until baseinfo.query shows it", res.ModifyStatus)
	}
	f.printf("   %s: missing, so baseinfo.modify mini_category_ids=%s (%s)\n", want, ids, result)
	if info, err = f.m.MiniBaseInfoQuery(ctx, nil); err != nil {
		return err
	}
	if !f.hasCategory(info) {
		f.printf("   baseinfo.query: categories: %s; not applied yet: the change waits for an information audit\n", categoryList(info))
		return nil
	}
	f.printf("   baseinfo.query: categories: %s (the change shows)\n", categoryList(info))
	return nil
}

func (f *flow) hasCategory(info *alipay.MiniBaseInfoQueryResponse) bool {
	if f.st.category == "" {
		return len(info.Categories()) > 0
	}
	return info.HasCategory(strings.Split(f.st.category, "_")...)
}

func categoryList(info *alipay.MiniBaseInfoQueryResponse) string {
	var names []string
	for _, levels := range info.Categories() {
		names = append(names, strings.Join(levels, "_"))
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// chooseField is step 2: list what may be applied for; take -api/-field, or
// the first applicable field.
func (f *flow) chooseField(ctx context.Context) (alipay.AuthAPIDTO, error) {
	res, err := f.m.AppAPIQuery(ctx, nil)
	if err != nil {
		return alipay.AuthAPIDTO{}, err
	}
	f.printf("2. api.query: %s\n", count(len(res.APIs), "applicable field"))
	for _, a := range res.APIs {
		f.printf("   %s/%s (package %s)\n", a.APIName, a.FieldName, a.PackageCode)
	}
	if len(res.APIs) == 0 {
		return alipay.AuthAPIDTO{}, &stopError{code: exitAPIError, msg: "api.query: the mini-program may apply for no field"}
	}
	chosen, how := res.APIs[0], fmt.Sprintf("%s/%s is not applicable, so the first", f.st.api, f.st.field)
	if a, ok := res.Find(f.st.api, f.st.field); ok {
		chosen, how = a, "asked for"
	}
	f.printf("   chose %s/%s (%s)\n", chosen.APIName, chosen.FieldName, how)
	return chosen, nil
}

// chooseScene is step 3: list the field's usage scenes; take -scene, or the
// first listed.
func (f *flow) chooseScene(ctx context.Context, api alipay.AuthAPIDTO) (string, error) {
	res, err := f.m.AppAPISceneQuery(ctx, &alipay.AppAPISceneQueryRequest{APIName: api.APIName, FieldName: api.FieldName})
	if err != nil {
		return "", err
	}
	f.printf("3. scene.query %s/%s: %s\n", api.APIName, api.FieldName, count(len(res.AuthFieldScene), "scene"))
	for _, s := range res.AuthFieldScene {
		f.printf("   %s %s\n", s.SceneCode, s.SceneDesc)
	}
	if len(res.AuthFieldScene) == 0 {
		return "", &stopError{code: exitAPIError, msg: "scene.query: the field has no usage scene"}
	}
	if f.st.scene == "" {
		s := res.AuthFieldScene[0]
		f.printf("   chose scene %s (%s, the first)\n", s.SceneCode, s.SceneDesc)
		return s.SceneCode, nil
	}
	for _, s := range res.AuthFieldScene {
		if s.SceneCode == f.st.scene {
			f.printf("   chose scene %s (%s, asked for)\n", s.SceneCode, s.SceneDesc)
			return s.SceneCode, nil
		}
	}
	return "", &stopError{code: exitProblem, msg: fmt.Sprintf("-scene %s is not a scene of %s/%s", f.st.scene, api.APIName, api.FieldName)}
}

// apply is step 4: file the application with the demo material, once. An
// application already under audit or approved counts as submitted.
func (f *flow) apply(ctx context.Context, api alipay.AuthAPIDTO, scene string) error {
	req := &alipay.AppAPIFieldApplyRequest{AuthFieldApply: alipay.AuthFieldApply{
		APIName: api.APIName, FieldName: api.FieldName, PackageCode: api.PackageCode, SceneCode: scene,
		QPSAnswer: f.st.qps, CustomerAnswer: f.st.customer, Memo: f.st.memo,
	}}
	var parts []string
	if f.off != nil {
		req.Pictures = append(req.Pictures, alipay.FileFromBytes("login.png", f.off.picture))
		parts = append(parts, fmt.Sprintf("picture_1 login.png (generated PNG, %d bytes)", len(f.off.picture)))
	}
	for _, p := range f.st.pictures {
		if len(req.Pictures) == 5 {
			break
		}
		req.Pictures = append(req.Pictures, alipay.FileFromPath(p))
		parts = append(parts, fmt.Sprintf("picture_%d %s", len(req.Pictures), filepath.Base(p)))
	}
	if f.st.video != "" {
		v := alipay.FileFromPath(f.st.video)
		req.Video = &v
		parts = append(parts, "video "+filepath.Base(f.st.video))
	}
	f.printf("4. field.apply %s/%s, scene %s: %s\n", api.APIName, api.FieldName, scene, strings.Join(parts, ", "))
	// ApplyFieldOnce asks field.query first, and again when the answer to
	// the application is lost: an application is never filed twice.
	res, err := f.m.ApplyFieldOnce(ctx, req)
	if err != nil {
		return err
	}
	switch {
	case res.Outcome == alipay.ApplyFieldSubmitted:
		f.printf("   submitted, now under audit (trace_id %s)\n", res.Response.TraceID)
	case res.Outcome == alipay.ApplyFieldConfirmed:
		f.printf("   the answer was lost; field.query shows the application (%s): filed once\n", describe(res.Record))
	case res.Record != nil:
		f.printf("   already applied for: field.query shows %s; nothing sent\n", describe(res.Record))
	default:
		f.printf("   already submitted (field.apply says so)\n")
	}
	return nil
}

// notification is step 5. Offline the loopback app gateway receives the
// field.changed message, which wakes WaitFieldAudit; against a real
// gateway it goes to the app gateway configured in the console.
func (f *flow) notification(ctx context.Context, api alipay.AuthAPIDTO) error {
	if f.off == nil {
		f.printf("5. field.changed: Alipay posts it to the app gateway (应用网关) set in the console, not to this program (see examples/notify)\n")
		return nil
	}
	return f.off.awaitAudit(ctx, f, api)
}

// confirm is step 6: query the status, after waiting up to -wait against a
// real gateway, and return the record that tells the application's state
// (nil when there is none).
func (f *flow) confirm(ctx context.Context, api alipay.AuthAPIDTO) (*alipay.AuthFieldDTO, error) {
	if f.off == nil && f.st.wait > 0 {
		f.printf("   waiting up to %v for the audit (field.query every %v, then less often)\n", f.st.wait, f.st.interval)
		wctx, cancel := context.WithTimeout(ctx, f.st.wait)
		rec, err := f.m.WaitFieldAudit(wctx, &alipay.WaitFieldAuditRequest{
			APIName: api.APIName, FieldName: api.FieldName, PackageCode: api.PackageCode,
			Interval: f.st.interval, MaxInterval: max(f.st.interval, 10*time.Minute),
		})
		cancel()
		switch {
		case err == nil:
			f.printf("   audit ended: %s\n", describe(rec))
		case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			f.printf("   still under audit after %v\n", f.st.wait)
		default:
			return nil, err
		}
	}
	res, err := f.m.AppAPIFieldQuery(ctx, nil)
	if err != nil {
		return nil, err
	}
	recs := res.Records(api.APIName, api.FieldName, api.PackageCode)
	f.printf("6. field.query: %s of %s/%s (package %s)\n", count(len(recs), "record"), api.APIName, api.FieldName, api.PackageCode)
	for i := range recs {
		f.printf("   %s: %s\n", recs[i].UserAppID, describe(&recs[i]))
	}
	return current(recs), nil
}

// current picks the record that tells the application's state: an
// approval, else one under audit, else the last listed.
func current(recs []alipay.AuthFieldDTO) *alipay.AuthFieldDTO {
	var pick *alipay.AuthFieldDTO
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Status == alipay.AuthFieldStatusAgree:
			return r
		case pick == nil || pick.Status != alipay.AuthFieldStatusAudit:
			pick = r
		}
	}
	return pick
}

// describe renders a record's status, with the reason of a rejection.
func describe(r *alipay.AuthFieldDTO) string {
	s := string(r.Status)
	switch r.Status {
	case alipay.AuthFieldStatusAudit:
		s += " (under audit)"
	case alipay.AuthFieldStatusAgree:
		s += " (approved)"
	case alipay.AuthFieldStatusReject:
		s += " (rejected: " + r.Reason + ")"
	case alipay.AuthFieldStatusInvalid:
		s += " (invalid)"
	default:
		s += " (" + r.StatusRaw + ")"
	}
	return s
}

// count renders "1 scene", "2 scenes".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
