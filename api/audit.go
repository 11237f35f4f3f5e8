package api

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/audit"
)

// listAudit serves GET /v1/audit: chained audit entries in seq order,
// admins only. Its page token carries the last seq of the page, not an id:
// the log is paged in chain order.
func (s *Server) listAudit(c *fiber.Ctx) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	p, err := auditParams(c)
	if err != nil {
		return err
	}
	page, err := s.audit.ListAudit(c.UserContext(), actor(c), f, p)
	if err != nil {
		return err
	}
	token := ""
	if page.Next > 0 {
		token = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(page.Next, 10)))
	}
	return c.JSON(listResponse[models.AuditEntry]{Items: page.Items, NextPageToken: token})
}

func auditFilter(c *fiber.Ctx) (f audit.Filter, err error) {
	if f.Action, err = enumQuery(c, "action", models.AuditActions); err != nil {
		return f, err
	}
	if f.Entity, err = enumQuery(c, "entity", models.AuditEntities); err != nil {
		return f, err
	}
	if f.RecordID, err = idQuery(c, "record_id"); err != nil {
		return f, err
	}
	if f.ActorID, err = idQuery(c, "actor_id"); err != nil {
		return f, err
	}
	if f.From, err = timeQuery(c, "from"); err != nil {
		return f, err
	}
	f.To, err = timeQuery(c, "to")
	return f, err
}

// timeQuery reads an optional RFC 3339 time query parameter.
func timeQuery(c *fiber.Ctx, name string) (*time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, models.FieldError(models.CodeValidation, name, "%s must be an RFC 3339 time such as 2026-11-28T09:00:00Z", name)
	}
	return &t, nil
}

// auditParams reads limit and the seq page token.
func auditParams(c *fiber.Ctx) (audit.Params, error) {
	var p audit.Params
	var err error
	if p.Limit, err = limitParam(c); err != nil {
		return p, err
	}
	if v := c.Query("page_token"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil || n < 1 {
			return p, models.FieldError(models.CodeInvalidCursor, "page_token", "page_token is not valid")
		}
		p.After = n
	}
	return p, nil
}
