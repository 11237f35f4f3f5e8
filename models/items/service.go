// Package items manages the records the rectification is organised by:
// units and users, rectification items (with their import from a
// spreadsheet and the escalation of overdue ones), sites, checklist
// templates and inspection tasks.
package items

import "github.com/fieldsync/fieldsync/models"

// Service creates, changes and reads units, users, items, sites,
// templates and tasks.
type Service struct{ *models.Service }

// New returns the items service over core.
func New(core *models.Service) *Service { return &Service{Service: core} }
