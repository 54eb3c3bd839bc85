package alipay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzKeys feeds arbitrary bytes to every loader of key material: the
// private and public key parsers behind WithPrivateKey… and
// WithAlipayPublicKey…, and the certificate loaders of certificate mode.
// Nothing may panic, a loader returns a key or an error (never both,
// never neither), and no error text may hold a 16-character window of a
// Base64 run of the input: an error about a private key must never quote
// the key. Windows that are words of our own error texts (collected from
// fixed inputs before fuzzing, e.g. "SubjectPublicKeyInfo") are allowed.
//
//	go test -run '^$' -fuzz '^FuzzKeys$' -fuzztime 10m .
func FuzzKeys(f *testing.F) {
	for _, dir := range []string{"keys", "certs"} {
		entries, err := os.ReadDir(filepath.Join("testdata", dir))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			f.Add(readTestdata(f, filepath.Join(dir, e.Name())))
		}
	}
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("MIIB"))
	f.Add([]byte{0x30, 0x82, 0x01, 0x0a})
	vocabulary := keyErrorVocabulary()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, msg := range loadAllKeys(t, data) {
			if w := base64Window(data, msg, vocabulary); w != "" {
				t.Fatalf("error %q quotes the input's Base64 %q", msg, w)
			}
		}
	})
}

// loadAllKeys runs every loader on data and returns the error texts. It
// fails t on a loader that returns both a key and an error, or neither.
func loadAllKeys(t *testing.T, data []byte) []string {
	var msgs []string
	check := func(name string, ok bool, err error) {
		if ok == (err != nil) {
			t.Fatalf("%s: key=%v err=%v", name, ok, err)
		}
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	priv, err := parsePrivateKey("src", data)
	check("parsePrivateKey", priv != nil, err)
	pub, err := parsePublicKey("src", data)
	check("parsePublicKey", pub != nil, err)
	leaf, err := loadLeafCert("src", data)
	check("loadLeafCert", leaf != nil, err)
	root, err := loadRootBundle("src", data)
	check("loadRootBundle", root != nil, err)
	if root != nil && (root.sn == "" || root.roots == nil) {
		t.Fatalf("root bundle without SN or pool")
	}
	return msgs
}

// keyErrorVocabulary returns the error texts of the loaders on fixed inputs
// that reach each of their error paths: the words of these texts are ours,
// not the input's.
func keyErrorVocabulary() string {
	var b strings.Builder
	inputs := []string{"", "x", "-----BEGIN X-----\n-----END X-----\n", "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
		"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA==\n-----END ENCRYPTED PRIVATE KEY-----\n", "AA==", "\x30\x00"}
	for _, in := range inputs {
		for _, load := range []func([]byte) error{
			func(d []byte) error { _, err := parsePrivateKey("src", d); return err },
			func(d []byte) error { _, err := parsePublicKey("src", d); return err },
			func(d []byte) error { _, err := loadLeafCert("src", d); return err },
			func(d []byte) error { _, err := loadRootBundle("src", d); return err },
		} {
			if err := load([]byte(in)); err != nil {
				b.WriteString(err.Error() + "\n")
			}
		}
	}
	return b.String() + "SubjectPublicKeyInfo certificate CERTIFICATE PRIVATE KEY"
}

// isBase64Char reports whether c belongs to the standard Base64 alphabet.
func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

// base64Window returns a 16-byte window of a Base64 run of data (outside
// PEM armour lines) that msg contains and vocabulary does not, or "".
func base64Window(data []byte, msg, vocabulary string) string {
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "-----") {
			continue // armour: the block type is not key material
		}
		for i := 0; i < len(line); {
			j := i
			for j < len(line) && isBase64Char(line[j]) {
				j++
			}
			for k := i; k+16 <= j; k++ {
				if w := line[k : k+16]; strings.Contains(msg, w) && !strings.Contains(vocabulary, w) {
					return w
				}
			}
			i = j + 1
		}
	}
	return ""
}
