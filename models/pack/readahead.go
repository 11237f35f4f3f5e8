package pack

import (
	"context"
	"errors"
	"io"
	"sync"
)

// readAheadBuf is the size of one read from the store, and readAheadBufs
// how many such buffers an export holds: one being filled from the store,
// the others waiting to be hashed and sent, or being sent. They are the
// memory all of an export's bytes pass through, 4 MiB. Smaller reads
// cost CPU on this path: with 256 KiB buffers the server spent 10–20%
// more CPU a GiB, in system calls (four times as many), and a 1 GiB pack
// went out more slowly; 2 MiB ones were no better than 1 MiB.
const (
	readAheadBuf  = 1 << 20
	readAheadBufs = 4
)

// buffers keeps the read-ahead buffers between exports.
var buffers = sync.Pool{New: func() any { b := make([]byte, readAheadBuf); return &b }}

// opener opens one object of a read-ahead; the read-ahead closes it.
type opener func(ctx context.Context) (io.ReadCloser, error)

// readAhead reads a sequence of objects from the store, one after
// another, in a goroutine of its own, up to readAheadBufs buffers ahead of
// the caller, which hashes and sends them (next): the store's next bytes
// arrive while the last ones are hashed and sent, instead of each step
// waiting for the other (measured in BENCHMARKS.md, fix 12). The next
// object is opened as soon as the last bytes of the one before are read,
// not sent, so the store's delay to its first byte passes while the
// buffers of the one before are still going out (a pack of 64 documents
// of 1 MiB from MinIO: 0.53–0.60 of raw reads before, 0.67–0.71 with
// it; a pack of 16 of 64 MiB does not change). No object is opened
// before the one before it has been read to its end, so a slow client
// keeps at most one of the store's responses waiting, as with one object.
//
// A read-ahead must be closed; close stops the reader, which then has
// returned, and gives the buffers back.
type readAhead struct {
	full   chan chunk
	free   chan []byte
	stop   chan struct{}
	done   chan struct{}
	cancel context.CancelFunc

	mu      sync.Mutex
	reading io.Closer // the object being read, closed by abort
	stopped bool

	closed sync.Once
}

// chunk is one read: n bytes of buf, then err. io.EOF ends an object
// (its last chunk may hold bytes); any other error ends the read-ahead.
type chunk struct {
	buf []byte
	n   int
	err error
}

// startReadAhead starts reading the objects in order.
func startReadAhead(ctx context.Context, objects []opener) *readAhead {
	ctx, cancel := context.WithCancel(ctx)
	ra := &readAhead{full: make(chan chunk, readAheadBufs), free: make(chan []byte, readAheadBufs),
		stop: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	for range readAheadBufs {
		ra.free <- *buffers.Get().(*[]byte)
	}
	go ra.run(ctx, objects)
	return ra
}

func (ra *readAhead) run(ctx context.Context, objects []opener) {
	defer close(ra.done)
	defer close(ra.full)
	for _, open := range objects {
		rc, err := open(ctx)
		if err != nil {
			ra.send(chunk{err: err})
			return
		}
		if !ra.setReading(rc) {
			rc.Close()
			return
		}
		for err == nil {
			var buf []byte
			select {
			case buf = <-ra.free:
			case <-ra.stop:
				rc.Close()
				return
			}
			select { // both may have been ready: stopping comes first
			case <-ra.stop:
				ra.free <- buf
				rc.Close()
				return
			default:
			}
			var n int
			n, err = io.ReadFull(rc, buf)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			if !ra.send(chunk{buf, n, err}) {
				rc.Close()
				return
			}
		}
		ra.setReading(nil)
		rc.Close()
		if err != io.EOF {
			return
		}
	}
}

// send hands a chunk to the caller; false when the read-ahead is closed
// (the chunk's buffer then goes back to the free ones).
func (ra *readAhead) send(c chunk) bool {
	select {
	case ra.full <- c:
		return true
	case <-ra.stop:
		if c.buf != nil {
			ra.free <- c.buf // there is room: free holds every buffer
		}
		return false
	}
}

func (ra *readAhead) setReading(c io.Closer) bool {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	ra.reading = c
	return !ra.stopped
}

// next writes the next object's bytes to dst and returns how many it
// wrote, and the first error of either side. When dst fails, the read
// is aborted (its context cancelled, the object closed) so that a read
// waiting on the store returns; the read-ahead is over then.
func (ra *readAhead) next(dst io.Writer) (int64, error) {
	var written int64
	for c := range ra.full {
		var err error
		if c.n > 0 {
			var n int
			n, err = dst.Write(c.buf[:c.n])
			written += int64(n)
			if err == nil && n < c.n {
				err = io.ErrShortWrite
			}
		}
		if err != nil {
			ra.abort() // before the buffer is free: the reader reads no more
		}
		if c.buf != nil {
			ra.free <- c.buf // dst does not keep it (io.Writer)
		}
		switch {
		case err != nil:
			return written, err
		case c.err == io.EOF:
			return written, nil
		case c.err != nil:
			return written, c.err
		}
	}
	return written, errors.New("pack: no object left to read")
}

// abort stops the reader and unblocks a read waiting on the store.
func (ra *readAhead) abort() {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if ra.stopped {
		return
	}
	ra.stopped = true
	close(ra.stop)
	ra.cancel()
	if ra.reading != nil {
		ra.reading.Close()
	}
}

// close stops the reader, waits for it to return and puts the buffers
// back in the pool. Closing again does nothing.
func (ra *readAhead) close() {
	ra.closed.Do(func() {
		ra.abort()
		<-ra.done
		for c := range ra.full {
			if c.buf != nil {
				ra.free <- c.buf
			}
		}
		close(ra.free)
		for b := range ra.free {
			buffers.Put(&b)
		}
	})
}
