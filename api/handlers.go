package api

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
)

// create, get, update and list build the handlers of the resource
// endpoints from the service methods: decode, call, encode.

func create[In, Out any](fn func(context.Context, models.Actor, In) (Out, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in In
		if err := decode(c, &in); err != nil {
			return err
		}
		out, err := fn(c.UserContext(), actor(c), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(out)
	}
}

func get[Out any](fn func(context.Context, models.Actor, string) (Out, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		out, err := fn(c.UserContext(), actor(c), pathID(c))
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

func update[In, Out any](fn func(context.Context, models.Actor, string, In) (Out, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in In
		if err := decode(c, &in); err != nil {
			return err
		}
		out, err := fn(c.UserContext(), actor(c), pathID(c), in)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

func list[F any, T models.Record](filter func(*fiber.Ctx) (F, error), fn func(context.Context, models.Actor, F, models.ListParams) (models.Page[T], error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		f, err := filter(c)
		if err != nil {
			return err
		}
		p, err := listParams(c)
		if err != nil {
			return err
		}
		page, err := fn(c.UserContext(), actor(c), f, p)
		if err != nil {
			return err
		}
		return c.JSON(listResponse[T]{Items: page.Items, NextPageToken: pageToken(page.Next)})
	}
}

func noFilter(*fiber.Ctx) (struct{}, error) { return struct{}{}, nil }

// enumQuery reads an optional enumerated query parameter.
func enumQuery(c *fiber.Ctx, name string, allowed []string) (string, error) {
	v := c.Query(name)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", models.FieldError(models.CodeInvalidEnum, name, "unknown %s %q", name, v)
}

// idQuery reads an optional id query parameter.
func idQuery(c *fiber.Ctx, name string) (string, error) {
	v := c.Query(name)
	if v != "" && !models.ValidID(v) {
		return "", models.FieldError(models.CodeInvalidID, name, "%s must be a UUID", name)
	}
	return v, nil
}

func unitFilter(c *fiber.Ctx) (f items.UnitFilter, err error) {
	if f.ParentID, err = idQuery(c, "parent_id"); err != nil {
		return f, err
	}
	f.Kind, err = enumQuery(c, "kind", models.UnitKinds)
	return f, err
}

func userFilter(c *fiber.Ctx) (f items.UserFilter, err error) {
	if f.UnitID, err = idQuery(c, "unit_id"); err != nil {
		return f, err
	}
	f.Role, err = enumQuery(c, "role", models.Roles)
	return f, err
}

func (s *Server) itemFilter(c *fiber.Ctx) (f models.ItemFilter, err error) {
	if f.Status, err = enumQuery(c, "status", models.ItemMachine.Statuses()); err != nil {
		return f, err
	}
	if f.UnitID, err = idQuery(c, "unit_id"); err != nil {
		return f, err
	}
	if f.SupervisionLevel, err = enumQuery(c, "supervision_level", models.SupervisionLevels); err != nil {
		return f, err
	}
	f.Category, f.Area = c.Query("category"), c.Query("area")
	switch c.Query("overdue") {
	case "":
	case "true":
		now := s.svc.Now().UTC()
		f.OverdueAt = &now
	default:
		return f, models.FieldError(models.CodeValidation, "overdue", "overdue must be true when given")
	}
	switch c.Query("flagged") {
	case "":
	case "true":
		f.Flagged = true
	default:
		return f, models.FieldError(models.CodeValidation, "flagged", "flagged must be true when given")
	}
	return f, nil
}

// sortedItemFilter is itemFilter with the list's order (sort, one of
// models.ItemSorts, optionally with a leading "-"), for GET /v1/items.
func (s *Server) sortedItemFilter(c *fiber.Ctx) (models.ItemFilter, error) {
	f, err := s.itemFilter(c)
	if err != nil {
		return f, err
	}
	f.Sort = c.Query("sort")
	if !models.ValidItemSort(f.Sort) {
		return f, models.FieldError(models.CodeInvalidEnum, "sort", "sort must be one of %s, optionally with a leading -", strings.Join(models.ItemSorts, ", "))
	}
	return f, nil
}

func siteFilter(c *fiber.Ctx) (f items.SiteFilter, err error) {
	if f.UnitID, err = idQuery(c, "unit_id"); err != nil {
		return f, err
	}
	f.Kind, err = enumQuery(c, "kind", items.SiteKinds)
	return f, err
}

func taskFilter(c *fiber.Ctx) (f items.TaskFilter, err error) {
	if f.Status, err = enumQuery(c, "status", models.TaskMachine.Statuses()); err != nil {
		return f, err
	}
	if f.Kind, err = enumQuery(c, "kind", models.TaskKinds); err != nil {
		return f, err
	}
	for name, dst := range map[string]*string{"assignee_id": &f.AssigneeID, "item_id": &f.ItemID, "site_id": &f.SiteID} {
		if *dst, err = idQuery(c, name); err != nil {
			return f, err
		}
	}
	return f, nil
}

type assignBody struct {
	Version    *int64  `json:"version"`
	AssigneeID *string `json:"assignee_id"`
}

type cancelBody struct {
	Version *int64 `json:"version"`
}

func (s *Server) assignTask(c *fiber.Ctx) error {
	var in assignBody
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.AssigneeID == nil {
		return models.FieldError(models.CodeRequired, "assignee_id", "assignee_id is required (empty to unassign)")
	}
	t, err := s.items.AssignTask(c.UserContext(), actor(c), pathID(c), *in.AssigneeID, in.Version)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Server) cancelTask(c *fiber.Ctx) error {
	var in cancelBody
	if err := decode(c, &in); err != nil {
		return err
	}
	t, err := s.items.CancelTask(c.UserContext(), actor(c), pathID(c), in.Version)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Server) revokeDevice(c *fiber.Ctx) error {
	d, err := s.auth.RevokeDevice(c.UserContext(), actor(c), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(d)
}
