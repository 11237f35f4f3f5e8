package api

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
)

// drainLimit bounds what is read of a refused request's body before the
// answer: a photo's worth; beyond it the client must make do with a reset.
const drainLimit = 16 << 20

// Problem is an RFC 9457 problem detail with fieldsync's stable code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// errorHandler turns every error into a problem+json response. Errors
// without a code are logged with their detail and answered with a generic
// 500, so internals never reach a client.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	return s.problem(c, err, nil)
}

// problem answers err as a problem+json document, with the members of
// extra (RFC 9457 extension members) beside the standard ones. The detail
// is in the language of the request's Accept-Language (Chinese unless it
// asks for English); code and field never change with the language.
func (s *Server) problem(c *fiber.Ctx, err error, extra fiber.Map) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		err = fiberError(fe)
	}
	e := models.AsError(err)
	if e == nil || e.Code.Kind() == models.KindInternal {
		s.log.Error("request failed", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "err", err)
		e = &models.Error{Code: models.CodeInternal, Message: "an internal error occurred; it has been logged"}
	}
	copied := *e // sentinels are shared: never change them in place
	e = &copied
	status := e.Code.Kind().HTTPStatus()
	if status == http.StatusServiceUnavailable {
		s.log.Warn("backend unavailable", "request_id", requestID(c), "path", c.Path(), "err", err)
	}
	if e.Code.Kind() == models.KindUnavailable && e.RetryAfter == 0 {
		e.RetryAfter = defaultRetryAfter
	}
	if e.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	if stream := c.Context().RequestBodyStream(); stream != nil {
		// A refused upload may leave its body unread on the connection;
		// close it rather than read the rest as the next request. Closing
		// a socket with unread data resets it, and a client still sending
		// then sees the reset instead of this answer (a device would never
		// learn that its upload URL expired), so the rest of a body of up
		// to drainLimit is read and dropped first.
		if n := c.Request().Header.ContentLength(); n >= 0 && n <= drainLimit {
			io.Copy(io.Discard, io.LimitReader(stream, drainLimit))
		}
		c.Context().SetConnectionClose()
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	p := Problem{
		Type:      "urn:fieldsync:problem:" + string(e.Code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    message(localizer(c), e.Code, e.Field, e.Args, e.Message),
		Code:      string(e.Code),
		Field:     e.Field,
		RequestID: requestID(c),
	}
	if extra == nil {
		return c.Status(status).JSON(p, "application/problem+json")
	}
	out := fiber.Map{"type": p.Type, "title": p.Title, "status": p.Status, "detail": p.Detail, "code": p.Code, "request_id": p.RequestID}
	if p.Field != "" {
		out["field"] = p.Field
	}
	for k, v := range extra {
		out[k] = v
	}
	return c.Status(status).JSON(out, "application/problem+json")
}

// fiberError translates the errors Fiber itself raises.
func fiberError(fe *fiber.Error) error {
	switch fe.Code {
	case http.StatusRequestEntityTooLarge:
		return models.Errorf(models.CodeBodyTooLarge, "the request body is larger than the limit")
	case http.StatusNotFound:
		return models.Errorf(models.CodeRouteNotFound, "no such endpoint")
	case http.StatusMethodNotAllowed:
		return models.Errorf(models.CodeMethodNotAllowed, "method not allowed on this endpoint")
	case http.StatusUnsupportedMediaType:
		return models.Errorf(models.CodeUnsupportedMediaType, "send application/json")
	case http.StatusRequestTimeout:
		return models.Errorf(models.CodeRequestTimeout, "the request took too long to arrive")
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return models.Errorf(models.CodeRequestRejected, "%s", fe.Message)
	}
	return fe
}
