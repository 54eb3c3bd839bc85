package alipay

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileOptions are every option that reads a key or certificate file.
var fileOptions = map[string]func(string) Option{
	"WithPrivateKeyFile": WithPrivateKeyFile, "WithAlipayPublicKeyFile": WithAlipayPublicKeyFile,
	"WithAppCertFile": WithAppCertFile, "WithAlipayCertFile": WithAlipayCertFile,
	"WithAlipayRootCertFile": WithAlipayRootCertFile,
}

// fileOptionError applies the option name reading path and returns its error.
func fileOptionError(name, path string) error {
	var cfg config
	return fileOptions[name](path)(&cfg)
}

// TestKeyFileHugeFileRefused: a path naming a huge file (a log, a disk
// image, a sparse file) is refused by its size, not read into memory.
func TestKeyFileHugeFileRefused(t *testing.T) {
	huge := filepath.Join(t.TempDir(), "huge.pem")
	f, err := os.Create(huge)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(64<<20)) // sparse: takes no disk
	require.NoError(t, f.Close())
	limit := filepath.Join(t.TempDir(), "limit.pem")
	require.NoError(t, os.WriteFile(limit, make([]byte, maxKeyFile), 0o600))
	for name := range fileOptions {
		err := fileOptionError(name, huge)
		require.Error(t, err, name)
		assert.Equal(t, "alipay: "+name+": "+huge+" is larger than 1 MiB: not a key or certificate file", err.Error())
		err = fileOptionError(name, limit)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), "larger than", "1 MiB is read (and refused as content)")
	}
}

// TestKeyFileDirectoryRefused: a directory is named as such.
func TestKeyFileDirectoryRefused(t *testing.T) {
	for name := range fileOptions {
		assert.EqualError(t, fileOptionError(name, "testdata"),
			"alipay: "+name+": testdata is a directory, not a regular file: give the path of a key or certificate file")
	}
}

// TestKeyFileSymlinkFollowed: a link to a regular file is read (secrets
// mounted by Kubernetes are links).
func TestKeyFileSymlinkFollowed(t *testing.T) {
	target, err := filepath.Abs("testdata/keys/app_private_pkcs8.pem")
	require.NoError(t, err)
	link := filepath.Join(t.TempDir(), "key.pem")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	data, err := readKeyFile("WithPrivateKeyFile", link)
	require.NoError(t, err)
	assert.Equal(t, readTestdata(t, "keys/app_private_pkcs8.pem"), data)
}
