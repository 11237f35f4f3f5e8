// Package evidence takes in field evidence: the declaration, the upload
// (streamed, or direct to the blob store with presigned and multipart
// URLs), the completion that reads the bytes and sets the flags a
// reviewer weighs (evidence_flags.go), and the reads of evidence and its
// objects.
package evidence

import "github.com/fieldsync/fieldsync/models"

// Service takes in and serves evidence.
type Service struct{ *models.Service }

// New returns the evidence service over core.
func New(core *models.Service) *Service { return &Service{Service: core} }
