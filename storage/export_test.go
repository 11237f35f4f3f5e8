package storage

// SetWALLimit sets the WAL size past which the SQLite checkpointer
// truncates it, for a test, and returns the function that restores it.
func SetWALLimit(pages int) (restore func()) {
	old := walLimit
	walLimit = pages
	return func() { walLimit = old }
}
