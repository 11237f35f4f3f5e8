package sync

import (
	"encoding/hex"
	"math"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

// fuzzEngines sign cursors with the current key and with the key before a
// rotation, which decodeCursor still accepts.
func fuzzEngines() (cur, old *Engine) {
	cur = &Engine{cursorKey: []byte("fuzz-cursor-key"), prevKey: []byte("fuzz-previous-cursor-key")}
	return cur, &Engine{cursorKey: cur.prevKey}
}

var issuedCursors = []cursor{
	{Seq: 0, Epoch: "3f9a0c1e", Schema: SchemaVersion},
	{Seq: 42, Epoch: "3f9a0c1e5b7d", Schema: SchemaVersion, View: "a1b2c3d4e5f6", Floor: 7},
	{Seq: math.MaxInt64, Epoch: strings.Repeat("f", 32), Schema: SchemaVersion, View: "000000000000", Floor: math.MaxInt64},
}

// FuzzDecodeCursor: a cursor verifies only when this server issued it,
// spelled exactly as it was issued. The encoding is canonical (base64url
// without padding over the JSON encoding/json writes), so accepting any
// other spelling would mean a device, or someone who copied a cursor,
// could make a token the server never signed: a flipped bit, a padded or
// re-encoded signature, case-folded JSON keys.
func FuzzDecodeCursor(f *testing.F) {
	e, old := fuzzEngines()
	for _, c := range issuedCursors {
		f.Add(e.encodeCursor(c))
		f.Add(old.encodeCursor(c))
	}
	for _, s := range []string{"", ".", "..", "eyJzIjoxfQ.", "not a cursor", strings.Repeat("A", 600) + "." + strings.Repeat("A", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := e.decodeCursor(s)
		if err != nil {
			if models.ErrorCode(err) != models.CodeSyncCursorInvalid {
				t.Fatalf("refused with %v, want %s", err, models.CodeSyncCursorInvalid)
			}
			return
		}
		if c.Seq < 0 || c.Epoch == "" {
			t.Fatalf("accepted a cursor of impossible shape: %+v", c)
		}
		if s != e.encodeCursor(c) && s != old.encodeCursor(c) {
			t.Fatalf("accepted %q, which is not how %+v was issued (%q)", s, c, e.encodeCursor(c))
		}
	})
}

// FuzzCursorRoundTrip: every cursor the server can issue decodes to what
// was encoded, and changing any one byte of it makes it refused.
func FuzzCursorRoundTrip(f *testing.F) {
	e, _ := fuzzEngines()
	for _, c := range issuedCursors {
		f.Add(c.Seq, []byte(c.Epoch), []byte(c.View), c.Floor, uint16(3), byte('A'))
	}
	f.Fuzz(func(t *testing.T, seq int64, epoch, view []byte, floor int64, at uint16, b byte) {
		// What the server puts in a cursor: numbers from the log and hex
		// labels (the epoch and a hash of the view).
		if seq < 0 || floor < 0 || len(epoch) == 0 || len(epoch) > 32 || len(view) > 32 {
			t.Skip()
		}
		c := cursor{Seq: seq, Epoch: hex.EncodeToString(epoch), Schema: SchemaVersion, View: hex.EncodeToString(view), Floor: floor}
		s := e.encodeCursor(c)
		got, err := e.decodeCursor(s)
		if err != nil || got != c {
			t.Fatalf("round trip of %+v: %+v, %v", c, got, err)
		}
		i := int(at) % len(s)
		if s[i] == b {
			return
		}
		altered := s[:i] + string(b) + s[i+1:]
		if got, err := e.decodeCursor(altered); err == nil {
			t.Fatalf("byte %d of %q changed to %q, and it still verifies as %+v", i, s, b, got)
		}
	})
}
