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
		var apiErr *alipay.APIError
		switch {
		case errors.Is(err, alipay.ErrSignature), errors.Is(err, alipay.ErrBadEnvelope):
			logger.Printf("envelope refused: %v", err) // errors never quote a number or a key
			http.Error(w, "refused", http.StatusBadRequest)
		case errors.As(err, &apiErr):
			logger.Printf("my.getPhoneNumber failed: %s %s", apiErr.SubCode, apiErr.SubMsg)
			http.Error(w, apiErr.SubCode, http.StatusConflict) // e.g. isv.invalid-auth-relations: ask again
		case err != nil:
			logger.Printf("not decrypted: %v", err) // no key, the registry unavailable
			http.Error(w, "unavailable", http.StatusInternalServerError)
		case !p.HasNumber():
			logger.Printf("verified: the user has no phone number bound")
			fmt.Fprintln(w, "no number bound")
		default:
			logger.Printf("verified, decrypted with the merchant's AES key from the registry: %v", p) // masked
			fmt.Fprintln(w, "ok")
		}
	})
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
