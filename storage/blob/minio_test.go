package blob_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/blob/blobtest"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

func TestMinIO(t *testing.T) {
	env := testenv.MinIO(t)
	mustMinIO(t, env, freshBucket()) // skip (or fail under CI) once, not per subtest
	t.Logf("blob suite running on MinIO at %s", env.Endpoint)
	blobtest.Run(t, func(t *testing.T) models.BlobStore { return mustMinIO(t, env, freshBucket()) })
}

// Processes starting together all create the bucket; all must succeed.
func TestMinIOBucketCreateRace(t *testing.T) {
	env := testenv.MinIO(t)
	bucket := freshBucket()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { mustMinIO(t, env, bucket) })
	}
	wg.Wait()
}

func TestMinIOUnreachable(t *testing.T) {
	start := time.Now()
	_, err := blob.NewMinIO(context.Background(), blob.S3Config{
		Endpoint: "127.0.0.1:1", Bucket: "fieldsync-unreachable", AccessKey: "x", SecretKey: "y",
	})
	if err == nil || !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("NewMinIO(127.0.0.1:1) = %v; want an error matching ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("NewMinIO(127.0.0.1:1) took %v; want it to fail fast", d)
	}
	t.Logf("error: %v", err)
}

// A server that accepts connections and never answers must not hang
// NewMinIO past the caller's deadline.
func TestMinIOSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = blob.NewMinIO(ctx, blob.S3Config{Endpoint: ln.Addr().String(), Bucket: "fieldsync-silent", AccessKey: "x", SecretKey: "y"})
	if !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("NewMinIO against a silent server = %v; want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("NewMinIO against a silent server took %v with a 1 s deadline", d)
	}
}

// A MinIO that goes away in the middle of a request must mean
// ErrUnavailable (503), however it shows (each found by the fault tests in
// cmd/fieldsyncd, where a thumbnail upload cut off so was a 500):
//   - killed, it hangs up without an answer, an EOF which minio-go turns
//     into an error of its own ("Connection closed by foreign host");
//   - shutting down, it cancels the requests in flight and answers them
//     499 ClientDisconnected, though the client is still there.
func TestMinIOGoingAway(t *testing.T) {
	cases := map[string]func(c net.Conn){
		"hangs up": func(net.Conn) {},
		"499 ClientDisconnected": func(c net.Conn) {
			body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ClientDisconnected</Code>` +
				`<Message>Client disconnected before response was ready</Message></Error>`
			fmt.Fprintf(c, "HTTP/1.1 499 Client Closed Request\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		},
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer c.Close()
						if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
							answer(c)
						}
					}()
				}
			}()
			_, err = blob.NewMinIO(context.Background(), blob.S3Config{Endpoint: ln.Addr().String(), Bucket: "fieldsync-going-away", Region: "us-east-1",
				AccessKey: "x", SecretKey: "y"})
			if !errors.Is(err, models.ErrUnavailable) {
				t.Errorf("NewMinIO against a server that %s = %v; want ErrUnavailable", name, err)
			}
		})
	}
}

// Once the server is gone, operations fail quickly with ErrUnavailable
// (the API answers 503), not with a generic error.
func TestMinIOServerGone(t *testing.T) {
	env := testenv.MinIO(t)
	direct := mustMinIO(t, env, freshBucket()) // skips when there is no server; removes the bucket
	proxy := startProxy(t, env.Endpoint)
	ctx := context.Background()
	s, err := blob.NewMinIO(ctx, blob.S3Config{
		Endpoint: proxy.Addr().String(), Bucket: direct.Bucket(), AccessKey: env.AccessKey, SecretKey: env.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	blobtest.MustPut(t, s, "k", []byte("x"), "")
	proxy.Close()

	start := time.Now()
	_, err = s.Stat(ctx, "k")
	if !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("Stat with the server gone = %v; want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("Ping with the server gone = %v; want ErrUnavailable", err)
	}
	if _, err := s.Put(ctx, "k2", strings.NewReader("x"), 1, ""); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("Put with the server gone = %v; want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("three operations with the server gone took %v; want them to fail fast", d)
	}
}

// proxy forwards TCP connections to a target until Close, which also
// cuts the connections it forwards.
type proxy struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{Listener: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() { p.Close() })
	return p
}

func (p *proxy) Close() error {
	err := p.Listener.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	return err
}

func freshBucket() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "fieldsync-test-" + hex.EncodeToString(b)
}

// mustMinIO opens a store on bucket (creating it) and removes the bucket,
// with everything in it, when the test ends.
func mustMinIO(tb testing.TB, env testenv.S3, bucket string) *blob.MinIOStore {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := blob.NewMinIO(ctx, blob.S3Config{
		Endpoint: env.Endpoint, Bucket: bucket, AccessKey: env.AccessKey, SecretKey: env.SecretKey,
	})
	if errors.Is(err, models.ErrUnavailable) {
		testenv.Require(tb, "MinIO at "+env.Endpoint, err)
	}
	if err != nil {
		tb.Fatalf("NewMinIO: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := s.Client().RemoveBucketWithOptions(ctx, s.Bucket(), minio.RemoveBucketOptions{ForceDelete: true})
		if err != nil && minio.ToErrorResponse(err).Code != "NoSuchBucket" {
			tb.Errorf("removing bucket %s: %v", s.Bucket(), err)
		}
	})
	return s
}
