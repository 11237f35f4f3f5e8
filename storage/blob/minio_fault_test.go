package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// TestMinIOOutage takes a private MinIO down under a read and a write in
// flight, and calls every operation while it is down: each failure must
// match models.ErrUnavailable, which the API answers with 503 and
// Retry-After (anything else is a 500, and a device gives up on a 4xx),
// and the store must work again, with its objects, once MinIO is back.
func TestMinIOOutage(t *testing.T) {
	srv := testenv.StartPrivateMinIO(t)
	ctx := context.Background()
	s, err := blob.NewMinIO(ctx, blob.S3Config{Endpoint: srv.Endpoint, Bucket: "fieldsync-outage", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	small := []byte("evidence that must survive")
	if _, err := s.Put(ctx, "evidence/kept", bytes.NewReader(small), int64(len(small)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 48<<20) // larger than the socket buffers, so the read is cut off
	rand.Read(big)
	if _, err := s.Put(ctx, "evidence/big", bytes.NewReader(big), int64(len(big)), "application/octet-stream"); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Get(ctx, "evidence/big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	// A write whose body stalls until MinIO is gone.
	pr, pw := io.Pipe()
	putErr := make(chan error, 1)
	go func() {
		_, err := s.Put(ctx, "evidence/cut", pr, int64(len(big)), "application/octet-stream")
		putErr <- err
	}()
	if _, err := pw.Write(big[:2<<20]); err != nil {
		t.Fatal(err)
	}

	if err := srv.Stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go pw.Write(big[2<<20:]) // unblocks the put, which must now fail
	unavailable := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, models.ErrUnavailable) {
			t.Errorf("%s while MinIO is down: %v; want ErrUnavailable", op, err)
		}
	}
	_, err = io.Copy(io.Discard, rc)
	unavailable("reading an object", err)
	select {
	case err := <-putErr:
		unavailable("a put in flight", err)
	case <-time.After(time.Minute):
		t.Fatal("a put in flight did not return after MinIO died")
	}
	_, err = s.Put(ctx, "evidence/new", bytes.NewReader(small), int64(len(small)), "text/plain")
	unavailable("put", err)
	_, _, err = s.Get(ctx, "evidence/kept")
	unavailable("get", err)
	_, err = s.Stat(ctx, "evidence/kept")
	unavailable("stat", err)
	unavailable("delete", s.Delete(ctx, "evidence/kept"))
	unavailable("list", s.List(ctx, "evidence/", func(models.BlobInfo) error { return nil }))
	unavailable("ping", s.Ping(ctx))
	_, err = s.StartMultipart(ctx, "incoming/x", "image/jpeg")
	unavailable("start multipart", err)

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	rc2, _, err := s.Get(ctx, "evidence/kept")
	if err != nil {
		t.Fatalf("get after the restart: %v", err)
	}
	got, err := io.ReadAll(rc2)
	rc2.Close()
	if err != nil || !bytes.Equal(got, small) {
		t.Fatalf("the object after the restart: %q, %v", got, err)
	}
	if _, err := s.Stat(ctx, "evidence/cut"); !models.IsNotFound(err) {
		t.Errorf("the put cut off by the outage left an object: %v", err)
	}
}
