package api

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http/httputil"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// recordingConn is a connection that keeps what is written to it.
type recordingConn struct {
	net.Conn
	out  bytes.Buffer
	fail bool
}

func (c *recordingConn) Write(p []byte) (int, error) {
	if c.fail {
		return 0, errors.New("connection reset by peer")
	}
	return c.out.Write(p)
}

// chunkSizes parses the sizes of the chunks of a chunked body.
func chunkSizes(t *testing.T, body []byte) []int {
	t.Helper()
	var sizes []int
	r := bufio.NewReader(bytes.NewReader(body))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("a chunk's size line: %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		if err != nil {
			t.Fatalf("a chunk's size %q: %v", line, err)
		}
		sizes = append(sizes, int(n))
		if n == 0 {
			return sizes
		}
		if _, err := r.Discard(int(n) + 2); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChunkWriter: small writes are held back and go out with the next
// large write as one chunk; Close sends what is left and the last chunk;
// the whole is a valid chunked body of the bytes written.
func TestChunkWriter(t *testing.T) {
	conn := &recordingConn{}
	w := newChunkWriter(conn, 1024)
	var want bytes.Buffer
	write := func(n int) {
		t.Helper()
		p := bytes.Repeat([]byte{byte('a' + n%26)}, n)
		if k, err := w.Write(p); k != n || err != nil {
			t.Fatalf("write %d: %d, %v", n, k, err)
		}
		want.Write(p)
	}
	write(30)
	write(100)
	if conn.out.Len() != 0 {
		t.Fatalf("small writes went out at once: %q", conn.out.String())
	}
	write(5000) // with the 130 held back: one chunk
	write(4000) // nothing held back: a chunk of its own
	write(900)
	write(124) // fills the buffer exactly: still held
	write(1)   // does not fit: out with the 1024 held
	write(7)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := chunkSizes(t, conn.out.Bytes())
	if wantSizes := []int{5130, 4000, 1025, 7, 0}; !slices.Equal(got, wantSizes) {
		t.Errorf("chunks %v, want %v", got, wantSizes)
	}
	body, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(conn.out.Bytes())))
	if err != nil || !bytes.Equal(body, want.Bytes()) {
		t.Errorf("the chunked body: %v, %d bytes, equal %v", err, len(body), bytes.Equal(body, want.Bytes()))
	}
}

// TestChunkWriterClientGone: a refused write marks the writer failed (the
// client left) and every write after it fails.
func TestChunkWriterClientGone(t *testing.T) {
	conn := &recordingConn{fail: true}
	w := newChunkWriter(conn, 16)
	if _, err := w.Write(make([]byte, 10)); err != nil || w.failed {
		t.Fatalf("a held-back write: %v, failed %v", err, w.failed)
	}
	if _, err := w.Write(make([]byte, 100)); err == nil || !w.failed {
		t.Fatalf("a write the connection refused: %v, failed %v", err, w.failed)
	}
	if _, err := w.Write(make([]byte, 1)); err == nil {
		t.Error("a write after a refused one succeeded")
	}
}
