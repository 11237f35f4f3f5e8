package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/fieldsync/fieldsync/models"
)

// S3Config says where a MinIOStore keeps its objects.
type S3Config struct {
	// Endpoint is host:port; an http:// or https:// prefix is accepted and
	// overrides UseTLS.
	Endpoint  string
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string
	UseTLS    bool
	// PublicEndpoint, when set, is where devices reach the store (for
	// example https://files.example.cn behind a TLS proxy that keeps the
	// Host header): presigned URLs name it instead of Endpoint, which
	// stays the address the server itself talks to. Same form as Endpoint.
	PublicEndpoint string
}

// MinIOStore keeps objects in one bucket of MinIO or another S3-compatible
// server. Several fieldsyncd processes may share the bucket.
//
// List reports Key, Size and ModTime but leaves ContentType empty: S3's
// listing does not carry it (Stat does). Objects in the bucket whose keys
// ValidateKey refuses are not listed.
type MinIOStore struct {
	client *minio.Client
	// signer signs presigned URLs: client, or a client for the public
	// endpoint, which only signs (it never sends a request: the region is
	// known, so it has nothing to look up).
	signer *minio.Client
	bucket string
}

var _ models.BlobStore = (*MinIOStore)(nil)

const (
	// minioPartSize bounds what minio-go buffers per upload: objects of
	// unknown size, and known sizes above it, go up in parts of this size.
	// minio-go holds up to two parts while streaming: a 200 MB upload
	// through the API grows the heap by about 16 MB
	// (api/evidence_memory_test.go).
	minioPartSize = 8 << 20
	// minioSetupTimeout bounds NewMinIO when ctx has no earlier deadline.
	minioSetupTimeout = 10 * time.Second
	minioDialTimeout  = 5 * time.Second
	// minioRetries is small so that a dead server turns into a 503 within
	// about a second instead of minio-go's default ten tries (~8 s).
	minioRetries = 3
)

// NewMinIO connects to the server and creates the bucket if it is missing.
// An unreachable server fails fast with an error matching
// models.ErrUnavailable.
func NewMinIO(ctx context.Context, cfg S3Config) (*MinIOStore, error) {
	endpoint, secure, err := parseEndpoint(cfg.Endpoint, cfg.UseTLS)
	if err != nil {
		return nil, err
	}
	if err := s3utils.CheckValidBucketName(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("blob: minio bucket %q: %w", cfg.Bucket, err)
	}
	client, _, err := newMinIOClient(endpoint, secure, cfg, minioRetries)
	if err != nil {
		return nil, err
	}
	// Set-up uses a client of its own that does not retry, so that a
	// server that is down is reported at once.
	setup, tr, err := newMinIOClient(endpoint, secure, cfg, 1)
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	sctx, cancel := context.WithTimeout(ctx, minioSetupTimeout)
	defer cancel()
	if err := ensureBucket(sctx, setup, cfg.Bucket, cfg.Region); err != nil {
		what := fmt.Sprintf("blob: minio at %s, bucket %q", endpoint, cfg.Bucket)
		if sctx.Err() != nil { // no answer in time: as good as unreachable
			return nil, fmt.Errorf("%s: no answer: %w: %w", what, models.ErrUnavailable, err)
		}
		if sentinel := classifyMinIO(err); sentinel != nil {
			return nil, fmt.Errorf("%s: %w: %w", what, sentinel, err)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	signer := client
	if cfg.PublicEndpoint != "" {
		pub, pubTLS, err := parseEndpoint(cfg.PublicEndpoint, cfg.UseTLS)
		if err != nil {
			return nil, fmt.Errorf("public endpoint: %w", err)
		}
		if cfg.Region == "" {
			return nil, errors.New("blob: a public endpoint needs the region (S3Config.Region) to sign without asking the store")
		}
		if signer, _, err = newMinIOClient(pub, pubTLS, cfg, 1); err != nil {
			return nil, err
		}
	}
	return &MinIOStore{client: client, signer: signer, bucket: cfg.Bucket}, nil
}

func parseEndpoint(endpoint string, useTLS bool) (string, bool, error) {
	switch {
	case strings.HasPrefix(endpoint, "http://"):
		endpoint, useTLS = strings.TrimPrefix(endpoint, "http://"), false
	case strings.HasPrefix(endpoint, "https://"):
		endpoint, useTLS = strings.TrimPrefix(endpoint, "https://"), true
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	if endpoint == "" || strings.Contains(endpoint, "/") {
		return "", false, fmt.Errorf("blob: minio endpoint %q: want host:port", endpoint)
	}
	return endpoint, useTLS, nil
}

func newMinIOClient(endpoint string, secure bool, cfg S3Config, retries int) (*minio.Client, *http.Transport, error) {
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, nil, fmt.Errorf("blob: minio transport: %w", err)
	}
	tr.DialContext = (&net.Dialer{Timeout: minioDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	c, err := minio.New(endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     secure,
		Region:     cfg.Region,
		Transport:  tr,
		MaxRetries: retries,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("blob: minio client for %s: %w", endpoint, err)
	}
	return c, tr, nil
}

// ensureBucket creates the bucket unless it exists. Another process may
// create it between our check and our create; that is success too.
func ensureBucket(ctx context.Context, c *minio.Client, bucket, region string) error {
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil || ok {
		return err
	}
	err = c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region})
	if err == nil {
		return nil
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "BucketAlreadyOwnedByYou":
			return nil
		case "BucketAlreadyExists": // ours if we can see it, someone else's if not
			if ok, err2 := c.BucketExists(ctx, bucket); err2 == nil && ok {
				return nil
			}
		}
	}
	return err
}

// Client returns the underlying client, for presigning.
func (s *MinIOStore) Client() *minio.Client { return s.client }

// Bucket returns the bucket's name.
func (s *MinIOStore) Bucket() string { return s.bucket }

// Put streams r to the bucket. A body that fails, is cancelled or does not
// match size leaves no object (multipart uploads are aborted).
func (s *MinIOStore) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (models.BlobInfo, error) {
	contentType, err := checkPut(key, size, contentType)
	if err != nil {
		return models.BlobInfo{}, err
	}
	body := newBodyReader(ctx, r, size)
	if size == 0 {
		// minio-go sends an empty body without reading r; check here that
		// r is empty too.
		if _, err := body.Read(nil); err != io.EOF {
			return models.BlobInfo{}, fmt.Errorf("blob put %q: %w", key, err)
		}
	}
	up, err := s.client.PutObject(ctx, s.bucket, key, body, size, minio.PutObjectOptions{
		ContentType: contentType,
		PartSize:    minioPartSize,
	})
	if berr := body.failure(); berr != nil {
		if err == nil { // the server took it anyway: do not keep it
			s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
		}
		return models.BlobInfo{}, fmt.Errorf("blob put %q: %w", key, berr)
	}
	if err != nil {
		return models.BlobInfo{}, s.wrap(ctx, "put", key, err)
	}
	mod := up.LastModified
	if mod.IsZero() {
		mod = time.Now()
	}
	return models.BlobInfo{Key: key, Size: up.Size, ContentType: contentType, ModTime: mod}, nil
}

// Get opens the object; the caller closes it. The body is tied to ctx.
func (s *MinIOStore) Get(ctx context.Context, key string) (io.ReadCloser, models.BlobInfo, error) {
	if err := ValidateKey(key); err != nil {
		return nil, models.BlobInfo{}, err
	}
	// Core.GetObject gets body and info in one GET. Client.GetObject would
	// send a HEAD first and then a GET with If-Match, which fails when the
	// object is overwritten between the two.
	body, oi, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, models.BlobInfo{}, s.wrap(ctx, "get", key, err)
	}
	oi.Key = key
	return &objectReader{ReadCloser: body, s: s, ctx: ctx, key: key}, blobInfo(oi), nil
}

// objectReader translates the errors of reading an object's body: a
// connection that breaks in the middle (MinIO stopped or crashed) is the
// store being unavailable, exactly like a request that fails outright, so
// that a completion reading the bytes answers 503 and the device retries,
// rather than 500.
type objectReader struct {
	io.ReadCloser
	s   *MinIOStore
	ctx context.Context
	key string
}

func (r *objectReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.wrap(r.ctx, "read", r.key, err)
	}
	return n, err
}

// Stat returns the object's size, content type and modification time.
func (s *MinIOStore) Stat(ctx context.Context, key string) (models.BlobInfo, error) {
	if err := ValidateKey(key); err != nil {
		return models.BlobInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return models.BlobInfo{}, s.wrap(ctx, "stat", key, err)
	}
	return blobInfo(oi), nil
}

// Delete removes the object. Deleting a missing object is not an error.
func (s *MinIOStore) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	return s.wrap(ctx, "delete", key, s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}))
}

// List calls fn for every object whose key starts with prefix, in key
// order (S3 lists in byte order). fn's error stops it and is returned as is.
func (s *MinIOStore) List(ctx context.Context, prefix string, fn func(models.BlobInfo) error) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine when we return early
	for oi := range s.client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("blob list %q: %w", prefix, err)
		}
		if oi.Err != nil {
			return s.wrap(ctx, "list", prefix, oi.Err)
		}
		if ValidateKey(oi.Key) != nil {
			continue
		}
		if err := fn(blobInfo(oi)); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil { // the channel closes quietly on cancel
		return fmt.Errorf("blob list %q: %w", prefix, err)
	}
	return nil
}

// Ping reports whether the server answers and the bucket exists.
func (s *MinIOStore) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.wrap(ctx, "ping", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("blob: minio bucket %q is missing: %w", s.bucket, models.ErrUnavailable)
	}
	return nil
}

func blobInfo(oi minio.ObjectInfo) models.BlobInfo {
	return models.BlobInfo{Key: oi.Key, Size: oi.Size, ContentType: oi.ContentType, ModTime: oi.LastModified}
}

// wrap translates a minio-go error into models errors, keeping the cause.
func (s *MinIOStore) wrap(ctx context.Context, op, key string, err error) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("blob %s %q", op, key)
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("%s: %w", what, err)
		}
		return fmt.Errorf("%s: %w: %w", what, cerr, err)
	}
	if sentinel := classifyMinIO(err); sentinel != nil {
		return fmt.Errorf("%s: %w: %w", what, sentinel, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// classifyMinIO returns ErrNotFound for a missing object, ErrUnavailable
// when the server cannot be reached or says it is overloaded or starting,
// and nil otherwise.
func classifyMinIO(err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == "NoSuchKey" || resp.Code == "NoSuchObject":
			return models.ErrNotFound
		case resp.Code == "NoSuchBucket", resp.Code == "XMinioServerNotInitialized", resp.Code == "SlowDown",
			resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusBadGateway,
			resp.StatusCode == http.StatusGatewayTimeout,
			// 499 ClientDisconnected: MinIO shutting down cancels the
			// requests in flight; we are still there (a cancel of ours is
			// ctx.Err, which wrap reports first).
			resp.Code == "ClientDisconnected", resp.StatusCode == 499:
			return models.ErrUnavailable
		}
		return nil
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	// minio-go replaces an EOF (the server hung up mid-request) by an
	// error of its own that only its own test recognises.
	case minio.IsNetworkOrHostDown(err, false),
		errors.As(err, &opErr), errors.As(err, &dnsErr),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return models.ErrUnavailable
	}
	return nil
}
