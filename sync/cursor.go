package sync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// cursor is where a device stands in the change log: it has seen every
// stamped change up to Seq of Epoch, in payloads of Schema. Devices get it
// as an opaque token signed by the server (never a timestamp).
type cursor struct {
	Seq    int64  `json:"s"`
	Epoch  string `json:"e"`
	Schema int    `json:"v"`
	View   string `json:"w"`
	// Floor is the retained floor when the cursor was issued: removes at
	// or below it were already gone then, and the rows the device read
	// reflect that. Only a floor that has moved since can hide a remove.
	Floor int64 `json:"f"`
}

// b64 reads and writes cursors. Strict, because the last character of an
// unpadded encoding has bits the decoder would otherwise ignore: a
// signature with them changed would still verify, so one issued cursor
// would have several spellings.
var b64 = base64.RawURLEncoding.Strict()

func (e *Engine) encodeCursor(c cursor) string {
	payload, _ := json.Marshal(c)
	p := b64.EncodeToString(payload)
	return p + "." + b64.EncodeToString(mac(e.cursorKey, p))
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)[:16]
}

// decodeCursor checks a cursor's signature and shape; a forged, altered or
// truncated cursor is refused.
func (e *Engine) decodeCursor(s string) (cursor, error) {
	bad := models.FieldError(models.CodeSyncCursorInvalid, "cursor", "the cursor is not one this server issued; pull again from a null cursor")
	p, sig, ok := strings.Cut(s, ".")
	if !ok || len(s) > 512 {
		return cursor{}, bad
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !(hmac.Equal(got, mac(e.cursorKey, p)) || len(e.prevKey) > 0 && hmac.Equal(got, mac(e.prevKey, p))) {
		return cursor{}, bad
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return cursor{}, bad
	}
	var c cursor
	if err := json.Unmarshal(payload, &c); err != nil || c.Seq < 0 || c.Epoch == "" {
		return cursor{}, bad
	}
	return c, nil
}
