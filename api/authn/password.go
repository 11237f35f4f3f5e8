package authn

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

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

// DefaultArgon2id follows OWASP's minimum recommendation (19 MiB, t=2).
var DefaultArgon2id = Argon2id{Time: 2, MemoryK: 19 * 1024, Threads: 1}

var _ models.PasswordHasher = DefaultArgon2id

// Hash returns the PHC string for password.
func (a Argon2id) Hash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := idKey([]byte(password), salt, a.Time, a.MemoryK, a.Threads, 32)
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
	got := idKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// hashes counts the Argon2id hashes running. Each one allocates its
// memory (19 MiB with DefaultArgon2id), the largest allocation the server
// makes, and leaves it as garbage that Go keeps until a later collection,
// which an idle server makes only every two minutes: after two sign-ins
// the server held about 38 MB more than it used (BENCHMARKS.md, fix 17).
// So the memory is given back to the system as soon as the last hash
// running has ended, once for a burst of overlapping sign-ins, off the
// request's path, as the photo decoder does with its pixels
// (storage/media).
var hashes struct {
	mu        sync.Mutex
	running   int
	releasing bool
}

// idKey is argon2.IDKey, counted in hashes.
func idKey(password, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	hashes.mu.Lock()
	hashes.running++
	hashes.mu.Unlock()
	defer hashEnded()
	return argon2.IDKey(password, salt, t, m, p, n)
}

func hashEnded() {
	hashes.mu.Lock()
	defer hashes.mu.Unlock()
	hashes.running--
	if hashes.running == 0 && !hashes.releasing {
		hashes.releasing = true
		go releaseHashMemory()
	}
}

// releaseHashMemory collects the hashes' garbage and returns the memory;
// a hash that ends while it runs starts no second release (the next
// hash's end will).
func releaseHashMemory() {
	debug.FreeOSMemory()
	hashes.mu.Lock()
	hashes.releasing = false
	hashes.mu.Unlock()
}
