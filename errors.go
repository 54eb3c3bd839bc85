package alipay

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Each typed error below unwraps to one of them, so callers
// can branch with errors.Is and read the detail with errors.As.
var (
	// ErrSignature is the class of every response or notification whose
	// signature is missing, malformed, made with another key, or whose
	// envelope is ambiguous (duplicate keys). Nothing from such a body is
	// trusted. See [VerifyError].
	ErrSignature = errors.New("alipay: signature verification failed")

	// ErrBadResponse is the class of gateway answers that are not an Alipay
	// response at all: a non-200 status, an empty or non-JSON body, or a body
	// without the expected node. See [ResponseError].
	ErrBadResponse = errors.New("alipay: unusable gateway response")

	// ErrInvalidRequest is the class of requests refused before anything is
	// sent. See [ValidationError].
	ErrInvalidRequest = errors.New("alipay: invalid request")
)

// APIError is a failure answered by the gateway: a code other than 10000, or
// a non-empty sub_code. It is returned instead of a result, never with one.
//
// Verified reports whether the body carried a valid signature. An unsigned
// error (Verified false) may have been forged or altered on the way, so check
// Verified before a destructive action such as deleting a merchant's token.
type APIError struct {
	Method   string // the Alipay method called, e.g. "alipay.open.app.api.field.apply"
	Code     string // gateway code, e.g. "40004"
	Msg      string // text for Code
	SubCode  string // business code, e.g. "AUTH_API_FIELD_IS_AUDITING"; compare exactly
	SubMsg   string // text for SubCode (Chinese); the app_auth_token is redacted from it, the gateway's "&amp;" read as "&"
	TraceID  string // the trace_id response header, when present
	Verified bool   // whether the error body's signature verified
}

// Error returns one line: alipay: <method>: <code> <msg>: <sub_code> <sub_msg> [trace_id=…] [unverified].
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("alipay: ")
	b.WriteString(e.Method)
	b.WriteString(": ")
	b.WriteString(e.Code)
	if e.Msg != "" {
		b.WriteString(" " + e.Msg)
	}
	if e.SubCode != "" || e.SubMsg != "" {
		b.WriteString(": " + e.SubCode)
		if e.SubMsg != "" {
			b.WriteString(" " + e.SubMsg)
		}
	}
	if e.TraceID != "" {
		b.WriteString(" trace_id=" + e.TraceID)
	}
	if !e.Verified {
		b.WriteString(" [unverified]")
	}
	return b.String()
}

// VerifyError reports a response or notification that failed verification.
// It unwraps to [ErrSignature].
type VerifyError struct {
	Method string     // the Alipay method, or the notification's msg_method
	Step   VerifyStep // the check that failed: one of the Step… constants
	// Content is the string whose signature was checked (at most 512 bytes,
	// with any app_auth_token redacted and any "sign" value elided), so a failure can be diagnosed
	// against what Alipay signed. Empty when no content was reached.
	Content string
	// CertSN is the alipay_cert_sn named by the response, in certificate mode.
	CertSN string
}

// Error describes the failed step and, when there is one, the content checked.
func (e *VerifyError) Error() string {
	msg := "alipay: " + e.Method + ": verification failed at " + string(e.Step)
	if e.CertSN != "" {
		msg += " (alipay_cert_sn " + e.CertSN + ")"
	}
	if e.Content != "" {
		msg += fmt.Sprintf("; content checked: %q", e.Content)
	}
	return msg
}

// Unwrap returns [ErrSignature].
func (e *VerifyError) Unwrap() error { return ErrSignature }

// ResponseError reports a gateway answer that is not a usable Alipay
// response. It unwraps to [ErrBadResponse].
type ResponseError struct {
	Method     string
	StatusCode int            // HTTP status
	Reason     ResponseReason // why the answer is unusable: one of the Reason… constants
	// Body is at most 512 bytes of the body, with the app_auth_token
	// redacted and the value of every "sign" elided.
	Body    string
	TraceID string

	detail string // what went wrong beyond Reason (the JSON decoder's error); may be ""
}

// Error describes the status, the reason and a bounded snippet of the body.
func (e *ResponseError) Error() string {
	reason := string(e.Reason)
	if e.detail != "" {
		reason += ": " + e.detail
	}
	msg := fmt.Sprintf("alipay: %s: unusable response (HTTP %d, %s)", e.Method, e.StatusCode, reason)
	if e.TraceID != "" {
		msg += " trace_id=" + e.TraceID
	}
	if e.Body != "" {
		msg += fmt.Sprintf(": %q", e.Body)
	}
	return msg
}

// Unwrap returns [ErrBadResponse].
func (e *ResponseError) Unwrap() error { return ErrBadResponse }

// VerifyStep names the check at which a response, a notification or an
// open-data envelope failed verification ([VerifyError.Step]). The checks
// and their order are described in docs/wire.md#verification (responses)
// and at [Client.VerifyNotification] (notifications). New steps may be added;
// treat an unknown one as a verification failure like any other.
type VerifyStep string

// The verification steps. Nothing from a body that fails one is trusted.
const (
	// StepDuplicateNode: a response names its node (or error_response) twice.
	StepDuplicateNode VerifyStep = "duplicate_node"
	// StepDuplicateKey: a response or an open-data envelope repeats a
	// top-level key such as sign.
	StepDuplicateKey VerifyStep = "duplicate_key"
	// StepEncryptedWithoutKey: the node is a ciphertext but the client has
	// no AES key.
	StepEncryptedWithoutKey VerifyStep = "encrypted_without_key"
	// StepMissingSign: sign is absent or empty (on a response, where the
	// answer is not a plain failure; see docs/wire.md#verification).
	StepMissingSign VerifyStep = "missing_sign"
	// StepMalformedSign: sign is not a string of strict standard Base64 (a
	// '+' that became a space on the way is refused, not repaired).
	StepMalformedSign VerifyStep = "malformed_sign"
	// StepBadSignature: the signature does not verify under Alipay's key.
	StepBadSignature VerifyStep = "bad_signature"
	// StepMissingCertSN: in certificate mode, a response without
	// alipay_cert_sn.
	StepMissingCertSN VerifyStep = "missing_cert_sn"
	// StepUnknownCertSN: in certificate mode, a response signed by a
	// certificate that is not configured and was not (or could not be)
	// downloaded; see [WithCertRotation].
	StepUnknownCertSN VerifyStep = "unknown_cert_sn"
	// StepCertNotTrusted: a downloaded Alipay certificate failed a trust
	// check (docs/wire.md#rotation).
	StepCertNotTrusted VerifyStep = "cert_not_trusted"
	// StepCertExpired: a downloaded Alipay certificate is not valid now.
	StepCertExpired VerifyStep = "cert_expired"
	// StepDecrypt: the verified ciphertext does not decrypt with the AES
	// key (the wrong key, or a damaged ciphertext).
	StepDecrypt VerifyStep = "decrypt"
	// StepSignTypeMismatch: sign_type is present and not RSA2; the
	// algorithm comes from the configuration, never from the message.
	StepSignTypeMismatch VerifyStep = "sign_type_mismatch"

	// The steps below are those of notifications only.

	// StepDuplicateParam: a notification parameter appears more than once.
	StepDuplicateParam VerifyStep = "duplicate_param"
	// StepAppIDMismatch: a notification addressed to an app this gateway
	// does not accept (see [WithNotifyAppIDs]).
	StepAppIDMismatch VerifyStep = "app_id_mismatch"
	// StepMissingField: notify_id, msg_method or utc_timestamp (for the
	// authorization notify: notify_id or notify_time) is absent or empty.
	StepMissingField VerifyStep = "missing_field"
	// StepAmbiguousField: the signed content could be read as other
	// parameters (docs/wire.md#notifications).
	StepAmbiguousField VerifyStep = "ambiguous_field"
	// StepBadNotifyID: notify_id is not 1 to 64 ASCII letters and digits.
	StepBadNotifyID VerifyStep = "bad_notify_id"
	// StepUnsupportedVersion: the authorization notify's version is neither
	// empty nor "1.0".
	StepUnsupportedVersion VerifyStep = "unsupported_version"
	// StepBadTimestamp: utc_timestamp is not 13 digits of Unix
	// milliseconds, or notify_time is not "yyyy-MM-dd HH:mm:ss".
	StepBadTimestamp VerifyStep = "bad_timestamp"
	// StepStaleTimestamp: the notification lies outside the replay window
	// of [WithNotifyMaxAge], or more than 5 minutes ahead of the clock.
	StepStaleTimestamp VerifyStep = "stale_timestamp"
)

// ResponseReason says why a gateway answer is not a usable Alipay response
// ([ResponseError.Reason]). New reasons may be added.
type ResponseReason string

// The reasons of a [ResponseError].
const (
	// ReasonRedirect: a 3xx status; redirects are never followed.
	ReasonRedirect ResponseReason = "redirect"
	// ReasonHTTPStatus: a status other than 200 and 3xx.
	ReasonHTTPStatus ResponseReason = "http_status"
	// ReasonBodyTooLarge: the body exceeds 10 MiB.
	ReasonBodyTooLarge ResponseReason = "body_too_large"
	// ReasonEmptyBody: the body is empty or only whitespace.
	ReasonEmptyBody ResponseReason = "empty_body"
	// ReasonInvalidJSON: the body is not JSON (a proxy's HTML page).
	ReasonInvalidJSON ResponseReason = "invalid_json"
	// ReasonRootNotObject: the body is JSON but not an object.
	ReasonRootNotObject ResponseReason = "root_not_object"
	// ReasonTrailingData: something other than whitespace follows the object.
	ReasonTrailingData ResponseReason = "trailing_data"
	// ReasonMissingNode: neither the method's node nor error_response.
	ReasonMissingNode ResponseReason = "missing_node"
	// ReasonNodeNotObject: the node is neither an object nor, with an AES
	// key, a ciphertext string.
	ReasonNodeNotObject ResponseReason = "node_not_object"
	// ReasonSuccessInErrorResponse: a signed error_response claiming code
	// 10000; only the method's own node can carry a success.
	ReasonSuccessInErrorResponse ResponseReason = "success_in_error_response"
	// ReasonDecode: the verified node does not decode into the response
	// type; the error's text quotes the decoder.
	ReasonDecode ResponseReason = "decode"
	// ReasonMissingToken: a verified token exchange, refresh or query
	// success without the token it must carry.
	ReasonMissingToken ResponseReason = "missing_token"
	// ReasonMissingAESKey: a verified aes.set success without the key.
	ReasonMissingAESKey ResponseReason = "missing_aes_key"
	// ReasonNotEncrypted: a verified success in plain text from a call
	// whose answer must be encrypted (aes.set, aes.get).
	ReasonNotEncrypted ResponseReason = "not_encrypted"
	// ReasonRepeatedPage: a page of a listing repeats the previous one, so
	// paging would never end.
	ReasonRepeatedPage ResponseReason = "repeated_page"
)

// ValidationError reports a request refused before anything was sent, or a
// file that broke its size limit while streaming (the gateway then never
// receives a complete request). It unwraps to [ErrInvalidRequest].
type ValidationError struct {
	Method  string // the Alipay method
	Field   string // the offending field, e.g. "auth_field_apply.scene_code" or "picture_2"
	Problem string // what is wrong
}

// Error names the method, the field and the problem.
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "alipay: " + e.Method + ": " + e.Problem
	}
	return "alipay: " + e.Method + ": " + e.Field + ": " + e.Problem
}

// Unwrap returns [ErrInvalidRequest].
func (e *ValidationError) Unwrap() error { return ErrInvalidRequest }

// errorClass is one row of the table behind the Is… predicates: an error
// matches when its code is in codes or its sub_code is in subCodes.
type errorClass struct {
	codes    []string
	subCodes []string
}

var (
	classTokenInvalid = errorClass{subCodes: []string{
		"aop.invalid-app-auth-token", "aop.app-auth-token-time-out", "aop.invalid-app-auth-token-no-api",
		"aop.invalid-auth-token", "aop.auth-token-time-out",
	}}
	classPermission = errorClass{codes: []string{"40006"}, subCodes: []string{
		"isv.insufficient-isv-permissions", "aop.invalid-app-auth-token-no-api", "NO_PERMISSION", "USER_ID_NO_PERMISSION",
	}}
	classRateLimited = errorClass{codes: []string{"40005"}, subCodes: []string{"OP_FREQUENCY_LIMIT", "aop.ACQ.FREQUENCY_LIMIT"}}
	classTemporary   = errorClass{codes: []string{"20000"}}
)

func (k errorClass) match(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range k.codes {
		if e.Code == c {
			return true
		}
	}
	for _, s := range k.subCodes {
		if e.SubCode == s {
			return true
		}
	}
	return false
}

// IsAppAuthTokenInvalid reports whether err is an [APIError] saying the
// app_auth_token is invalid, expired, or not authorised for the API
// (code 20001, aop.*-auth-token sub_codes): ask the merchant to authorise
// again. It matches unverified errors too; check [APIError.Verified] before
// deleting a token.
func IsAppAuthTokenInvalid(err error) bool { return classTokenInvalid.match(err) }

// IsPermissionDenied reports whether err is an [APIError] for a missing
// permission or product (code 40006, or a NO_PERMISSION-like sub_code).
func IsPermissionDenied(err error) bool { return classPermission.match(err) }

// IsRateLimited reports whether err is an [APIError] for too many calls
// (code 40005 or a frequency-limit sub_code): back off before retrying.
func IsRateLimited(err error) bool { return classRateLimited.match(err) }

// IsTemporary reports whether err is an [APIError] with code 20000 (service
// currently unavailable): the call may succeed later. Retry only calls that
// are safe to repeat; field.apply and baseinfo.modify are not. [IsTransient]
// is the complete rule (lost connections, 5xx, rate limits) that the
// client's own retries follow.
func IsTemporary(err error) bool { return classTemporary.match(err) }
