// Package reporting reads the items back out: the ledger (台账), the
// periodic dispatch report (调度) and the public disclosure (信息公开) of
// progress and of the photos an admin or supervisor publishes.
package reporting

import (
	"sync"

	"github.com/fieldsync/fieldsync/models"
)

// Service reports on the rectification.
type Service struct {
	*models.Service
	// progress is the last count of the public progress, under progressMu.
	progressMu sync.Mutex
	progress   *PublicProgress
}

// New returns the reporting service over core.
func New(core *models.Service) *Service { return &Service{Service: core} }
