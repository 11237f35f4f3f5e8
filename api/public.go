package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// publicCache lets browsers and proxies keep the public disclosure for
// five minutes: it is the same for everyone, and a photo withdrawn from it
// disappears from caches within that time.
const publicCache = "public, max-age=300"

// The public disclosure (信息公开) is read without a token: these routes
// sit outside the authentication middleware and ignore any Authorization
// header.

func (s *Server) publicProgress(c *fiber.Ctx) error {
	p, err := s.report.PublicProgress(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, publicCache)
	return c.JSON(p)
}

func (s *Server) publicItems(c *fiber.Ctx) error {
	p, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := s.report.PublicItems(c.UserContext(), p)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, publicCache)
	return c.JSON(listResponse[reporting.PublicItem]{Items: page.Items, NextPageToken: pageToken(page.Next)})
}

// publicPhoto streams the stripped copy; it never redirects to the blob
// store, whose URLs would outlive a withdrawal.
func (s *Server) publicPhoto(c *fiber.Ctx) error {
	rc, info, err := s.report.PublicPhoto(c.UserContext(), pathID(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/jpeg")
	c.Set(fiber.HeaderCacheControl, publicCache)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return sendStream(c, rc, int(info.Size))
}

type publicBody struct {
	Public *bool `json:"public"`
}

func (s *Server) setEvidencePublic(c *fiber.Ctx) error {
	var in publicBody
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Public == nil {
		return models.FieldError(models.CodeRequired, "public", "public is required (true or false)")
	}
	d, err := s.report.SetEvidencePublic(c.UserContext(), actor(c), pathID(c), *in.Public)
	if err != nil {
		return err
	}
	return c.JSON(d)
}
