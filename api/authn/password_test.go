package authn

import (
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
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

// resident is the memory the Go runtime holds from the system: all it has
// mapped less what it has given back.
func resident() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// TestHashMemoryReturned: the 19 MiB a hash allocates goes back to the
// system shortly after the hash, not at the next collection two minutes
// later. (Without the release the process holds it for the whole wait.)
func TestHashMemoryReturned(t *testing.T) {
	debug.FreeOSMemory()
	before := resident()
	if _, err := DefaultArgon2id.Hash("correct horse"); err != nil {
		t.Fatal(err)
	}
	const slack = 4 << 20 // the hash is 19 MiB
	deadline := time.Now().Add(10 * time.Second)
	for resident() > before+slack {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after a hash the process holds %.1f MiB more than before it", float64(resident()-before)/(1<<20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkVerify checks passwords from as many goroutines as there are
// cores, as a burst of sign-ins does; each hash's memory is given back
// when no other is running (hashEnded).
func BenchmarkVerify(b *testing.B) {
	h, err := DefaultArgon2id.Hash("correct horse")
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !DefaultArgon2id.Verify(h, "correct horse") {
				b.Error("the password does not verify")
			}
		}
	})
}
