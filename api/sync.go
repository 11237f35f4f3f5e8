package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/i18n"
	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/models"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// pull serves POST /v1/sync/pull; the body is gzip-compressed when the
// device accepts it (the compress middleware on the route).
func (s *Server) pull(c *fiber.Ctx) error {
	var in contract.PullRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	res, err := s.sync.Pull(c.UserContext(), actor(c), fsync.PullRequest{
		ClientID: in.ClientID, Cursor: in.Cursor, SchemaVersion: in.SchemaVersion, Limit: in.Limit,
	})
	if err != nil {
		return err
	}
	out := contract.PullResponse{
		Changes: make(map[string]*contract.EntityChanges, len(res.Changes)), Cursor: res.Cursor,
		HasMore: res.HasMore, LastMutationID: res.LastMutationID, Reset: res.Reset,
	}
	for entity, ch := range res.Changes {
		out.Changes[entity] = &contract.EntityChanges{Upserts: ch.Upserts, Removes: ch.Removes}
	}
	return c.JSON(out)
}

// push serves POST /v1/sync/push.
func (s *Server) push(c *fiber.Ctx) error {
	var in contract.PushRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	req := fsync.PushRequest{ClientID: in.ClientID, SchemaVersion: in.SchemaVersion, Mutations: make([]fsync.Mutation, len(in.Mutations))}
	for i, m := range in.Mutations {
		req.Mutations[i] = fsync.Mutation{ID: m.ID, Name: m.Name, Args: m.Args}
	}
	res, err := s.sync.Push(c.UserContext(), actor(c), req)
	if err != nil {
		return err
	}
	out := contract.PushResponse{LastMutationID: res.LastMutationID, Results: make([]contract.MutationResult, len(res.Results))}
	l := localizer(c)
	for i, r := range res.Results {
		out.Results[i] = contract.MutationResult{ID: r.ID, Status: r.Status, Code: r.Code, Message: resultMessage(l, r), ServerVersion: r.ServerVersion}
	}
	return c.JSON(out)
}

// resultMessage is what the device tells its user about one mutation, in
// the language of the push's Accept-Language, from the same catalog as
// the API's problem details.
func resultMessage(l *i18n.Localizer, r fsync.MutationResult) string {
	switch {
	case r.Status == fsync.StatusRejected && r.Code != "":
		return message(l, models.Code(r.Code), r.Field, r.Args, r.Message)
	case r.Forgotten:
		return l.T("sync.result_forgotten", nil)
	}
	return r.Message
}
