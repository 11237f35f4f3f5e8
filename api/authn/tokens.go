// Package authn issues and verifies access tokens and hashes passwords.
package authn

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/keys"
)

// Issuer signs access tokens with HS256 under a key derived from the
// server secret. The JWT header names the key (kid); tokens signed under
// the previous secret keep verifying until they expire, so the secret can
// be rotated without signing every device out.
type Issuer struct {
	current  key
	previous *key
	TTL      time.Duration
	Now      models.Clock
}

type key struct {
	id     string
	secret []byte
}

const issuer = "fieldsync"

// Claims are the access token's claims.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	DeviceID  string `json:"did"`
	Role      string `json:"role"`
}

func newKey(secret []byte) key {
	k := keys.Derive(secret, "access-token")
	sum := sha256.Sum256(k)
	return key{id: hex.EncodeToString(sum[:6]), secret: k}
}

// NewIssuer returns an issuer for the current secret and, optionally, the
// previous one.
func NewIssuer(secret, previous []byte, ttl time.Duration, now models.Clock) *Issuer {
	is := &Issuer{current: newKey(secret), TTL: ttl, Now: now}
	if len(previous) > 0 {
		p := newKey(previous)
		is.previous = &p
	}
	return is
}

// Issue signs an access token for the session of g.
func (is *Issuer) Issue(g auth.Grant) (string, error) {
	now := is.Now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   g.User.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(is.TTL)),
		},
		SessionID: g.Session.ID,
		DeviceID:  g.Session.DeviceID,
		Role:      g.User.Role,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = is.current.id
	return t.SignedString(is.current.secret)
}

// Verify checks an access token's signature, algorithm (HS256 only: "none"
// and every other algorithm are refused), key id, issuer and expiry.
func (is *Issuer) Verify(token string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		switch {
		case kid == is.current.id:
			return is.current.secret, nil
		case is.previous != nil && kid == is.previous.id:
			return is.previous.secret, nil
		}
		return nil, fmt.Errorf("unknown key id %q", kid)
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(is.Now),
	)
	switch {
	case err == nil:
		return &c, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, &models.Error{Code: models.CodeTokenExpired, Message: "the access token has expired; refresh it", Err: err}
	default:
		return nil, &models.Error{Code: models.CodeTokenInvalid, Message: "the access token is not valid", Err: err}
	}
}
