// Package keys derives the server's keys from its one configured secret:
// the access-token key, the sync-cursor key, the blob-URL key and the
// evidence-pack signing key, each bound to its purpose so that no two
// share a key.
package keys

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// Derive derives a purpose-bound 32-byte key from the server secret.
func Derive(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, "fieldsync "+purpose, 32)
	if err != nil {
		panic(err) // only for lengths sha256 cannot produce
	}
	return k
}
