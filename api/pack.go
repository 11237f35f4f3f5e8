package api

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/models/pack"
)

// evidencePack streams GET /v1/items/{id}/evidence-pack. The pack is
// loaded and authorized before the first byte, so that a refusal is a
// problem document; after it, the ZIP is written as it is read from the
// blob store.
func (s *Server) evidencePack(c *fiber.Ctx) error {
	p, err := s.accept.EvidencePack(c.UserContext(), actor(c), pathID(c))
	if err != nil {
		return err
	}
	w := &pack.Writer{Blobs: s.svc.Blobs, Signer: s.packs.Signer, Server: strings.TrimSpace("fieldsync " + s.ver),
		Zone: s.svc.Deadlines.Location(), Explain: flagExplanation(catalog.In(i18n.Default))}
	c.Set(fiber.HeaderContentType, "application/zip")
	// Item codes are letters, digits, '.', '_' and '-': safe in a quoted filename.
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="evidence-pack-`+p.Set.Item.Code+`.zip"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	a := actor(c)
	write := func(ctx context.Context, out io.Writer) error { return w.Write(ctx, out, p) }
	// A pack cut off by the server's side (the store failed mid-way) is
	// audited as a failed export beside the export itself.
	failed := func(ctx context.Context, written int64, err error) {
		if aerr := s.accept.EvidencePackFailed(ctx, a, p, written, err); aerr != nil {
			s.log.Error("auditing a failed evidence pack failed", "item", p.Set.Item.ID, "err", aerr)
		}
	}
	return s.stream(c, "evidence pack", write, failed)
}

// packKeysResponse answers GET /v1/evidence-pack/keys.
type packKeysResponse struct {
	Keys []packKey `json:"keys"`
}

type packKey struct {
	pack.PublicKey
	Current bool `json:"current"`
}

// packKeys lists the public keys that verify this server's packs: the
// current one and the one before a secret rotation. They are public, so
// anyone holding a pack can fetch them.
func (s *Server) packKeys(c *fiber.Ctx) error {
	res := packKeysResponse{Keys: []packKey{}}
	for i, k := range s.packs.Public() {
		res.Keys = append(res.Keys, packKey{PublicKey: k, Current: i == 0})
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(res)
}

// streamChunk is the most a stream holds back: small writes (the ZIP's
// headers, the report) are gathered into chunks of up to this size,
// because fasthttp's own streaming sends 4 KiB chunks with a flush, so a
// system call, each, and a pack moved at a fifth of the store's speed for
// that alone. A write that does not fit in what is left of it is not
// copied: it goes out at once as one chunk together with what was held
// back (chunkWriter.Write), so a pack's reads of readAheadBuf leave the
// server as they came, whatever small writes came before them.
const streamChunk = 64 << 10

// stream sends the body fn writes, while it writes it, chunked. fasthttp
// writes a response only after the handler returns, so the handler
// hijacks the connection and fn runs in the hijack handler, writing the
// status line, the headers set so far and then chunks straight to the
// connection. When fn fails after the first byte, the connection is
// closed without the closing chunk, and the client sees a broken download
// rather than a complete-looking one. A client that goes away fails fn's
// next write; any other failure of fn is reported to failed, with the
// bytes written. The connection closes after the stream (Connection:
// close): hijacked, it is no longer fasthttp's to reuse, and Shutdown
// does not wait for it, so a pack still streaming when the server stops
// is cut off, and does not verify.
func (s *Server) stream(c *fiber.Ctx, what string, fn func(context.Context, io.Writer) error, failed func(context.Context, int64, error)) error {
	// The handler's context ends with the handler; the stream outlives it.
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.UserContext()))
	// Fiber's strings point into the request's buffers, which are reused
	// once the handler returns, while the hijacked stream may still log.
	rid, path := strings.Clone(requestID(c)), strings.Clone(c.Path())
	c.Status(fiber.StatusOK)
	h := &c.Response().Header
	h.SetContentLength(-1) // chunked
	h.SetConnectionClose()
	head := append([]byte(nil), h.Header()...)
	fc := c.Context()
	fc.HijackSetNoResponse(true)
	fc.Hijack(func(conn net.Conn) {
		defer cancel()
		cw := newChunkWriter(conn, streamChunk)
		out := &progressWriter{w: cw, conn: conn, timeout: s.times.Write}
		conn.SetWriteDeadline(time.Now().Add(s.times.Write))
		_, err := conn.Write(head)
		if err == nil {
			err = fn(ctx, out)
		}
		if err == nil {
			err = cw.Close()
		}
		switch {
		case cw.failed:
			s.log.Info("streaming ended early: the client went away", "what", what, "request_id", rid, "path", path, "bytes", out.n, "err", err)
		case err != nil:
			s.log.Error("streaming failed; the connection is dropped", "what", what, "request_id", rid, "path", path, "bytes", out.n, "err", err)
			failed(ctx, out.n, err)
		}
	})
	return nil
}

// chunkWriter writes HTTP/1.1 chunks to the connection. Writes smaller
// than what its buffer has room for are held back; a write that does not
// fit goes out at once, as one chunk of what was held back and the
// write's bytes (one writev, no copy), so that the large writes of a pack
// (read-ahead buffers) are never copied, whatever small writes came
// before them. Close sends what is held back and the closing chunk.
// failed records that the connection refused a write (the client left).
type chunkWriter struct {
	conn   net.Conn
	buf    []byte
	head   [18]byte // a chunk's size line
	failed bool
}

func newChunkWriter(conn net.Conn, size int) *chunkWriter {
	return &chunkWriter{conn: conn, buf: make([]byte, 0, size)}
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if w.failed {
		return 0, errors.New("the connection refused an earlier write")
	}
	if len(w.buf)+len(p) <= cap(w.buf) {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if err := w.send(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// send writes what is held back and p as one chunk.
func (w *chunkWriter) send(p []byte) error {
	n := len(w.buf) + len(p)
	if n == 0 {
		return nil
	}
	size := strconv.AppendInt(w.head[:0], int64(n), 16)
	size = append(size, "\r\n"...)
	bufs := net.Buffers{size, w.buf, p, crlf}
	if _, err := bufs.WriteTo(w.conn); err != nil {
		w.failed = true
		return err
	}
	w.buf = w.buf[:0]
	return nil
}

// Close sends what is held back and ends the body.
func (w *chunkWriter) Close() error {
	if err := w.send(nil); err != nil {
		return err
	}
	if _, err := w.conn.Write(lastChunk); err != nil {
		w.failed = true
		return err
	}
	return nil
}

var (
	crlf      = []byte("\r\n")
	lastChunk = []byte("0\r\n\r\n")
)

// progressWriter moves the connection's write deadline on while bytes
// flow, so that a pack of a gigabyte over a slow link is not cut off
// after the write timeout; a client that stops reading still times out.
type progressWriter struct {
	w        io.Writer
	conn     net.Conn
	timeout  time.Duration
	n        int64
	extended time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if now := time.Now(); p.conn != nil && now.Sub(p.extended) > p.timeout/8 {
		p.extended = now
		p.conn.SetWriteDeadline(now.Add(p.timeout))
	}
	return n, err
}
