package authn

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/fieldsync/fieldsync/models"
)

// Argon2id hashes passwords with argon2id and stores them in the PHC
// string format, so that parameters can be raised later without breaking
// old hashes.
type Argon2id struct {
	Time    uint32
	MemoryK uint32
	Threads uint8
}

// DefaultArgon2id is the one of OWASP's equally strong argon2id settings
// (Password Storage Cheat Sheet: 19 MiB with t=2, 12 MiB with t=3, 9 MiB
// with t=4, 7 MiB with t=5) that needs the least memory: every sign-in
// allocates it, a shift's start brings dozens at once, and Go keeps the
// freed memory until a later collection. It is also the fastest of them
// here (BenchmarkArgon2id; BENCHMARKS.md, fix 27). Hashes made with
// another setting carry it in their PHC string and verify as before.
var DefaultArgon2id = Argon2id{Time: 5, MemoryK: 7 * 1024, Threads: 1}

var _ models.PasswordHasher = DefaultArgon2id

// Hash returns the PHC string for password.
func (a Argon2id) Hash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(password), salt, a.Time, a.MemoryK, a.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, a.MemoryK, a.Time, a.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum)), nil
}

// Verify checks password against a PHC string in constant time.
func (a Argon2id) Verify(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<21 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
