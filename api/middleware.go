package api

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
)

const (
	requestIDKey = "request_id"
	actorKey     = "actor"
)

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDKey).(string)
	return id
}

// dropBadRequestID discards a client's X-Request-ID that is too long or
// has characters other than letters, digits, '-', '_' and '.', so that a
// fresh id is made instead of copying junk into logs and responses.
func dropBadRequestID(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	ok := len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		b := id[i]
		ok = b == '-' || b == '_' || b == '.' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
	}
	if !ok {
		c.Request().Header.Del(fiber.HeaderXRequestID)
	}
	return c.Next()
}

// gzipOnly narrows Accept-Encoding to gzip, the one encoding the sync
// contract promises, so that the compress middleware never answers with
// brotli or deflate.
func gzipOnly(c *fiber.Ctx) error {
	if strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Request().Header.Set(fiber.HeaderAcceptEncoding, "gzip")
	} else {
		c.Request().Header.Del(fiber.HeaderAcceptEncoding)
	}
	return c.Next()
}

// accessLog writes one structured line per request and measures it.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	s.m.inFlight.Inc()
	defer s.m.inFlight.Dec()
	err := c.Next()
	if err != nil {
		// Let the error handler write the response before the status is read.
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			return herr
		}
	}
	elapsed := time.Since(start)
	s.m.observe(c, elapsed)
	a, _ := c.Locals(actorKey).(models.Actor)
	s.log.Info("request", "request_id", requestID(c), "method", c.Method(), "path", c.Path(),
		"status", c.Response().StatusCode(), "duration_ms", elapsed.Milliseconds(),
		"user", a.Username, "device", a.DeviceID)
	return nil
}

// authenticate verifies the bearer token and loads the actor; the session
// is read on every request so that revocation takes effect at once.
func (s *Server) authenticate(c *fiber.Ctx) error {
	// Whatever follows is personal: set before any refusal or answer, a
	// handler that knows better overrides it.
	c.Set(fiber.HeaderCacheControl, "no-store")
	h := c.Get(fiber.HeaderAuthorization)
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return models.Errorf(models.CodeUnauthenticated, "send an access token: Authorization: Bearer <token>")
	}
	claims, err := s.tokens.Verify(token)
	if err != nil {
		return err
	}
	a, err := s.auth.Authenticate(c.UserContext(), claims.SessionID)
	if err != nil {
		return err
	}
	if a.UserID != claims.Subject {
		return models.Errorf(models.CodeTokenInvalid, "the access token is not valid")
	}
	c.Locals(actorKey, a)
	if a.MustChangePassword && !allowedBeforePasswordChange[c.Method()+" "+c.Route().Path] {
		return models.Errorf(models.CodePasswordChangeRequired, "choose a new password first (POST /v1/me/password): an administrator reset it")
	}
	return c.Next()
}

// allowedBeforePasswordChange are the authenticated routes a user whose
// password an administrator reset may call before choosing a new one
// (refreshing needs no access token and stays allowed too).
var allowedBeforePasswordChange = map[string]bool{
	"POST /v1/me/password": true,
	"GET /v1/me":           true,
	"POST /v1/auth/logout": true,
}

func actor(c *fiber.Ctx) models.Actor {
	a, _ := c.Locals(actorKey).(models.Actor)
	return a
}

// securityHeaders sets the headers every response carries: no MIME
// sniffing, no Referer leaving the server, and no framing (X-Frame-Options
// for old browsers, CSP frame-ancestors for new ones). The CSP carries
// frame-ancestors only, so that a route group serving pages (the web
// console) adds its own directives by setting Content-Security-Policy
// itself; handlers run after this and may overwrite any of them.
func securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	h.Set(fiber.HeaderContentSecurityPolicy, "frame-ancestors 'none'")
	return c.Next()
}
