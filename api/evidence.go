package api

import (
	"bytes"
	"io"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
)

// evidenceCreated answers POST /v1/evidence: the record, and where to send
// its bytes.
type evidenceCreated struct {
	Evidence models.Evidence     `json:"evidence"`
	Upload   models.UploadTarget `json:"upload"`
}

// presignTTL is how long upload and download URLs live.
const presignTTL = 15 * time.Minute

func (s *Server) createEvidence(c *fiber.Ctx) error {
	var in models.EvidenceInput
	if err := decode(c, &in); err != nil {
		return err
	}
	e, err := s.svc.CreateEvidence(c.UserContext(), actor(c), in)
	if err != nil {
		return err
	}
	target, err := s.uploadTarget(c, e)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(evidenceCreated{Evidence: e, Upload: target})
}

// uploadTarget is a presigned PUT when the store can sign one, else the
// streamed upload through the API (sent with the bearer token).
func (s *Server) uploadTarget(c *fiber.Ctx, e models.Evidence) (models.UploadTarget, error) {
	if e.Status != models.EvidencePending {
		return models.UploadTarget{}, nil
	}
	if s.presign != nil {
		return s.presign.PresignPut(c.UserContext(), e.ObjectKey, e.Size, e.SHA256, e.ContentType, presignTTL)
	}
	return models.UploadTarget{Method: fiber.MethodPut, URL: "/v1/evidence/" + e.ID + "/content",
		Headers: map[string]string{fiber.HeaderContentType: e.ContentType}}, nil
}

// uploadEvidence streams PUT /v1/evidence/{id}/content into the blob store
// without holding the file in memory.
func (s *Server) uploadEvidence(c *fiber.Ctx) error {
	size := int64(c.Request().Header.ContentLength())
	if size < 0 {
		return models.Errorf(models.CodeSizeMismatch, "send the file with a Content-Length")
	}
	var body io.Reader
	if stream := c.Context().RequestBodyStream(); stream != nil {
		body = stream
	} else {
		body = bytes.NewReader(c.Body())
	}
	e, err := s.svc.UploadEvidence(c.UserContext(), actor(c), pathID(c), body, size)
	if err != nil {
		return err
	}
	return c.JSON(e)
}

func (s *Server) completeEvidence(c *fiber.Ctx) error {
	e, err := s.svc.CompleteEvidence(c.UserContext(), actor(c), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(e)
}

func evidenceFilter(c *fiber.Ctx) (f models.EvidenceFilter, err error) {
	for name, dst := range map[string]*string{"task_id": &f.TaskID, "item_id": &f.ItemID, "verification_id": &f.VerificationID} {
		if *dst, err = idQuery(c, name); err != nil {
			return f, err
		}
	}
	return f, nil
}

// evidenceBytes serves the original or the thumbnail: a short-lived
// presigned redirect to the store, or streamed from the local store.
func (s *Server) evidenceBytes(thumbnail bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		e, key, err := s.svc.EvidenceObject(c.UserContext(), actor(c), pathID(c), thumbnail)
		if err != nil {
			return err
		}
		if s.presign != nil {
			url, err := s.presign.PresignGet(c.UserContext(), key, presignTTL)
			if err != nil {
				return err
			}
			c.Set(fiber.HeaderCacheControl, "private, no-store")
			return c.Redirect(url, fiber.StatusFound)
		}
		rc, info, err := s.svc.Blobs.Get(c.UserContext(), key)
		if err != nil {
			return err
		}
		ct := info.ContentType
		if !thumbnail && e.Media != nil {
			ct = e.Media.ContentType
		}
		c.Set(fiber.HeaderContentType, ct)
		c.Set(fiber.HeaderCacheControl, "private, max-age=300")
		c.Set("X-Content-SHA256", e.SHA256)
		return c.SendStream(rc, int(info.Size))
	}
}
