package blob

import (
	"context"
	"crypto/md5" //nolint:gosec // S3's part ETag, an identity, not a security check
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Multipart uploads on the local store. A part's ETag is the hex MD5 of
// its bytes, as on S3, so a device may compare it with its own. ListParts
// reads the parts to compute their ETags, and CompleteMultipart checks them
// while it streams the parts into the object; both are fine for photos and
// short videos on the embedded single-process set-up this store is for.

const (
	localUploadInfo       = "info"
	localPartContentType  = "application/octet-stream"
	localUploadInfoFormat = "application/json"
)

type localUpload struct {
	Key         string    `json:"key"`
	ContentType string    `json:"content_type"`
	Started     time.Time `json:"started"`
}

// StartMultipart begins an upload of key with a random id.
func (p *LocalPresigner) StartMultipart(ctx context.Context, key, contentType string) (string, error) {
	if err := p.check(ctx, key); err != nil {
		return "", err
	}
	ct, err := checkPut(key, 0, contentType)
	if err != nil {
		return "", err
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	info, _ := json.Marshal(localUpload{Key: key, ContentType: ct, Started: p.now().UTC()})
	if _, err := p.Store.Put(ctx, uploadKey(id, localUploadInfo), strings.NewReader(string(info)), int64(len(info)), localUploadInfoFormat); err != nil {
		return "", err
	}
	return id, nil
}

// PresignPart signs the PUT of one part of an upload that exists. The
// target has no headers to send beyond Content-Length, which HTTP clients
// set themselves.
func (p *LocalPresigner) PresignPart(ctx context.Context, key, uploadID string, part int, expiry time.Duration) (models.UploadTarget, error) {
	if err := p.check(ctx, key); err != nil {
		return models.UploadTarget{}, err
	}
	if err := checkPresignPart(key, uploadID, part); err != nil {
		return models.UploadTarget{}, err
	}
	exp, err := checkExpiry(expiry)
	if err != nil {
		return models.UploadTarget{}, err
	}
	if _, err := p.upload(ctx, key, uploadID); err != nil {
		return models.UploadTarget{}, err
	}
	url, at := p.sign(tokenClaims{M: http.MethodPut, K: key, S: -1, U: uploadID, P: part}, exp)
	return models.UploadTarget{Method: http.MethodPut, URL: url, Headers: map[string]string{}, ExpiresAt: at}, nil
}

// PutPart stores one part from a verified grant. size is the request's
// Content-Length and must be known (S3 requires it too); the part replaces
// an earlier upload of the same number. The answer's ETag is what the
// handler sends back in the ETag response header.
func (p *LocalPresigner) PutPart(ctx context.Context, g Grant, r io.Reader, size int64) (models.UploadedPart, error) {
	if err := p.check(ctx, g.Key); err != nil {
		return models.UploadedPart{}, err
	}
	if g.Method != http.MethodPut || !g.IsPart() {
		return models.UploadedPart{}, &models.Error{Code: models.CodeTokenInvalid, Field: "token", Message: "this URL is not for a part upload"}
	}
	if err := (Grant{Method: http.MethodPut, UploadID: g.UploadID}).CheckRequest("", size); err != nil {
		return models.UploadedPart{}, err
	}
	if err := checkPresignPart(g.Key, g.UploadID, g.Part); err != nil {
		return models.UploadedPart{}, err
	}
	if _, err := p.upload(ctx, g.Key, g.UploadID); err != nil {
		return models.UploadedPart{}, err
	}
	h := md5.New() //nolint:gosec // see above
	partKey := uploadKey(g.UploadID, partName(g.Part))
	body := &recordingReader{r: r}
	info, err := p.Store.Put(ctx, partKey, io.TeeReader(body, h), size, localPartContentType)
	if err != nil {
		return models.UploadedPart{}, body.explain(err, size)
	}
	// An abort that ran while the part streamed in has deleted the rest;
	// do not leave this part behind.
	if _, err := p.upload(ctx, g.Key, g.UploadID); err != nil {
		p.Store.Delete(context.WithoutCancel(ctx), partKey)
		return models.UploadedPart{}, err
	}
	return models.UploadedPart{Number: g.Part, Size: info.Size, ETag: hex.EncodeToString(h.Sum(nil))}, nil
}

// ListParts returns the parts uploaded so far, in ascending order of
// number. An unknown (completed, aborted) upload, or one that belongs to
// another key, gives an error matching models.ErrNotFound.
func (p *LocalPresigner) ListParts(ctx context.Context, key, uploadID string) ([]models.UploadedPart, error) {
	if err := p.check(ctx, key); err != nil {
		return nil, err
	}
	if _, err := p.upload(ctx, key, uploadID); err != nil {
		return nil, err
	}
	parts := []models.UploadedPart{}
	err := p.Store.List(ctx, uploadKey(uploadID, ""), func(bi models.BlobInfo) error {
		n, ok := partNumber(bi.Key, uploadID)
		if !ok {
			return nil
		}
		etag, err := p.partETag(ctx, bi.Key)
		if errors.Is(err, models.ErrNotFound) {
			return nil // replaced or aborted while we listed
		}
		if err != nil {
			return err
		}
		parts = append(parts, models.UploadedPart{Number: n, Size: bi.Size, ETag: etag})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return parts, nil
}

func (p *LocalPresigner) partETag(ctx context.Context, key string) (string, error) {
	rc, _, err := p.Store.Get(ctx, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := md5.New() //nolint:gosec // see above
	if _, err := io.Copy(h, rc); err != nil {
		return "", fmt.Errorf("blob list parts: reading %q: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CompleteMultipart streams the listed parts, in order, into the object
// (one part open at a time, never the whole file in memory), checking each
// part's ETag on the way, and then removes the upload. A missing part, a
// wrong ETag, or a part other than the last that holds less than
// MinPartSize bytes gives CodeValidation and leaves the upload as it was.
// After success the upload is gone: a retry fails with ErrNotFound, and the
// caller should Stat the key instead.
func (p *LocalPresigner) CompleteMultipart(ctx context.Context, key, uploadID string, parts []models.UploadedPart) error {
	if err := p.check(ctx, key); err != nil {
		return err
	}
	if err := checkCompleteParts(parts); err != nil {
		return err
	}
	up, err := p.upload(ctx, key, uploadID)
	if err != nil {
		return err
	}
	var total int64
	readers := make([]io.Reader, len(parts))
	for i, part := range parts {
		pk := uploadKey(uploadID, partName(part.Number))
		bi, err := p.Store.Stat(ctx, pk)
		if errors.Is(err, models.ErrNotFound) {
			return models.FieldError(models.CodeValidation, "parts", "part %d was not uploaded", part.Number)
		}
		if err != nil {
			return err
		}
		if i < len(parts)-1 && bi.Size < MinPartSize {
			return partTooSmall(part.Number, bi.Size)
		}
		total += bi.Size
		readers[i] = &partReader{ctx: ctx, store: p.Store, key: pk, number: part.Number, etag: normalizeETag(part.ETag)}
	}
	defer func() {
		for _, r := range readers {
			r.(*partReader).close()
		}
	}()
	if _, err := p.Store.Put(ctx, key, io.MultiReader(readers...), total, up.ContentType); err != nil {
		if me := models.AsError(err); me != nil && me.Field == "size" {
			// A part changed between Stat and read (a concurrent
			// re-upload); the caller lists the parts again.
			return &models.Error{Code: models.CodeValidation, Field: "parts", Err: err,
				Message: "a part changed while the upload was being completed; list the parts and complete again"}
		}
		return err
	}
	// The upload disappears with its info object; leftover parts (after a
	// crash right here) are removed by AbortStale.
	bg := context.WithoutCancel(ctx)
	if err := p.Store.Delete(bg, uploadKey(uploadID, localUploadInfo)); err == nil {
		p.deleteUpload(bg, uploadID)
	}
	return nil
}

// AbortMultipart removes the upload and its parts. Aborting an unknown
// upload succeeds (as on S3; so does naming the wrong key, which removes
// nothing).
func (p *LocalPresigner) AbortMultipart(ctx context.Context, key, uploadID string) error {
	if err := p.check(ctx, key); err != nil {
		return err
	}
	if _, err := p.upload(ctx, key, uploadID); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return nil
		}
		return err
	}
	return p.deleteUpload(ctx, uploadID)
}

// AbortStale removes multipart uploads started before cutoff, and parts
// whose upload is gone, and returns how many uploads it removed. Run it
// periodically (MinIO does the same for its uploads after 24 h).
func (p *LocalPresigner) AbortStale(ctx context.Context, cutoff time.Time) (int, error) {
	if p.Store == nil {
		return 0, errors.New("blob: LocalPresigner has no store")
	}
	type state struct {
		started time.Time
		hasInfo bool
		newest  time.Time
	}
	uploads := map[string]*state{}
	var order []string
	err := p.Store.List(ctx, uploadsPrefix, func(bi models.BlobInfo) error {
		id, name, ok := strings.Cut(strings.TrimPrefix(bi.Key, uploadsPrefix), "/")
		if !ok {
			return nil
		}
		st := uploads[id]
		if st == nil {
			st = &state{}
			uploads[id] = st
			order = append(order, id)
		}
		if bi.ModTime.After(st.newest) {
			st.newest = bi.ModTime
		}
		if name == localUploadInfo {
			st.hasInfo, st.started = true, bi.ModTime
			if up, err := p.readUpload(ctx, id); err == nil && !up.Started.IsZero() {
				st.started = up.Started
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range order {
		st := uploads[id]
		if (st.hasInfo && st.started.Before(cutoff)) || (!st.hasInfo && st.newest.Before(cutoff)) {
			if err := p.deleteUpload(ctx, id); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// upload returns the upload's info, or ErrNotFound when there is no such
// upload for key.
func (p *LocalPresigner) upload(ctx context.Context, key, uploadID string) (localUpload, error) {
	if !validLocalUploadID(uploadID) {
		return localUpload{}, fmt.Errorf("blob upload %q: %w", uploadID, models.ErrNotFound)
	}
	up, err := p.readUpload(ctx, uploadID)
	if err != nil {
		return localUpload{}, err
	}
	if up.Key != key {
		return localUpload{}, fmt.Errorf("blob upload %q is not for key %q: %w", uploadID, key, models.ErrNotFound)
	}
	return up, nil
}

func (p *LocalPresigner) readUpload(ctx context.Context, uploadID string) (localUpload, error) {
	rc, _, err := p.Store.Get(ctx, uploadKey(uploadID, localUploadInfo))
	if err != nil {
		return localUpload{}, fmt.Errorf("blob upload %q (completed, aborted or never started): %w", uploadID, err)
	}
	defer rc.Close()
	var up localUpload
	if err := json.NewDecoder(io.LimitReader(rc, 1<<16)).Decode(&up); err != nil {
		return localUpload{}, fmt.Errorf("blob upload %q: corrupt info: %w", uploadID, err)
	}
	return up, nil
}

// deleteUpload removes every object of the upload, its info last so that
// an interrupted abort can be retried.
func (p *LocalPresigner) deleteUpload(ctx context.Context, uploadID string) error {
	var keys []string
	if err := p.Store.List(ctx, uploadKey(uploadID, ""), func(bi models.BlobInfo) error {
		keys = append(keys, bi.Key)
		return nil
	}); err != nil {
		return err
	}
	info := uploadKey(uploadID, localUploadInfo)
	for _, k := range append(keys, info) {
		if err := p.Store.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// partReader reads one stored part, opening it on first read and checking
// its MD5 against the ETag the caller listed when it ends.
type partReader struct {
	ctx    context.Context
	store  *LocalStore
	key    string
	number int
	etag   string
	rc     io.ReadCloser
	h      hash.Hash
	done   bool
}

func (r *partReader) Read(b []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	if r.rc == nil {
		rc, _, err := r.store.Get(r.ctx, r.key)
		if errors.Is(err, models.ErrNotFound) {
			return 0, models.FieldError(models.CodeValidation, "parts", "part %d was removed while the upload was being completed", r.number)
		}
		if err != nil {
			return 0, err
		}
		r.rc, r.h = rc, md5.New() //nolint:gosec // see above
	}
	n, err := r.rc.Read(b)
	r.h.Write(b[:n])
	if err == io.EOF {
		r.close()
		r.done = true
		if got := hex.EncodeToString(r.h.Sum(nil)); !strings.EqualFold(got, r.etag) {
			return n, models.FieldError(models.CodeValidation, "parts",
				"part %d has ETag %s, not the listed %s (it was uploaded again); list the parts and complete again", r.number, got, r.etag)
		}
	}
	return n, err
}

func (r *partReader) close() {
	if r.rc != nil {
		r.rc.Close()
		r.rc = nil
	}
}

func uploadKey(uploadID, name string) string { return uploadsPrefix + uploadID + "/" + name }

func partName(n int) string { return fmt.Sprintf("%05d", n) }

func partNumber(key, uploadID string) (int, bool) {
	name := strings.TrimPrefix(key, uploadKey(uploadID, ""))
	if len(name) != 5 {
		return 0, false
	}
	n, err := strconv.Atoi(name)
	return n, err == nil && n >= 1 && n <= MaxParts
}

func validLocalUploadID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}
