package sync

import (
	"context"

	"github.com/fieldsync/fieldsync/models"
)

// ReadLog is readLog, for the tests that read the log's rows as a pull
// does, up to its horizon (readAfter).
func (e *Engine) ReadLog(ctx context.Context, fn func(tx models.Tx, horizon int64) error) error {
	return e.readLog(ctx, fn)
}

// Enter is enter, for the test that holds the engine's slots.
func (e *Engine) Enter(ctx context.Context) (func(), error) { return e.enter(ctx) }
