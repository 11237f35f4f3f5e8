// Package blob implements models.BlobStore on local disk (LocalStore) and
// on MinIO or any S3-compatible server (MinIOStore). Both refuse the same
// keys, default the content type the same way, treat deleting a missing
// object as success, and pass the conformance suite in blobtest.
package blob

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// LocalStore keeps objects as files under one directory:
//
//	<dir>/objects/<key>   one file per object
//	<dir>/tmp/            uploads in progress, renamed into objects/ when complete
//
// An object file begins with one header line that carries its content type,
// `fieldsync-blob/1 {"content_type":"image/jpeg"}` and a newline, followed by
// the bytes. Keeping the metadata inside the file means one rename replaces
// bytes and content type together: there is no moment, and no crash point,
// at which a reader sees new bytes with old metadata or an object without its
// sidecar. A file without the header (dropped in by hand) is served as-is
// with the content type application/octet-stream.
//
// The local store is meant for one process (the embedded default); several
// fieldsyncd processes share MinIO instead. Because objects are files, it
// cannot hold both "a" and "a/b"; such a Put fails with CodeInvalidID.
type LocalStore struct {
	root    string
	objects string
	tmp     string
}

var _ models.BlobStore = (*LocalStore)(nil)

const (
	localObjectsDir = "objects"
	localTmpDir     = "tmp"
	headerMagic     = "fieldsync-blob/1 "
	// staleTemp is the age after which NewLocal removes an abandoned upload
	// (a process that crashed mid-Put); a live upload keeps its mtime fresh.
	staleTemp = 24 * time.Hour
)

type localHeader struct {
	ContentType string `json:"content_type"`
}

// NewLocal opens (creating if needed) a local store in dir and removes
// uploads abandoned by a crashed process.
func NewLocal(dir string) (*LocalStore, error) {
	if dir == "" {
		return nil, errors.New("blob: local store needs a directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: local store %q: %w", dir, err)
	}
	s := &LocalStore{
		root:    abs,
		objects: filepath.Join(abs, localObjectsDir),
		tmp:     filepath.Join(abs, localTmpDir),
	}
	for _, d := range []string{s.objects, s.tmp} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blob: local store: %w", err)
		}
	}
	s.removeStaleTemps(time.Now().Add(-staleTemp))
	return s, nil
}

// Dir returns the store's root directory.
func (s *LocalStore) Dir() string { return s.root }

// Put writes r to a temporary file, fsyncs it and renames it over the key,
// so a reader never sees a partial object and a failed or cancelled Put
// leaves nothing behind (and leaves an existing object untouched).
func (s *LocalStore) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (_ models.BlobInfo, err error) {
	contentType, err = checkPut(key, size, contentType)
	if err != nil {
		return models.BlobInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return models.BlobInfo{}, fmt.Errorf("blob put %q: %w", key, err)
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return models.BlobInfo{}, localErr("put", key, err)
	}
	tmpName := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmpName)
		}
	}()
	hdr, _ := json.Marshal(localHeader{ContentType: contentType})
	if _, err = f.Write(append(append([]byte(headerMagic), hdr...), '\n')); err != nil {
		return models.BlobInfo{}, localErr("put", key, err)
	}
	n, err := io.Copy(f, newBodyReader(ctx, r, size))
	if err != nil {
		return models.BlobInfo{}, localErr("put", key, err)
	}
	if err = f.Sync(); err != nil {
		return models.BlobInfo{}, localErr("put", key, err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return models.BlobInfo{}, localErr("put", key, err)
	}
	if err = ctx.Err(); err != nil {
		return models.BlobInfo{}, fmt.Errorf("blob put %q: %w", key, err)
	}
	dst := s.path(key)
	if err = install(tmpName, dst); err != nil {
		return models.BlobInfo{}, localErr("put", key, err)
	}
	info := models.BlobInfo{Key: key, Size: n, ContentType: contentType, ModTime: time.Now()}
	if fi, err := os.Stat(dst); err == nil {
		info.ModTime = fi.ModTime()
	}
	return info, nil
}

// install renames tmp to dst, creating dst's directories. A concurrent
// Delete may remove a directory it just emptied between our MkdirAll and
// Rename; then we simply try again.
func install(tmp, dst string) error {
	dir := filepath.Dir(dst)
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		err := os.Rename(tmp, dst)
		if err == nil {
			return syncDir(dir)
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt >= 10 {
			return err
		}
	}
}

// Get opens the object for reading; the caller closes it. Reads fail once
// ctx is done.
func (s *LocalStore) Get(ctx context.Context, key string) (io.ReadCloser, models.BlobInfo, error) {
	if err := ValidateKey(key); err != nil {
		return nil, models.BlobInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, models.BlobInfo{}, fmt.Errorf("blob get %q: %w", key, err)
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, models.BlobInfo{}, localErr("get", key, err)
	}
	info, body, err := readObject(f, key)
	if err != nil {
		f.Close()
		return nil, models.BlobInfo{}, localErr("get", key, err)
	}
	return &fileBody{ctx: ctx, r: body, f: f}, info, nil
}

// Stat returns the object's size, content type and modification time.
func (s *LocalStore) Stat(ctx context.Context, key string) (models.BlobInfo, error) {
	if err := ValidateKey(key); err != nil {
		return models.BlobInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return models.BlobInfo{}, fmt.Errorf("blob stat %q: %w", key, err)
	}
	return s.stat(key)
}

func (s *LocalStore) stat(key string) (models.BlobInfo, error) {
	f, err := os.Open(s.path(key))
	if err != nil {
		return models.BlobInfo{}, localErr("stat", key, err)
	}
	defer f.Close()
	info, _, err := readObject(f, key)
	if err != nil {
		return models.BlobInfo{}, localErr("stat", key, err)
	}
	return info, nil
}

// Delete removes the object and the directories it leaves empty. Deleting
// a missing object is not an error (as on S3), so retries are harmless.
func (s *LocalStore) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob delete %q: %w", key, err)
	}
	p := s.path(key)
	if fi, err := os.Lstat(p); err != nil || fi.IsDir() {
		return nil // missing, or only a directory of other keys
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return localErr("delete", key, err)
	}
	dir := filepath.Dir(p)
	syncDir(dir)
	for ; dir != s.objects && strings.HasPrefix(dir, s.objects); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty (or gone): stop
			break
		}
	}
	return nil
}

// List calls fn for every object whose key starts with prefix, in byte
// order of the keys. fn's error stops the walk and is returned as is.
func (s *LocalStore) List(ctx context.Context, prefix string, fn func(models.BlobInfo) error) error {
	if err := s.walk(ctx, s.objects, "", prefix, fn); err != nil {
		return err
	}
	return nil
}

func (s *LocalStore) walk(ctx context.Context, dir, keyPrefix, prefix string, fn func(models.BlobInfo) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && keyPrefix != "" {
			return nil // removed by a concurrent Delete
		}
		return localErr("list", prefix, err)
	}
	// Key order is not file-name order: directory "a" holds keys "a/…",
	// which sort after "a-b" because '/' > '-'. Sort directories as "a/".
	sortName := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(sortName(a), sortName(b)) })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("blob list %q: %w", prefix, err)
		}
		key := keyPrefix + e.Name()
		if e.IsDir() {
			sub := key + "/"
			if strings.HasPrefix(sub, prefix) || strings.HasPrefix(prefix, sub) {
				if err := s.walk(ctx, filepath.Join(dir, e.Name()), sub, prefix, fn); err != nil {
					return err
				}
			}
			continue
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) || ValidateKey(key) != nil {
			continue
		}
		info, err := s.stat(key)
		if errors.Is(err, models.ErrNotFound) {
			continue // deleted while we walked
		}
		if err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Ping reports whether the store's directory is writable.
func (s *LocalStore) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.tmp, "ping-*")
	if err != nil {
		return fmt.Errorf("blob: local store %s is not writable: %w: %w", s.root, models.ErrUnavailable, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func (s *LocalStore) path(key string) string {
	return filepath.Join(s.objects, filepath.FromSlash(key))
}

func (s *LocalStore) removeStaleTemps(cutoff time.Time) {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(s.tmp, e.Name()))
		}
	}
}

// readObject parses f's header and returns the object's info and a reader
// positioned at its first byte.
func readObject(f *os.File, key string) (models.BlobInfo, io.Reader, error) {
	fi, err := f.Stat()
	if err != nil {
		return models.BlobInfo{}, nil, err
	}
	if !fi.Mode().IsRegular() {
		return models.BlobInfo{}, nil, fs.ErrNotExist // a directory of other keys
	}
	br := bufio.NewReaderSize(f, 4096)
	info := models.BlobInfo{Key: key, Size: fi.Size(), ContentType: defaultContentType, ModTime: fi.ModTime()}
	if magic, _ := br.Peek(len(headerMagic)); string(magic) == headerMagic {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return models.BlobInfo{}, nil, fmt.Errorf("corrupt object header: %w", err)
		}
		var h localHeader
		if err := json.Unmarshal(bytes.TrimPrefix(line, []byte(headerMagic)), &h); err != nil {
			return models.BlobInfo{}, nil, fmt.Errorf("corrupt object header: %w", err)
		}
		if h.ContentType != "" {
			info.ContentType = h.ContentType
		}
		info.Size -= int64(len(line))
	}
	return info, br, nil
}

// fileBody is the reader Get returns: the object's bytes after the header,
// cut off when ctx is done (as an HTTP body from MinIO would be).
type fileBody struct {
	ctx context.Context
	r   io.Reader
	f   *os.File
}

func (b *fileBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}

func (b *fileBody) Close() error { return b.f.Close() }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// localErr translates file-system errors into models errors.
func localErr(op, key string, err error) error {
	var me *models.Error
	switch {
	case errors.As(err, &me), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("blob %s %q: %w", op, key, err)
	case op == "put" && (errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY)):
		return &models.Error{Code: models.CodeInvalidID, Field: "key", Err: err,
			Message: fmt.Sprintf("blob key %q conflicts with another key: the local store cannot hold both \"a\" and \"a/b\"", key)}
	case op != "put" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)):
		return fmt.Errorf("blob %s %q: %w", op, key, models.ErrNotFound)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("blob %s %q: %w: %w", op, key, models.ErrUnavailable, err)
	}
	return fmt.Errorf("blob %s %q: %w", op, key, err)
}
