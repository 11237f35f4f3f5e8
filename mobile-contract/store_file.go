package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileStore is a Store kept in memory and written to one JSON file after
// every Update: to a temporary file in the same directory, synced, then
// renamed over the old one, so the file always holds the state after some
// complete Update. It models a phone that can be killed and restarted: a
// new FileStore on the same path (and a new Client on it) carries on where
// the old one stopped.
//
// Every Update rewrites the whole file, which is fine for the thousands of
// records a device holds, not for millions. Only one FileStore may use a
// path at a time.
type FileStore struct {
	MemoryStore
	path string
}

var _ Store = (*FileStore)(nil)

// NewFileStore opens the store at path, creating an empty one (and the
// file) if there is none.
func NewFileStore(path string) (*FileStore, error) {
	s := &FileStore{MemoryStore: MemoryStore{st: newState()}, path: path}
	s.commit = s.write
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := s.write(&s.st); err != nil {
			return nil, err
		}
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("filestore: %w", err)
	}
	var st storeState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("filestore: %s: %w", path, err)
	}
	if st.Format != storeFormat {
		return nil, fmt.Errorf("filestore: %s: format %d, want %d", path, st.Format, storeFormat)
	}
	if st.Records == nil {
		st.Records = map[string]map[string]json.RawMessage{}
	}
	if st.Outbox == nil {
		st.Outbox = []Mutation{}
	}
	s.st = st
	return s, nil
}

// Path returns the file the store is written to.
func (s *FileStore) Path() string { return s.path }

// write replaces the file with st. The caller holds the lock.
func (s *FileStore) write(st *storeState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("filestore: encode: %w", err)
	}
	if err := writeFileAtomic(s.path, data); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it
// and renames it over path, so that a crash leaves either the old or the
// new content.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable. Not every platform can sync a
	// directory; the rename has happened either way.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
