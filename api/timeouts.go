package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/fieldsync/fieldsync/models"
)

// Timeouts bound how long a client may take over each part of an
// exchange, so that a slow or stalled client cannot hold a connection, or
// what it was uploading, for ever. Zero fields take DefaultTimeouts.
type Timeouts struct {
	// Header bounds receiving a request's headers, so that a client
	// sending them a byte at a time (slowloris) is cut off early.
	Header time.Duration
	// Read bounds receiving a whole request, body included: long enough
	// for a large upload over a slow network.
	Read time.Duration
	// BodyIdle cuts a request body that stops arriving for this long,
	// however much of Read is left: a stalled upload.
	BodyIdle time.Duration
	// Write bounds writing a response; a streamed response has it moved
	// on while its bytes flow, so that only a client that stops reading
	// runs into it.
	Write time.Duration
	// Idle bounds a kept-alive connection waiting for its next request.
	Idle time.Duration
}

// DefaultTimeouts are the production values.
var DefaultTimeouts = Timeouts{Header: 30 * time.Second, Read: 10 * time.Minute, BodyIdle: 60 * time.Second, Write: 60 * time.Second, Idle: 120 * time.Second}

func (t Timeouts) orDefaults() Timeouts {
	if t.Header <= 0 {
		t.Header = DefaultTimeouts.Header
	}
	if t.Read <= 0 {
		t.Read = DefaultTimeouts.Read
	}
	if t.BodyIdle <= 0 {
		t.BodyIdle = DefaultTimeouts.BodyIdle
	}
	if t.Write <= 0 {
		t.Write = DefaultTimeouts.Write
	}
	if t.Idle <= 0 {
		t.Idle = DefaultTimeouts.Idle
	}
	return t
}

// afterHeaders is the read deadline fasthttp sets once a request's headers
// are in: fasthttp's ReadTimeout is Header, and the body's first bytes,
// which fasthttp reads before the handler, must then arrive within
// BodyIdle; the handler's bodyReader takes over from there.
func (t Timeouts) afterHeaders(*fasthttp.RequestHeader) fasthttp.RequestConfig {
	return fasthttp.RequestConfig{ReadTimeout: min(t.BodyIdle, t.Read)}
}

// timeoutsKey holds the server's Timeouts in each request's Locals, for
// the functions that read bodies outside the Server's methods (decode).
const timeoutsKey = "timeouts"

// bodyReader reads a streamed request body and cuts it when it stalls:
// before reading it moves the connection's read deadline to BodyIdle from
// now, never past the end of the request's Read timeout. A deadline that
// passes is a request_timeout error, which it keeps, so that the handler
// answers with it whatever the store made of the failed read.
type bodyReader struct {
	r     io.Reader
	conn  net.Conn
	t     Timeouts
	end   time.Time
	moved time.Time
	err   error
}

// requestBody is the request body as a stream: large bodies arrive
// streamed (and are read through a bodyReader), small ones already read.
func requestBody(c *fiber.Ctx) io.Reader {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return bytes.NewReader(c.Body())
	}
	t, _ := c.Locals(timeoutsKey).(Timeouts)
	t = t.orDefaults()
	return &bodyReader{r: stream, conn: c.Context().Conn(), t: t, end: c.Context().Time().Add(t.Read)}
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if now := time.Now(); b.conn != nil && now.Sub(b.moved) > b.t.BodyIdle/8 {
		b.moved = now
		d := now.Add(b.t.BodyIdle)
		if b.end.Before(d) {
			d = b.end
		}
		b.conn.SetReadDeadline(d)
	}
	n, err := b.r.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		msg := fmt.Sprintf("the body stopped arriving for %v; send it again", b.t.BodyIdle)
		if !time.Now().Before(b.end) {
			msg = fmt.Sprintf("the request took longer than %v to arrive; send it again", b.t.Read)
		}
		b.err = &models.Error{Code: models.CodeRequestTimeout, Message: msg, Err: err}
		return n, b.err
	}
	return n, err
}

// bodyError is the error to answer a failed read of body with: its
// timeout when it timed out, else err.
func bodyError(body io.Reader, err error) error {
	if b, ok := body.(*bodyReader); ok && b.err != nil {
		return b.err
	}
	return err
}

// sendStream sends r as the answer's body (size -1: chunked), through a
// progressReader.
func sendStream(c *fiber.Ctx, r io.Reader, size int) error {
	t, _ := c.Locals(timeoutsKey).(Timeouts)
	return c.SendStream(&progressReader{r: r, conn: c.Context().Conn(), timeout: t.orDefaults().Write}, size)
}

// progressReader moves the connection's write deadline on each time
// fasthttp takes more of a streamed answer to send: fasthttp gives a whole
// response the write timeout, which a large download over a slow link
// needs more than, while a client that stops reading leaves fasthttp
// stuck in its last write until the deadline. It is moved at most every
// eighth of the timeout, so that it always lies most of one ahead.
type progressReader struct {
	r       io.Reader
	conn    net.Conn
	timeout time.Duration
	moved   time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if now := time.Now(); p.conn != nil && now.Sub(p.moved) > p.timeout/8 {
		p.moved = now
		p.conn.SetWriteDeadline(now.Add(p.timeout))
	}
	return n, err
}

// Close closes the stream, as fasthttp does when it is done with it: a
// blob's reader ends, a spooled export removes its file.
func (p *progressReader) Close() error {
	if c, ok := p.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
