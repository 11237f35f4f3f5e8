package api

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models/pack"
)

// evidencePack streams GET /v1/items/{id}/evidence-pack. The pack is
// loaded and authorized before the first byte, so that a refusal is a
// problem document; after it, the ZIP is written as it is read from the
// blob store.
func (s *Server) evidencePack(c *fiber.Ctx) error {
	p, err := s.svc.EvidencePack(c.UserContext(), actor(c), pathID(c))
	if err != nil {
		return err
	}
	w := &pack.Writer{Blobs: s.svc.Blobs, Signer: s.packs.Signer, Server: strings.TrimSpace("fieldsync " + s.ver)}
	c.Set(fiber.HeaderContentType, "application/zip")
	// Item codes are letters, digits, '.', '_' and '-': safe in a quoted filename.
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="evidence-pack-`+p.Set.Item.Code+`.zip"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return s.stream(c, "evidence pack", func(ctx context.Context, out io.Writer) error { return w.Write(ctx, out, p) })
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

// stream sends the body fn writes, while it writes it. fasthttp reads a
// body stream only after the handler returns, so fn runs in a goroutine
// behind a pipe, and the response goes out chunked. (SetBodyStreamWriter
// streams too, but ends the body normally whatever its writer does.) When
// fn fails after the first byte, the pipe fails with its error: fasthttp
// then drops the connection without the closing chunk, and the client
// sees a broken download rather than a complete-looking one. A client
// that goes away closes the pipe, and fn's next write fails.
func (s *Server) stream(c *fiber.Ctx, what string, fn func(context.Context, io.Writer) error) error {
	// The handler's context ends with the handler; the stream outlives it.
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.UserContext()))
	pr, pw := io.Pipe()
	out := &countingWriter{w: pw}
	rid, path := requestID(c), c.Path()
	go func() {
		defer cancel()
		err := fn(ctx, out)
		switch {
		case errors.Is(err, io.ErrClosedPipe):
			s.log.Info("streaming ended early: the client went away", "what", what, "request_id", rid, "path", path, "bytes", out.n)
		case err != nil:
			s.log.Error("streaming failed; the connection is dropped", "what", what, "request_id", rid, "path", path, "bytes", out.n, "err", err)
		}
		pw.CloseWithError(err)
	}()
	return sendStream(c, pr, -1)
}

// countingWriter counts what goes through it, for the log.
type countingWriter struct {
	w io.Writer
	n int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.n += int64(n)
	return n, err
}
