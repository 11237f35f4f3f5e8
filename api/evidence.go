package api

import (
	"context"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
)

// evidenceCreated answers POST /v1/evidence: the record, and where to send
// its bytes.
type evidenceCreated struct {
	Evidence models.Evidence     `json:"evidence"`
	Upload   models.UploadTarget `json:"upload"`
}

func (s *Server) createEvidence(c *fiber.Ctx) error {
	var in evidence.EvidenceInput
	if err := decode(c, &in); err != nil {
		return err
	}
	e, err := s.evidence.CreateEvidence(c.UserContext(), actor(c), in)
	if err != nil {
		return err
	}
	target, err := s.evidence.UploadTargetFor(c.UserContext(), e)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(evidenceCreated{Evidence: e, Upload: target})
}

// uploadEvidence streams PUT /v1/evidence/{id}/content into the blob store
// without holding the file in memory.
func (s *Server) uploadEvidence(c *fiber.Ctx) error {
	size := int64(c.Request().Header.ContentLength())
	if size < 0 {
		return models.Errorf(models.CodeSizeMismatch, "send the file with a Content-Length")
	}
	body := requestBody(c)
	e, err := s.evidence.UploadEvidence(c.UserContext(), actor(c), pathID(c), s.m.counted(viaAPI, body), size)
	if err != nil {
		return bodyError(body, err)
	}
	return c.JSON(e)
}

func (s *Server) completeEvidence(c *fiber.Ctx) error {
	e, err := s.evidence.CompleteEvidence(c.UserContext(), actor(c), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(e)
}

func evidenceFilter(c *fiber.Ctx) (f evidence.EvidenceFilter, err error) {
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
		e, key, err := s.evidence.EvidenceObject(c.UserContext(), actor(c), pathID(c), thumbnail)
		if err != nil {
			return err
		}
		if s.svc.Presign != nil {
			url, err := s.svc.Presign.PresignGet(c.UserContext(), key, evidence.PresignTTL)
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
		return sendStream(c, rc, int(info.Size))
	}
}

// multipart starts or resumes a multipart upload.
func (s *Server) multipart(c *fiber.Ctx) error {
	plan, err := s.evidence.MultipartUpload(c.UserContext(), actor(c), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(plan)
}

// finishMultipart assembles the parts and completes the evidence.
func (s *Server) finishMultipart(c *fiber.Ctx) error {
	e, err := s.evidence.FinishMultipart(c.UserContext(), actor(c), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(e)
}

// SignedBlobs serves the API-signed URLs of the local blob store: the
// token in the path is the credential, no bearer token is needed.
type SignedBlobs interface {
	ServePut(ctx context.Context, token, contentType string, size int64, r io.Reader) (etag string, err error)
	ServeGet(ctx context.Context, token string) (io.ReadCloser, models.BlobInfo, error)
}

func (s *Server) putBlob(c *fiber.Ctx) error {
	body := requestBody(c)
	etag, err := s.blobs.ServePut(c.UserContext(), c.Params("token"), c.Get(fiber.HeaderContentType),
		int64(c.Request().Header.ContentLength()), s.m.counted(viaSignedURL, body))
	if err != nil {
		return bodyError(body, err)
	}
	if etag != "" {
		c.Set(fiber.HeaderETag, `"`+etag+`"`)
	}
	return c.SendStatus(fiber.StatusOK)
}

func (s *Server) getBlob(c *fiber.Ctx) error {
	rc, info, err := s.blobs.ServeGet(c.UserContext(), c.Params("token"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, info.ContentType)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return sendStream(c, rc, int(info.Size))
}
