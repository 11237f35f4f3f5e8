package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/items"
)

type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

// tokenResponse is the answer to login and refresh.
type tokenResponse struct {
	AccessToken  string      `json:"access_token"`
	RefreshToken string      `json:"refresh_token"`
	TokenType    string      `json:"token_type"`
	ExpiresIn    int         `json:"expires_in"`
	User         userSummary `json:"user"`
	// MustChangePassword asks the app to have the user choose a new
	// password (POST /v1/me/password) before anything else.
	MustChangePassword bool `json:"must_change_password"`
}

type userSummary struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	UnitID   string `json:"unit_id"`
}

func (s *Server) login(c *fiber.Ctx) error {
	var in auth.LoginInput
	if err := decode(c, &in); err != nil {
		return err
	}
	in.Address = c.IP()
	g, err := s.auth.Login(c.UserContext(), in)
	if err != nil {
		return err
	}
	return s.grant(c, g)
}

func (s *Server) refresh(c *fiber.Ctx) error {
	var in refreshBody
	if err := decode(c, &in); err != nil {
		return err
	}
	g, err := s.auth.Refresh(c.UserContext(), in.RefreshToken)
	if err != nil {
		return err
	}
	return s.grant(c, g)
}

func (s *Server) grant(c *fiber.Ctx, g auth.Grant) error {
	access, err := s.tokens.Issue(g)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(tokenResponse{
		AccessToken:        access,
		RefreshToken:       g.RefreshToken,
		TokenType:          "Bearer",
		ExpiresIn:          int(s.tokens.TTL.Seconds()),
		User:               userSummary{ID: g.User.ID, Username: g.User.Username, Role: g.User.Role, UnitID: g.User.UnitID},
		MustChangePassword: g.User.MustChangePassword,
	})
}

func (s *Server) logout(c *fiber.Ctx) error {
	if err := s.auth.Logout(c.UserContext(), actor(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// changePassword answers POST /v1/me/password.
func (s *Server) changePassword(c *fiber.Ctx) error {
	var in items.PasswordChange
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := s.items.ChangeOwnPassword(c.UserContext(), actor(c), in); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) me(c *fiber.Ctx) error {
	a := actor(c)
	return c.JSON(fiber.Map{"id": a.UserID, "username": a.Username, "role": a.Role, "unit_id": a.UnitID, "device_id": a.DeviceID,
		"must_change_password": a.MustChangePassword})
}
