package config

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/api/authn"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/media"
)

// Logger builds the structured logger.
func (c Config) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenStore connects to the configured database and migrates it.
func (c Config) OpenStore(ctx context.Context, log *slog.Logger) (*storage.DB, error) {
	cfg := storage.Config{MySQLDSN: c.MySQLDSN, MaxOpenConns: c.DBMaxConns, Logger: log}
	if c.MySQLDSN == "" {
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, err
		}
		cfg.SQLitePath = c.SQLitePath()
	}
	db, err := storage.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("migrated database", "dialect", db.Dialect(), "applied", applied)
	}
	return db, nil
}

// OpenBlobs connects to MinIO/S3, or opens the local blob directory.
func (c Config) OpenBlobs(ctx context.Context) (models.BlobStore, string, error) {
	if c.S3Endpoint == "" {
		s, err := blob.NewLocal(c.BlobDir())
		if err != nil {
			return nil, "", fmt.Errorf("local blob store: %w", err)
		}
		return s, "local:" + c.BlobDir(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := blob.NewMinIO(ctx, blob.S3Config{
		Endpoint: c.S3Endpoint, Bucket: c.S3Bucket, Region: c.S3Region,
		AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, UseTLS: c.S3TLS, PublicEndpoint: c.S3PublicEndpoint,
	})
	if err != nil {
		return nil, "", fmt.Errorf("S3 store at %s: %w", c.S3Endpoint, err)
	}
	return s, "s3:" + c.S3Endpoint + "/" + c.S3Bucket, nil
}

// Service builds the domain service over store; blobs may be nil for
// commands that touch no evidence bytes.
func (c Config) Service(store models.Store, blobs models.BlobStore) *models.Service {
	policy := models.DefaultAuthPolicy
	policy.RefreshTTL = c.RefreshTTL
	photos := media.New()
	return &models.Service{
		Store:      store,
		Now:        time.Now,
		NewID:      NewID,
		Hasher:     authn.DefaultArgon2id,
		Auth:       policy,
		Blobs:      blobs,
		Media:      photos,
		Renderer:   photos,
		Disclosure: models.DisclosurePolicy{CoordDecimals: c.PublicCoordDecimals},
		Deadlines: models.DeadlinePolicy{
			Zone:          c.Zone(),
			EscalateAfter: c.EscalateAfter,
		},
	}
}

// NewID returns a time-ordered UUID (v7), so that ids sort roughly by
// creation and keyset pages follow creation order.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }
