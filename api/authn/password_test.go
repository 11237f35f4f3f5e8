package authn

import (
	"fmt"
	"strings"
	"testing"
)

func TestArgon2idRoundTrip(t *testing.T) {
	h, err := DefaultArgon2id.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !DefaultArgon2id.Verify(h, "correct horse") {
		t.Error("the password does not verify against its own hash")
	}
	if DefaultArgon2id.Verify(h, "correct horsf") {
		t.Error("a wrong password verifies")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", h[:len(h)-2] + "!!", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$aGFzaA"} {
		if DefaultArgon2id.Verify(bad, "correct horse") {
			t.Errorf("the malformed hash %q verifies", bad)
		}
	}
}

// owaspArgon2id are the argon2id settings OWASP's Password Storage Cheat
// Sheet lists as equally strong, trading memory for passes.
var owaspArgon2id = []Argon2id{
	{Time: 2, MemoryK: 19 * 1024, Threads: 1},
	{Time: 3, MemoryK: 12 * 1024, Threads: 1},
	{Time: 4, MemoryK: 9 * 1024, Threads: 1},
	{Time: 5, MemoryK: 7 * 1024, Threads: 1},
}

// TestHashesOfOtherSettingsVerify: a password hashed with any of OWASP's
// settings (an account created before the default changed) verifies with
// the default hasher, from the settings its hash carries, and a wrong
// password does not.
func TestHashesOfOtherSettingsVerify(t *testing.T) {
	for _, a := range owaspArgon2id {
		h, err := a.Hash("correct horse")
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("$m=%d,t=%d,p=1$", a.MemoryK, a.Time); !strings.Contains(h, want) {
			t.Errorf("%+v: hash %q does not carry %s", a, h, want)
		}
		if !DefaultArgon2id.Verify(h, "correct horse") {
			t.Errorf("%+v: the password does not verify with the default hasher", a)
		}
		if DefaultArgon2id.Verify(h, "correct horsf") {
			t.Errorf("%+v: a wrong password verifies", a)
		}
	}
}

// BenchmarkArgon2id hashes with each of OWASP's settings, side by side:
// the time and the memory a sign-in costs.
//
//	go test -run '^$' -bench Argon2id -benchmem ./api/authn/
func BenchmarkArgon2id(b *testing.B) {
	for _, a := range owaspArgon2id {
		b.Run(fmt.Sprintf("m=%dMiB,t=%d", a.MemoryK/1024, a.Time), func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Hash("correct horse"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
