package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldsync/fieldsync/cmd/internal/config"
	"github.com/fieldsync/fieldsync/storage/blob"
)

// directStore reaches the server's blob store without the server, for
// the side-by-side comparisons: the same MinIO bucket through minio-go,
// or the local store's directory.
type directStore struct {
	minio  *minio.Client
	bucket string
	local  *blob.LocalStore
}

func openDirect(cfg config.Config) (*directStore, error) {
	if cfg.S3Endpoint == "" {
		l, err := blob.NewLocal(cfg.BlobDir())
		if err != nil {
			return nil, fmt.Errorf("the local blob store %s: %w", cfg.BlobDir(), err)
		}
		return &directStore{local: l}, nil
	}
	c, err := minio.New(cfg.S3Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.S3AccessKey, cfg.S3SecretKey, ""),
		Secure: cfg.S3TLS, Region: cfg.S3Region})
	if err != nil {
		return nil, err
	}
	return &directStore{minio: c, bucket: cfg.S3Bucket}, nil
}

func (d *directStore) name() string {
	if d.minio != nil {
		return "minio-go"
	}
	return "local disk"
}

// put writes data under key with one PutObject (MinIO only: the local
// store has no client of its own to compare with).
func (d *directStore) put(ctx context.Context, key string, data []byte) error {
	_, err := d.minio.PutObject(ctx, d.bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "image/jpeg"})
	return err
}

func (d *directStore) remove(ctx context.Context, key string) error {
	return d.minio.RemoveObject(ctx, d.bucket, key, minio.RemoveObjectOptions{})
}

// read streams one object to nowhere and returns its size.
func (d *directStore) read(ctx context.Context, key string) (int64, error) {
	var rc io.ReadCloser
	if d.minio != nil {
		obj, err := d.minio.GetObject(ctx, d.bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return 0, err
		}
		rc = obj
	} else {
		r, _, err := d.local.Get(ctx, key)
		if err != nil {
			return 0, err
		}
		rc = r
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

// rssSampler follows a process's resident memory (VmRSS, from /proc)
// while a phase runs.
type rssSampler struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

// sampleRSS starts sampling pid every 10 ms; nil when pid is 0.
func sampleRSS(pid int) *rssSampler {
	if pid == 0 {
		return nil
	}
	r := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := rssKB(pid); err == nil && kb*1024 > r.peak.Load() {
				r.peak.Store(kb * 1024)
			}
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// end stops sampling and returns the peak in bytes (0 without a sampler).
func (r *rssSampler) end() int64 {
	if r == nil {
		return 0
	}
	close(r.stop)
	<-r.done
	return r.peak.Load()
}

func rssKB(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}
