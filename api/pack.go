package api

import (
	"bufio"
	"context"
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

// streamChunk is the size of the chunks a stream goes out in. fasthttp
// sends a streamed body in 4 KiB chunks with a flush, so a system call,
// each; a pack moved at a fifth of the store's speed for that alone.
const streamChunk = 256 << 10

// stream sends the body fn writes, while it writes it, chunked. fasthttp
// writes a response only after the handler returns, so the handler
// hijacks the connection and fn runs in the hijack handler, writing the
// status line, the headers set so far and then chunks of streamChunk
// straight to the connection. When fn fails after the first byte, the
// connection is closed without the closing chunk, and the client sees a
// broken download rather than a complete-looking one. A client that goes
// away fails fn's next write; any other failure of fn is reported to
// failed, with the bytes written. The connection closes after the stream
// (Connection: close): hijacked, it is no longer fasthttp's to reuse,
// and Shutdown does not wait for it, so a pack still streaming when the
// server stops is cut off, and does not verify.
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
		cw := &chunkWriter{conn: conn}
		bw := bufio.NewWriterSize(cw, streamChunk)
		out := &progressWriter{w: bw, conn: conn, timeout: s.times.Write}
		conn.SetWriteDeadline(time.Now().Add(s.times.Write))
		_, err := conn.Write(head)
		if err == nil {
			err = fn(ctx, out)
		}
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			_, err = conn.Write([]byte("0\r\n\r\n"))
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

// chunkWriter frames each write as one HTTP/1.1 chunk on the connection;
// behind a bufio.Writer of streamChunk, each chunk is that size. failed
// records that the connection refused a write (the client left).
type chunkWriter struct {
	conn   net.Conn
	failed bool
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	bufs := net.Buffers{[]byte(strconv.FormatInt(int64(len(p)), 16) + "\r\n"), p, []byte("\r\n")}
	if _, err := bufs.WriteTo(w.conn); err != nil {
		w.failed = true
		return 0, err
	}
	return len(p), nil
}

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
