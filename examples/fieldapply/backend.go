package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"

	"github.com/isvkit/alipay"
)

// maxEnvelope bounds the body of the phone-number endpoint: an envelope
// takes a few hundred bytes.
const maxEnvelope = 64 << 10

// phoneHandler is the backend endpoint a mini-program's front end posts
// the my.getPhoneNumber envelope (res.response) to. It verifies Alipay's
// signature, decrypts with that merchant's AES key (isv's AESKeySource:
// the registry) and logs the number masked, as a privacy-minded backend
// does: the number goes where it is needed (an order), never into a log.
//
// The merchant comes from the request's path here; a real backend takes
// it from the user's session, never from the envelope.
func phoneHandler(isv *alipay.Client, logger *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		miniAppID := r.PathValue("appID")
		envelope, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEnvelope))
		if err != nil {
			http.Error(w, "envelope too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		p, err := isv.PhoneNumber(r.Context(), miniAppID, envelope)
		if err != nil {
			status, answer := phoneError(err)
			logger.Printf("phone number not read (%d): %v", status, err) // errors never quote a number or a key
			http.Error(w, answer, status)
			return
		}
		if !p.HasNumber() {
			logger.Printf("verified: the user has no phone number bound")
			fmt.Fprintln(w, "no number bound")
			return
		}
		logger.Printf("verified, decrypted with the merchant's AES key from the registry: %v", p) // masked
		fmt.Fprintln(w, "ok")
	})
}

// phoneError maps an error of PhoneNumber to the endpoint's status and
// the text the front end may show.
func phoneError(err error) (status int, answer string) {
	var apiErr *alipay.APIError
	switch {
	case alipay.IsReauthorizationNeeded(err): // the merchant cancelled its authorization
		return http.StatusForbidden, "this mini-program is no longer served"
	case errors.Is(err, alipay.ErrSignature), errors.Is(err, alipay.ErrBadEnvelope):
		return http.StatusBadRequest, "refused" // forged, altered, mangled, or another merchant's
	case errors.As(err, &apiErr): // getPhoneNumber's own result is a failure
		switch apiErr.SubCode {
		case "isv.invalid-auth-relations", "aop.unknow-error": // the user's consent is missing or lapsed
			return http.StatusUnprocessableEntity, "please tap the phone-number button again"
		default: // the field is not approved, or the app's keys are not set: the ISV's to fix
			return http.StatusUnprocessableEntity, "the phone number cannot be shared now"
		}
	case errors.Is(err, alipay.ErrInvalidRequest): // an unknown mini-program, or no AES key synced for it
		return http.StatusNotFound, "unknown mini-program"
	default: // the registry is unavailable: try again later
		return http.StatusServiceUnavailable, "unavailable"
	}
}

// lockedWriter serialises the writes of the flow and of the backend's
// handlers, which share stdout.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
