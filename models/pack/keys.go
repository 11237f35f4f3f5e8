package pack

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fieldsync/fieldsync/models/keys"
)

// KeyPurpose is the purpose the signing key's seed is derived from the
// server secret under (keys.Derive(secret, KeyPurpose)), so that the
// pack key shares nothing with the token, cursor and URL keys.
const KeyPurpose = "evidence-pack"

// Algorithm names the signature scheme in manifest.sig.
const Algorithm = "Ed25519"

// PublicKey is a key that verifies packs, with its id.
type PublicKey struct {
	ID        string            `json:"key_id"`
	Algorithm string            `json:"algorithm"`
	Key       ed25519.PublicKey `json:"public_key"`
}

// NewPublicKey names k by its id.
func NewPublicKey(k ed25519.PublicKey) PublicKey {
	return PublicKey{ID: KeyID(k), Algorithm: Algorithm, Key: k}
}

// ParsePublicKey reads a public key in standard base64, as
// GET /v1/evidence-pack/keys lists it.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key: %d bytes, an Ed25519 key has %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// KeyID is the short name of a public key: the first 16 hex digits of its
// SHA-256. It only tells keys apart; trust comes from the key itself.
func KeyID(k ed25519.PublicKey) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:8])
}

// Signer signs manifests with the server's key.
type Signer struct {
	priv ed25519.PrivateKey
	pub  PublicKey
}

// NewSigner makes the signer whose key grows from seed (32 bytes, derived
// from the server secret), so that every server process sharing the
// secret signs with the same key and nothing else needs storing.
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("pack: a signing seed has %d bytes, not %d", ed25519.SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Signer{priv: priv, pub: NewPublicKey(priv.Public().(ed25519.PublicKey))}, nil
}

// Public is the signer's public key.
func (s *Signer) Public() PublicKey { return s.pub }

// signature is manifest.sig.
type signature struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id"`
	Signature []byte `json:"signature"`
}

// sign makes manifest.sig for the exact bytes of manifest.json.
func (s *Signer) sign(manifest []byte) ([]byte, error) {
	b, err := json.MarshalIndent(signature{Algorithm: Algorithm, KeyID: s.pub.ID, Signature: ed25519.Sign(s.priv, manifest)}, "", "  ")
	return append(b, '\n'), err
}

// Keys are a server's pack keys: the one it signs with, and the public
// keys of those it signed with before a secret rotation, which still
// verify the packs made then.
type Keys struct {
	Signer   *Signer
	Previous []PublicKey
}

// Public lists the public keys, the current one first.
func (k Keys) Public() []PublicKey {
	var out []PublicKey
	if k.Signer != nil {
		out = append(out, k.Signer.Public())
	}
	return append(out, k.Previous...)
}

// Trusted lists the keys a verifier of this server's packs trusts.
func (k Keys) Trusted() []ed25519.PublicKey {
	var out []ed25519.PublicKey
	for _, p := range k.Public() {
		out = append(out, p.Key)
	}
	return out
}

// KeysFor derives the pack signing key from the server secret, and the
// public key of the previous secret's (none when there is none), so that
// packs signed before a rotation still verify.
func KeysFor(current, previous []byte) (Keys, error) {
	signer, err := NewSigner(keys.Derive(current, KeyPurpose))
	if err != nil {
		return Keys{}, err
	}
	ks := Keys{Signer: signer}
	if len(previous) > 0 {
		old, err := NewSigner(keys.Derive(previous, KeyPurpose))
		if err != nil {
			return Keys{}, err
		}
		ks.Previous = []PublicKey{old.Public()}
	}
	return ks, nil
}
