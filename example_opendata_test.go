package alipay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/isvkit/alipay"
)

// The open-data examples run offline: what Alipay would sign and encrypt is
// made here with the public test keys of testdata/ (never use them in
// production).

const (
	merchantAppID  = "2021004000000002"         // the merchant mini-program
	merchantAESKey = "JoRCASgqO5kV1lfdb5FpzQ==" // its AES key (AuthAppAESGet)
)

// A backend endpoint that receives the envelope my.getPhoneNumber gave the
// mini-program, verifies and decrypts it with that merchant's key, and
// answers with the number masked, as a privacy-minded backend would.
func ExampleClient_PhoneNumber() {
	keys, err := alipay.StaticAESKeys(map[string]string{merchantAppID: merchantAESKey}) // or your registry
	if err != nil {
		log.Fatal(err)
	}
	isv, err := alipay.NewClient("2021000000000001",
		alipay.WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"),
		alipay.WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem"),
		alipay.WithAESKeySource(keys))
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /phone", func(w http.ResponseWriter, r *http.Request) {
		envelope, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		// The app id comes from your session or route, not from the envelope.
		p, err := isv.PhoneNumber(r.Context(), r.Header.Get("X-Mini-App-Id"), envelope)
		var apiErr *alipay.APIError
		switch {
		case errors.Is(err, alipay.ErrSignature), errors.Is(err, alipay.ErrBadEnvelope):
			http.Error(w, "refused", http.StatusBadRequest) // forged, altered or mangled
		case errors.As(err, &apiErr):
			http.Error(w, "ask again: "+apiErr.SubCode, http.StatusConflict) // e.g. isv.invalid-auth-relations
		case err != nil:
			http.Error(w, "unavailable", http.StatusInternalServerError) // configuration, key store
		case !p.HasNumber():
			fmt.Fprintln(w, "no number bound")
		default:
			fmt.Fprintln(w, "verified", p) // prints masked; p.Mobile is the number
		}
	})

	// A mini-program user shares a number, then someone replays it altered.
	envelope := shareOpenData(`{"code":"10000","msg":"Success","mobile":"13800000000"}`)
	for _, body := range [][]byte{envelope, bytes.Replace(envelope, []byte(`"response":"`), []byte(`"response":"A`), 1)} {
		req := httptest.NewRequest(http.MethodPost, "/phone", bytes.NewReader(body))
		req.Header.Set("X-Mini-App-Id", merchantAppID)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 verified 138****0000
	// 400 refused
}

// DecryptOpenData returns the verified plaintext of any open-data JSAPI;
// a result other than 10000 is an *APIError with its sub-code.
func ExampleClient_DecryptOpenData() {
	keys, err := alipay.StaticAESKeys(map[string]string{merchantAppID: merchantAESKey})
	if err != nil {
		log.Fatal(err)
	}
	isv, err := alipay.NewClient("2021000000000001",
		alipay.WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"),
		alipay.WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem"),
		alipay.WithAESKeySource(keys))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	plain, err := isv.DecryptOpenData(ctx, merchantAppID, shareOpenData(`{"code":"10000","msg":"Success","count":2}`))
	fmt.Println(string(plain), err)

	_, err = isv.DecryptOpenData(ctx, merchantAppID,
		shareOpenData(`{"code":"40003","msg":"Insufficient Conditions","subCode":"isv.invalid-auth-relations","subMsg":"无效的授权关系"}`))
	var apiErr *alipay.APIError
	fmt.Println(errors.As(err, &apiErr), apiErr.SubCode)

	_, err = isv.DecryptOpenData(ctx, "2021004000000003", shareOpenData(`{"code":"10000"}`))
	fmt.Println(err)
	// Output:
	// {"code":"10000","msg":"Success","count":2} <nil>
	// true isv.invalid-auth-relations
	// alipay: DecryptOpenData: merchant_app_id: no AES key for merchant app 2021004000000003
}

// shareOpenData plays Alipay's part: it encrypts plaintext with the
// merchant's AES key (AES-CBC, zero IV, PKCS#7) and signs the quoted
// ciphertext with the test Alipay key (SHA256withRSA), giving the envelope
// the mini-program posts to its backend.
func shareOpenData(plaintext string) []byte {
	key, _ := base64.StdEncoding.DecodeString(merchantAESKey)
	block, err := aes.NewCipher(key)
	if err != nil {
		log.Fatal(err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := []byte(plaintext + strings.Repeat(string(rune(pad)), pad))
	cipher.NewCBCEncrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(buf, buf)
	ct := base64.StdEncoding.EncodeToString(buf)
	return []byte(`{"response":"` + ct + `","sign":"` + alipaySign(`"`+ct+`"`) + `","sign_type":"RSA2","encrypt_type":"AES","charset":"UTF-8"}`)
}

// alipaySign signs content with the test Alipay private key.
func alipaySign(content string) string {
	data, err := os.ReadFile("testdata/keys/alipay_test_private_pkcs8.pem")
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(data)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	digest := sha256.Sum256([]byte(content))
	sig, err := rsa.SignPKCS1v15(nil, key.(*rsa.PrivateKey), crypto.SHA256, digest[:])
	if err != nil {
		log.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}
