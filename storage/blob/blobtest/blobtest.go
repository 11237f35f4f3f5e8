// Package blobtest is the conformance suite every models.BlobStore passes,
// in the spirit of perkeep's pkg/blobserver/storagetest. A backend's test
// calls Run with a constructor that returns a fresh, empty store.
//
// The contract it pins down, beyond the interface's doc comment:
//   - Put stores exactly the bytes read; a body that fails, is cancelled,
//     or is longer or shorter than a declared size leaves no object, and
//     leaves an existing object under the key untouched.
//   - An empty content type is stored as application/octet-stream.
//   - Delete of a missing object succeeds (nil), as on S3, so retries are
//     harmless.
//   - Missing objects give errors matching models.ErrNotFound; refused keys
//     give a *models.Error with code CodeInvalidID.
//   - List visits keys in byte order; ContentType in List may be empty
//     (S3 listings do not carry it), but if set it is right.
//   - A done context makes every method fail with an error matching
//     ctx.Err().
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Run runs the suite. newStore is called once per subtest and must return
// an empty store that the subtest may use alone (subtests run in parallel).
func Run(t *testing.T, newStore func(t *testing.T) models.BlobStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, models.BlobStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptyAndUnknownSize", testEmptyAndUnknownSize},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"Missing", testMissing},
		{"List", testList},
		{"LargeStreamed", testLargeStreamed},
		{"FailingReader", testFailingReader},
		{"SizeMismatch", testSizeMismatch},
		{"InvalidKeys", testInvalidKeys},
		{"ContextCancel", testContextCancel},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ConcurrentOverwrite", testConcurrentOverwrite},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

var ctxBG = context.Background()

func testRoundTrip(t *testing.T, s models.BlobStore) {
	for _, key := range []string{"evidence/2026/11/a1b2.jpg", "top", "证据/现场 照片 1.jpg"} {
		data := randomBytes(100_000, 1)
		before := time.Now().Add(-time.Hour)
		info := MustPut(t, s, key, data, "image/jpeg")
		if info.Key != key || info.Size != int64(len(data)) || info.ContentType != "image/jpeg" {
			t.Errorf("Put(%q) = %+v; want key, size %d, image/jpeg", key, info, len(data))
		}
		if info.ModTime.Before(before) {
			t.Errorf("Put(%q).ModTime = %v; want about now", key, info.ModTime)
		}
		st := MustStat(t, s, key)
		if st.Key != key || st.Size != int64(len(data)) || st.ContentType != "image/jpeg" || st.ModTime.Before(before) {
			t.Errorf("Stat(%q) = %+v; want key, size %d, image/jpeg, recent time", key, st, len(data))
		}
		got, gi := MustGet(t, s, key)
		if !bytes.Equal(got, data) {
			t.Errorf("Get(%q) returned %d bytes that differ from the %d put", key, len(got), len(data))
		}
		if gi.Size != st.Size || gi.ContentType != st.ContentType {
			t.Errorf("Get(%q) info = %+v; Stat says %+v", key, gi, st)
		}
	}
}

func testEmptyAndUnknownSize(t *testing.T, s models.BlobStore) {
	MustPut(t, s, "empty", nil, "text/plain")
	if got, info := MustGet(t, s, "empty"); len(got) != 0 || info.Size != 0 {
		t.Errorf("empty object: got %d bytes, info %+v", len(got), info)
	}
	data := randomBytes(70_000, 2)
	info, err := s.Put(ctxBG, "unknown", onlyReader{bytes.NewReader(data)}, -1, "")
	if err != nil {
		t.Fatalf("Put with size -1: %v", err)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("Put with size -1 reported size %d; want %d", info.Size, len(data))
	}
	st := MustStat(t, s, "unknown")
	if st.Size != int64(len(data)) || st.ContentType != "application/octet-stream" {
		t.Errorf("Stat = %+v; want size %d and the default content type application/octet-stream", st, len(data))
	}
	if got, _ := MustGet(t, s, "unknown"); !bytes.Equal(got, data) {
		t.Error("Get after a Put of unknown size returned other bytes")
	}
}

func testOverwrite(t *testing.T, s models.BlobStore) {
	MustPut(t, s, "k", []byte("first version, longer"), "text/plain")
	MustPut(t, s, "k", []byte(`{"v":2}`), "application/json")
	got, info := MustGet(t, s, "k")
	if string(got) != `{"v":2}` || info.Size != 7 || info.ContentType != "application/json" {
		t.Errorf("after overwrite: %q %+v", got, info)
	}
}

func testDelete(t *testing.T, s models.BlobStore) {
	MustPut(t, s, "d/x", []byte("x"), "text/plain")
	MustPut(t, s, "d/y", []byte("y"), "text/plain")
	if err := s.Delete(ctxBG, "d/x"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, s, "d/x")
	if err := s.Delete(ctxBG, "d/x"); err != nil {
		t.Errorf("second Delete of the same key = %v; want nil", err)
	}
	if err := s.Delete(ctxBG, "never/was"); err != nil {
		t.Errorf("Delete of a key never stored = %v; want nil", err)
	}
	if got, _ := MustGet(t, s, "d/y"); string(got) != "y" {
		t.Errorf("sibling after Delete = %q", got)
	}
	MustPut(t, s, "d/x", []byte("again"), "text/plain") // a deleted key can be reused
}

func testMissing(t *testing.T, s models.BlobStore) {
	wantNotFound(t, s, "no/such/object")
	MustPut(t, s, "dir/obj", []byte("x"), "")
	wantNotFound(t, s, "dir")          // a "directory" is not an object
	wantNotFound(t, s, "dir/obj/deep") // nor is a path through an object
}

func testList(t *testing.T, s models.BlobStore) {
	keys := []string{"list/b", "list/a/2", "list/ab", "list/a-1", "list/a/1", "listing/x", "lis", "m"}
	for i, k := range keys {
		MustPut(t, s, k, bytes.Repeat([]byte{'x'}, i+1), "text/plain")
	}
	size := func(k string) int64 { return int64(slices.Index(keys, k) + 1) }
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		// '-' < '/' < 'b': key order is not a depth-first walk of directories.
		{"list/", []string{"list/a-1", "list/a/1", "list/a/2", "list/ab", "list/b"}},
		{"list/a", []string{"list/a-1", "list/a/1", "list/a/2", "list/ab"}},
		{"list/a/", []string{"list/a/1", "list/a/2"}},
		{"lis", []string{"lis", "list/a-1", "list/a/1", "list/a/2", "list/ab", "list/b", "listing/x"}},
		{"", []string{"lis", "list/a-1", "list/a/1", "list/a/2", "list/ab", "list/b", "listing/x", "m"}},
		{"nothing/", nil},
	} {
		var got []string
		err := s.List(ctxBG, tc.prefix, func(bi models.BlobInfo) error {
			got = append(got, bi.Key)
			if bi.Size != size(bi.Key) {
				t.Errorf("List(%q): %s has size %d; want %d", tc.prefix, bi.Key, bi.Size, size(bi.Key))
			}
			if bi.ContentType != "" && bi.ContentType != "text/plain" {
				t.Errorf("List(%q): %s has content type %q", tc.prefix, bi.Key, bi.ContentType)
			}
			if bi.ModTime.IsZero() {
				t.Errorf("List(%q): %s has no ModTime", tc.prefix, bi.Key)
			}
			return nil
		})
		if err != nil {
			t.Errorf("List(%q): %v", tc.prefix, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q; want %q", tc.prefix, got, tc.want)
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := s.List(ctxBG, "list/", func(models.BlobInfo) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with fn failing: err %v after %d calls; want fn's error after 1 call", err, calls)
	}
}

// testLargeStreamed puts 20 MiB from a generator, never from a byte slice,
// with the size declared and with -1, and checks the bytes by hash.
func testLargeStreamed(t *testing.T, s models.BlobStore) {
	const size = 20 << 20
	for _, declared := range []int64{size, -1} {
		key := fmt.Sprintf("large/%d", declared)
		gen := newGenerator(size, 42)
		info, err := s.Put(ctxBG, key, gen, declared, "application/octet-stream")
		if err != nil {
			t.Fatalf("Put 20 MiB (declared %d): %v", declared, err)
		}
		if gen.n != size || info.Size != size {
			t.Errorf("Put 20 MiB (declared %d): read %d bytes, info.Size %d", declared, gen.n, info.Size)
		}
		want := hashReader(t, newGenerator(size, 42))
		rc, gi, err := s.Get(ctxBG, key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		got := hashReader(t, rc)
		rc.Close()
		if got != want || gi.Size != size {
			t.Errorf("Get 20 MiB (declared %d): size %d, hash match %v", declared, gi.Size, got == want)
		}
	}
}

func testFailingReader(t *testing.T, s models.BlobStore) {
	boom := errors.New("boom: device went offline")
	for _, declared := range []int64{2 << 20, -1} {
		r := io.MultiReader(newGenerator(1<<20, 7), failingReader{boom})
		_, err := s.Put(ctxBG, "fail/new", r, declared, "image/jpeg")
		if !errors.Is(err, boom) {
			t.Errorf("Put with a failing reader (declared %d) = %v; want an error matching the reader's", declared, err)
		}
		wantNotFound(t, s, "fail/new")

		MustPut(t, s, "fail/old", []byte("the evidence we have"), "text/plain")
		r = io.MultiReader(newGenerator(1<<20, 8), failingReader{boom})
		if _, err := s.Put(ctxBG, "fail/old", r, declared, "image/jpeg"); err == nil {
			t.Errorf("failing overwrite (declared %d) succeeded", declared)
		}
		if got, info := MustGet(t, s, "fail/old"); string(got) != "the evidence we have" || info.ContentType != "text/plain" {
			t.Errorf("a failed overwrite (declared %d) changed the object: %q %+v", declared, got, info)
		}
	}
}

func testSizeMismatch(t *testing.T, s models.BlobStore) {
	for _, tc := range []struct {
		declared int64
		body     string
	}{{10, "short"}, {5, "longer than declared"}, {0, "x"}} {
		_, err := s.Put(ctxBG, "mismatch", onlyReader{strings.NewReader(tc.body)}, tc.declared, "text/plain")
		if err == nil {
			t.Errorf("Put of %d bytes declared as %d succeeded", len(tc.body), tc.declared)
		}
		wantNotFound(t, s, "mismatch")
	}
}

func testInvalidKeys(t *testing.T, s models.BlobStore) {
	for _, key := range []string{"", "../x", "/abs", "a//b", "a\\b", "a/../b", "a/./b", "..", "a/", "x\x00y", "a/..", "a\nb"} {
		check := func(op string, err error) {
			t.Helper()
			if models.ErrorCode(err) != models.CodeInvalidID {
				t.Errorf("%s(%q) = %v; want code %s", op, key, err, models.CodeInvalidID)
			}
		}
		_, err := s.Put(ctxBG, key, strings.NewReader("x"), 1, "text/plain")
		check("Put", err)
		_, _, err = s.Get(ctxBG, key)
		check("Get", err)
		_, err = s.Stat(ctxBG, key)
		check("Stat", err)
		check("Delete", s.Delete(ctxBG, key))
	}
	n := 0
	if err := s.List(ctxBG, "", func(models.BlobInfo) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("after refused puts, List found %d objects (err %v); want none", n, err)
	}
}

func testContextCancel(t *testing.T, s models.BlobStore) {
	MustPut(t, s, "c/1", []byte("1"), "")
	MustPut(t, s, "c/2", []byte("2"), "")
	MustPut(t, s, "c/3", []byte("3"), "")

	done, cancel := context.WithCancel(ctxBG)
	cancel()
	wantCanceled := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v; want context.Canceled", op, err)
		}
	}
	_, err := s.Put(done, "c/new", strings.NewReader("x"), 1, "")
	wantCanceled("Put", err)
	wantNotFound(t, s, "c/new")
	_, _, err = s.Get(done, "c/1")
	wantCanceled("Get", err)
	_, err = s.Stat(done, "c/1")
	wantCanceled("Stat", err)
	wantCanceled("List", s.List(done, "c/", func(models.BlobInfo) error { return nil }))

	// Cancelled in the middle of the body, with the size declared and not.
	for _, declared := range []int64{4 << 20, -1} {
		ctx, cancel := context.WithCancel(ctxBG)
		r := &cancelAfter{r: newGenerator(4<<20, 9), after: 1 << 20, cancel: cancel}
		_, err = s.Put(ctx, "c/midway", r, declared, "")
		cancel()
		wantCanceled(fmt.Sprintf("Put cancelled midway (declared %d)", declared), err)
		wantNotFound(t, s, "c/midway")
	}

	ctx, cancel := context.WithCancel(ctxBG)
	defer cancel()
	calls := 0
	err = s.List(ctx, "c/", func(models.BlobInfo) error { calls++; cancel(); return nil })
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("List cancelled by fn: err %v after %d calls; want context.Canceled after 1", err, calls)
	}
}

func testConcurrentPuts(t *testing.T, s models.BlobStore) {
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			data := randomBytes(64<<10+i, uint64(i))
			if _, err := s.Put(ctxBG, fmt.Sprintf("conc/%02d/obj", i), bytes.NewReader(data), int64(len(data)), "image/jpeg"); err != nil {
				t.Errorf("concurrent Put %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		got, _ := MustGet(t, s, fmt.Sprintf("conc/%02d/obj", i))
		if !bytes.Equal(got, randomBytes(64<<10+i, uint64(i))) {
			t.Errorf("object %d has other bytes after concurrent puts", i)
		}
	}
}

// testConcurrentOverwrite writes versions of one key while others read it:
// a reader sees one whole version, never a mix or a partial object.
func testConcurrentOverwrite(t *testing.T, s models.BlobStore) {
	const size = 256 << 10
	MustPut(t, s, "hot", bytes.Repeat([]byte{0}, size), "")
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			v := bytes.Repeat([]byte{byte(i + 1)}, size)
			if _, err := s.Put(ctxBG, "hot", bytes.NewReader(v), size, ""); err != nil {
				t.Errorf("Put version %d: %v", i+1, err)
			}
		})
		wg.Go(func() {
			got, _ := MustGet(t, s, "hot")
			if len(got) != size || bytes.Count(got, got[:1]) != size {
				t.Errorf("a reader saw %d bytes of mixed versions", len(got))
			}
		})
	}
	wg.Wait()
}

func testPing(t *testing.T, s models.BlobStore) {
	if err := s.Ping(ctxBG); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// MustPut puts data under key or fails the test.
func MustPut(tb testing.TB, s models.BlobStore, key string, data []byte, contentType string) models.BlobInfo {
	tb.Helper()
	info, err := s.Put(ctxBG, key, bytes.NewReader(data), int64(len(data)), contentType)
	if err != nil {
		tb.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

// MustGet reads the whole object or fails the test.
func MustGet(tb testing.TB, s models.BlobStore, key string) ([]byte, models.BlobInfo) {
	tb.Helper()
	rc, info, err := s.Get(ctxBG, key)
	if err != nil {
		tb.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("Get(%q): reading: %v", key, err)
	}
	return data, info
}

// MustStat stats the object or fails the test.
func MustStat(tb testing.TB, s models.BlobStore, key string) models.BlobInfo {
	tb.Helper()
	info, err := s.Stat(ctxBG, key)
	if err != nil {
		tb.Fatalf("Stat(%q): %v", key, err)
	}
	return info
}

func wantNotFound(tb testing.TB, s models.BlobStore, key string) {
	tb.Helper()
	if _, err := s.Stat(ctxBG, key); !errors.Is(err, models.ErrNotFound) {
		tb.Errorf("Stat(%q) = %v; want an error matching models.ErrNotFound", key, err)
	}
	rc, _, err := s.Get(ctxBG, key)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, models.ErrNotFound) {
		tb.Errorf("Get(%q) = %v; want an error matching models.ErrNotFound", key, err)
	}
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	newGenerator(int64(n), seed).Read(b)
	return b
}

func hashReader(tb testing.TB, r io.Reader) [32]byte {
	tb.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		tb.Fatalf("reading: %v", err)
	}
	return [32]byte(h.Sum(nil))
}

// generator yields n pseudo-random bytes. It is a plain io.Reader (no
// Seek, ReadAt, WriteTo or Len), so a store can only stream it.
type generator struct {
	rng  *rand.ChaCha8
	n    int64
	size int64
}

func newGenerator(size int64, seed uint64) *generator {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return &generator{rng: rand.NewChaCha8(s), size: size}
}

func (g *generator) Read(p []byte) (int, error) {
	if g.n >= g.size {
		return 0, io.EOF
	}
	if rest := g.size - g.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	g.rng.Read(p)
	g.n += int64(len(p))
	return len(p), nil
}

type onlyReader struct{ io.Reader }

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// cancelAfter cancels its context once after bytes have been read, and
// keeps yielding data, as a client whose request is abandoned would.
type cancelAfter struct {
	r      io.Reader
	n      int64
	after  int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}
