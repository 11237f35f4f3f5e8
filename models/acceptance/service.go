// Package acceptance is the acceptance and write-off (验收销号) of
// rectification items: a submission with its acceptance checks, the
// evidence set a decision is bound to and what blocks acceptance, the
// review queue, the decisions (accept, reject, reopen) and the evidence
// pack of an item.
package acceptance

import "github.com/fieldsync/fieldsync/models"

// Service submits, reviews and decides items.
type Service struct{ *models.Service }

// New returns the acceptance service over core.
func New(core *models.Service) *Service { return &Service{Service: core} }
