package pack

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

func TestCopyAhead(t *testing.T) {
	for _, size := range []int{0, 1, readAheadBuf - 1, readAheadBuf, readAheadBuf + 1, 3*readAheadBuf + readAheadBuf/2} {
		src := make([]byte, size)
		for i := range src {
			src[i] = byte(rand.N(256))
		}
		var dst bytes.Buffer
		n, err := copyAhead(&dst, bytes.NewReader(src), func() {})
		if err != nil || n != int64(size) || !bytes.Equal(dst.Bytes(), src) {
			t.Errorf("%d bytes: copied %d, %v, equal %v", size, n, err, bytes.Equal(dst.Bytes(), src))
		}
	}
}

// failingReader returns its bytes and then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestCopyAheadReadError(t *testing.T) {
	boom := errors.New("the store went away")
	var dst bytes.Buffer
	n, err := copyAhead(&dst, &failingReader{r: bytes.NewReader(make([]byte, readAheadBuf+10)), err: boom}, func() {})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the read error", err)
	}
	if n != int64(dst.Len()) || n > readAheadBuf+10 {
		t.Errorf("reported %d bytes written, the writer has %d", n, dst.Len())
	}
}

// failingWriter takes limit bytes, then fails.
type failingWriter struct{ limit, n int }

var errClientGone = errors.New("the client hung up")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errClientGone
	}
	w.n += len(p)
	return len(p), nil
}

// countingReader counts what was read from an endless source.
type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// TestCopyAheadWriteError: a client that hangs up stops the copy, and the
// reader with it, after at most the buffers already in flight.
func TestCopyAheadWriteError(t *testing.T) {
	src := &countingReader{}
	w := &failingWriter{limit: 2 * readAheadBuf}
	n, err := copyAhead(w, src, func() {})
	if !errors.Is(err, errClientGone) || n != 2*readAheadBuf {
		t.Fatalf("copied %d, %v; want 2 MiB and the write error", n, err)
	}
	// copyAhead has returned, so its reader has stopped: what it read is
	// final, and bounded by the buffers it may hold.
	if max := (2 + readAheadDepth + 2) * readAheadBuf; src.n > max {
		t.Errorf("the reader read %d bytes from an endless source; want at most %d", src.n, max)
	}
}

// stalledReader sends one buffer's worth, then blocks until closed, like
// a store that stops answering mid-object until its context is cancelled.
type stalledReader struct {
	sent   bool
	closed chan struct{}
}

func (r *stalledReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return len(p), nil
	}
	<-r.closed
	return 0, errors.New("read on a closed connection")
}

func (r *stalledReader) Close() error { close(r.closed); return nil }

// TestCopyAheadWriteErrorWhileReadStalls: a client that hangs up while the
// store has stopped answering ends the copy at once (abort unblocks the
// reader) instead of waiting for the store's timeout.
func TestCopyAheadWriteErrorWhileReadStalls(t *testing.T) {
	src := &stalledReader{closed: make(chan struct{})}
	ended := make(chan error, 1)
	go func() {
		_, err := copyAhead(&failingWriter{limit: 0}, src, func() { src.Close() })
		ended <- err
	}()
	select {
	case err := <-ended:
		if !errors.Is(err, errClientGone) {
			t.Fatalf("got %v, want the write error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("copyAhead is still waiting on a stalled read after its client hung up")
	}
}
