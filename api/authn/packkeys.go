package authn

import "github.com/fieldsync/fieldsync/models/pack"

// PackKeys derives the evidence-pack signing key from the server secret,
// and the public key of the previous secret's (nil when there is none), so
// that packs signed before a rotation still verify.
func PackKeys(current, previous []byte) (pack.Keys, error) {
	signer, err := pack.NewSigner(DeriveKey(current, pack.KeyPurpose))
	if err != nil {
		return pack.Keys{}, err
	}
	keys := pack.Keys{Signer: signer}
	if len(previous) > 0 {
		old, err := pack.NewSigner(DeriveKey(previous, pack.KeyPurpose))
		if err != nil {
			return pack.Keys{}, err
		}
		keys.Previous = []pack.PublicKey{old.Public()}
	}
	return keys, nil
}
