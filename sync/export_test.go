package sync

import (
	"context"

	"github.com/fieldsync/fieldsync/models"
)

// ReadLog is readLog, for the commit-order test's puller, which reads the
// log as a pull does.
func (e *Engine) ReadLog(ctx context.Context, fn func(tx models.Tx, horizon int64) error) error {
	return e.readLog(ctx, fn)
}
