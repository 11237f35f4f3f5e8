package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
)

// The acceptance workflow: a unit submits an item, supervisors review and
// decide, admins reopen.
func (s *Server) reviewRoutes(p authed) {
	p.Get("/review-queue", list(s.itemFilter, s.accept.ReviewQueue))
	p.Get("/items/:id/review", get(s.accept.Review))
	p.Post("/items/:id/submit", act(s.accept.SubmitForAcceptance))
	p.Post("/items/:id/decisions", act(s.accept.Decide))
	p.Get("/items/:id/decisions", get(func(ctx context.Context, a models.Actor, id string) (listResponse[models.Decision], error) {
		d, err := s.accept.Decisions(ctx, a, id)
		return listResponse[models.Decision]{Items: d}, err
	}))
	p.Post("/items/:id/reopen", act(s.accept.Reopen))
}

// act builds the handler of an action on one record that creates another
// (a submission, a decision): decode, call, 201.
func act[In, Out any](fn func(context.Context, models.Actor, string, In) (Out, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in In
		if err := decode(c, &in); err != nil {
			return err
		}
		out, err := fn(c.UserContext(), actor(c), pathID(c), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(out)
	}
}
