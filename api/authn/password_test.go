package authn

import "testing"

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
