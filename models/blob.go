package models

import (
	"context"
	"io"
	"time"
)

// BlobInfo describes a stored object.
type BlobInfo struct {
	Key         string
	Size        int64
	ContentType string
	ModTime     time.Time
}

// BlobStore keeps evidence bytes. Keys are derived by the server, never
// taken from client file names; implementations must still refuse keys that
// could escape their namespace ("..", absolute paths, empty segments).
//
// Put streams r into the store without buffering the whole object in memory.
// size is the declared length, or -1 when unknown. A missing object is
// reported as an error matching ErrNotFound.
type BlobStore interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (BlobInfo, error)
	Get(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error)
	Stat(ctx context.Context, key string) (BlobInfo, error)
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix, in key order.
	List(ctx context.Context, prefix string, fn func(BlobInfo) error) error
	// Ping reports whether the store is reachable; /readyz uses it.
	Ping(ctx context.Context) error
}
