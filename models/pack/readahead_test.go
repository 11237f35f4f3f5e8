package pack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// copyAhead copies src to dst through a read-ahead of one object, which
// calls abort (once) to close src: when dst fails, or at src's end.
func copyAhead(dst io.Writer, src io.Reader, abort func()) (int64, error) {
	var once sync.Once
	ra := startReadAhead(context.Background(), []opener{func(context.Context) (io.ReadCloser, error) {
		return closeFunc{src, func() { once.Do(abort) }}, nil
	}})
	defer ra.close()
	return ra.next(dst)
}

// closeFunc is a reader whose Close calls a function.
type closeFunc struct {
	io.Reader
	close func()
}

func (c closeFunc) Close() error { c.close(); return nil }

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
	if max := (2 + readAheadBufs) * readAheadBuf; src.n > max {
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

// object is a test object of a read-ahead: its bytes, and what happened
// to it.
type object struct {
	data     []byte
	openErr  error
	opened   chan struct{} // closed when opened
	closed   bool
	closedMu sync.Mutex
}

func newObject(size int) *object {
	o := &object{data: make([]byte, size), opened: make(chan struct{})}
	for i := range o.data {
		o.data[i] = byte(rand.N(256))
	}
	return o
}

func (o *object) open(context.Context) (io.ReadCloser, error) {
	close(o.opened)
	if o.openErr != nil {
		return nil, o.openErr
	}
	return closeFunc{bytes.NewReader(o.data), func() {
		o.closedMu.Lock()
		o.closed = true
		o.closedMu.Unlock()
	}}, nil
}

func (o *object) wasOpened() bool {
	select {
	case <-o.opened:
		return true
	default:
		return false
	}
}

func openers(objs []*object) []opener {
	open := make([]opener, len(objs))
	for i, o := range objs {
		open[i] = o.open
	}
	return open
}

// TestReadAheadObjects: the objects come out one after another, each
// exactly its bytes, whatever their sizes against the buffers', and each
// is closed once read.
func TestReadAheadObjects(t *testing.T) {
	sizes := []int{0, 1, readAheadBuf - 1, readAheadBuf, 0, readAheadBuf + 1, 3*readAheadBuf + readAheadBuf/2, 7}
	var objs []*object
	for _, n := range sizes {
		objs = append(objs, newObject(n))
	}
	ra := startReadAhead(context.Background(), openers(objs))
	for i, o := range objs {
		var dst bytes.Buffer
		n, err := ra.next(&dst)
		if err != nil || n != int64(len(o.data)) || !bytes.Equal(dst.Bytes(), o.data) {
			t.Fatalf("object %d (%d bytes): copied %d, %v, equal %v", i, len(o.data), n, err, bytes.Equal(dst.Bytes(), o.data))
		}
	}
	if _, err := ra.next(io.Discard); err == nil {
		t.Error("a read-ahead gave an object after its last one")
	}
	ra.close()
	ra.close() // closing again does nothing
	for i, o := range objs {
		if !o.closed {
			t.Errorf("object %d was not closed", i)
		}
	}
}

// TestReadAheadOpensNextWhileSending: the next object is opened once the
// one before has been read, while its last buffers are still being sent.
func TestReadAheadOpensNextWhileSending(t *testing.T) {
	first, second := newObject(readAheadBuf+10), newObject(5)
	ra := startReadAhead(context.Background(), openers([]*object{first, second}))
	defer ra.close()
	// The first object's first buffer is held by this writer until the
	// second object has been opened: the reader must get there without
	// the first object having been sent.
	w := writerFunc(func(p []byte) (int, error) {
		select {
		case <-second.opened:
		case <-time.After(30 * time.Second):
			t.Fatal("the second object was not opened while the first one was being sent")
		}
		return len(p), nil
	})
	if n, err := ra.next(w); err != nil || n != int64(len(first.data)) {
		t.Fatalf("first object: %d, %v", n, err)
	}
	var dst bytes.Buffer
	if _, err := ra.next(&dst); err != nil || !bytes.Equal(dst.Bytes(), second.data) {
		t.Fatalf("second object: %v", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestReadAheadOpenError: an object that cannot be opened fails when its
// turn comes, after the objects before it went out whole, and no object
// after it is opened.
func TestReadAheadOpenError(t *testing.T) {
	boom := errors.New("no such object")
	objs := []*object{newObject(readAheadBuf + 3), newObject(10), newObject(10)}
	objs[1].openErr = boom
	ra := startReadAhead(context.Background(), openers(objs))
	var dst bytes.Buffer
	if _, err := ra.next(&dst); err != nil || !bytes.Equal(dst.Bytes(), objs[0].data) {
		t.Fatalf("the object before the failing one: %v", err)
	}
	if _, err := ra.next(io.Discard); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the open error", err)
	}
	ra.close() // the reader has returned
	if objs[2].wasOpened() {
		t.Error("an object after the failing one was opened")
	}
}

// boundedReader is an endless source that checks, at every read, that its
// reader is no further ahead of what was written than the read-ahead's
// buffers allow.
type boundedReader struct {
	t       *testing.T
	read    int64
	written *int64 // under mu
	mu      *sync.Mutex
}

func (r *boundedReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	ahead := r.read - *r.written
	r.mu.Unlock()
	n := min(len(p), 64<<10)
	// A buffer is free again only once its bytes are written, so what is
	// read and not yet written fits in the buffers.
	if ahead+int64(n) > readAheadBufs*readAheadBuf {
		r.t.Errorf("the reader would be %d bytes ahead of the writer; the buffers hold %d", ahead+int64(n), readAheadBufs*readAheadBuf)
	}
	r.read += int64(n)
	return n, nil
}

// TestReadAheadBuffersInFlight: however slow the writer, the reader holds
// no more than readAheadBufs buffers of bytes not yet written.
func TestReadAheadBuffersInFlight(t *testing.T) {
	var (
		mu      sync.Mutex
		written int64
	)
	src := &boundedReader{t: t, written: &written, mu: &mu}
	ra := startReadAhead(context.Background(), []opener{func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(io.LimitReader(src, 40*readAheadBuf)), nil
	}})
	defer ra.close()
	n, err := ra.next(writerFunc(func(p []byte) (int, error) {
		for range 100 {
			runtime.Gosched() // a slow client: the reader runs ahead
		}
		mu.Lock()
		written += int64(len(p))
		mu.Unlock()
		return len(p), nil
	}))
	if err != nil || n != 40*readAheadBuf {
		t.Fatalf("copied %d, %v", n, err)
	}
}

// TestReadAheadWriteErrorStopsSequence: a client that hangs up during one
// object stops the read-ahead: no later object is opened (the second
// object is larger than the buffers, so the reader cannot have got past
// it when the client hangs up in its second buffer).
func TestReadAheadWriteErrorStopsSequence(t *testing.T) {
	objs := []*object{newObject(readAheadBuf + 1), newObject((readAheadBufs + 3) * readAheadBuf), newObject(10)}
	ra := startReadAhead(context.Background(), openers(objs))
	if _, err := ra.next(io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := ra.next(&failingWriter{limit: readAheadBuf}); !errors.Is(err, errClientGone) {
		t.Fatalf("got %v, want the write error", err)
	}
	ra.close()
	if objs[2].wasOpened() {
		t.Error("the read-ahead went on opening objects after its client hung up")
	}
	for i, o := range objs[:2] {
		if !o.closed {
			t.Errorf("object %d was not closed", i)
		}
	}
}
