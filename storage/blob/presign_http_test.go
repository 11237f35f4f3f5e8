package blob_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// HTTP plumbing for the presign tests: the two backends, a stand-in for
// the API's /v1/blobs/{token} handler, and a phone that PUTs and GETs.

var testSigningKey = []byte("fieldsync-test-signing-key-0123456789abcdef")

func newLocalBackend(t *testing.T) *presignBackend {
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	p := &blob.LocalPresigner{Store: store, Key: testSigningKey, Now: clock.Now}
	srv := httptest.NewServer(blobHandler(p))
	t.Cleanup(srv.Close)
	p.BaseURL = srv.URL + "/" // the trailing slash is ignored
	return &presignBackend{
		p:     p,
		store: store,
		advance: func(d time.Duration) {
			clock.Advance(d)
		},
		alterSignature: func(u string) string {
			payload, sig, _ := strings.Cut(lastSegment(u), ".")
			return strings.TrimSuffix(u, lastSegment(u)) + payload + "." + flipMiddle(sig)
		},
		alterKey: func(u string) string {
			payload, sig, _ := strings.Cut(lastSegment(u), ".")
			raw, err := base64.RawURLEncoding.DecodeString(payload)
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			if err := json.Unmarshal(raw, &claims); err != nil {
				t.Fatal(err)
			}
			claims["k"] = otherKey(claims["k"].(string))
			raw, _ = json.Marshal(claims)
			return strings.TrimSuffix(u, lastSegment(u)) + base64.RawURLEncoding.EncodeToString(raw) + "." + sig
		},
		pendingUploads: func(t *testing.T) int {
			ids := map[string]bool{}
			store.List(bg, "uploads/", func(bi models.BlobInfo) error {
				id, _, _ := strings.Cut(strings.TrimPrefix(bi.Key, "uploads/"), "/")
				ids[id] = true
				return nil
			})
			return len(ids)
		},
	}
}

func newMinIOBackend(t *testing.T) *presignBackend {
	s := mustMinIO(t, testenv.MinIO(t), freshBucket())
	return &presignBackend{
		p:       s,
		store:   s,
		advance: time.Sleep, // minio-go signs with the real clock
		alterSignature: func(u string) string {
			before, sig, ok := strings.Cut(u, "X-Amz-Signature=")
			if !ok {
				t.Fatalf("no X-Amz-Signature in %s", u)
			}
			sig, rest, _ := strings.Cut(sig, "&")
			if rest != "" {
				rest = "&" + rest
			}
			return before + "X-Amz-Signature=" + flipMiddle(sig) + rest
		},
		alterKey: func(u string) string {
			parsed, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			parsed.Path = otherKey(parsed.Path)
			parsed.RawPath = ""
			return parsed.String()
		},
		pendingUploads: func(t *testing.T) int {
			res, err := minio.Core{Client: s.Client()}.ListMultipartUploads(bg, s.Bucket(), "", "", "", "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			return len(res.Uploads)
		},
	}
}

// otherKey turns the key testPresignAlteredURL signs into the other key
// it stores.
func otherKey(key string) string { return strings.Replace(key, "altered.jpg", "other.jpg", 1) }

func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }

// flipMiddle changes one character in the middle of s, keeping it in the
// hex and base64url alphabets.
func flipMiddle(s string) string {
	i := len(s) / 2
	c := byte('a')
	if s[i] == 'a' {
		c = 'b'
	}
	return s[:i] + string(c) + s[i+1:]
}

// blobHandler is a stand-in for the API's /v1/blobs/{token} handler.
func blobHandler(p *blob.LocalPresigner) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.URL.Path, blob.LocalBlobPath)
		if !ok {
			http.NotFound(w, r)
			return
		}
		g, err := p.Verify(token, r.Method)
		if err != nil {
			writeError(w, err)
			return
		}
		switch r.Method {
		case http.MethodPut:
			if err := g.CheckRequest(r.Header.Get("Content-Type"), r.ContentLength); err != nil {
				writeError(w, err)
				return
			}
			if g.IsPart() {
				part, err := p.PutPart(r.Context(), g, r.Body, r.ContentLength)
				if err != nil {
					writeError(w, err)
					return
				}
				w.Header().Set("ETag", `"`+part.ETag+`"`)
				return
			}
			if err := p.PutObject(r.Context(), g, r.Body, r.ContentLength); err != nil {
				writeError(w, err)
			}
		case http.MethodGet, http.MethodHead:
			rc, info, err := p.Store.Get(r.Context(), g.Key)
			if err != nil {
				writeError(w, err)
				return
			}
			defer rc.Close()
			w.Header().Set("Content-Type", info.ContentType)
			w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
			if r.Method == http.MethodGet {
				io.Copy(w, rc)
			}
		}
	})
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch models.ErrorCode(err).Kind() {
	case models.KindUnauthenticated:
		status = http.StatusForbidden // as S3 answers a bad or expired signature
	case models.KindInvalid:
		status = http.StatusBadRequest
	case models.KindNotFound:
		status = http.StatusNotFound
	}
	http.Error(w, err.Error(), status)
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// phone is a device's HTTP client; kill drops its connections, as when the
// app is killed.
type phone struct {
	client *http.Client
	tr     *http.Transport
}

func newPhone() *phone {
	tr := &http.Transport{}
	return &phone{client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, tr: tr}
}

func (p *phone) kill() { p.tr.CloseIdleConnections() }

type response struct {
	status int
	body   string
	etag   string
}

// put sends body to target with target's headers, changed by mutate, and
// fails the test when no answer arrives.
func put(t *testing.T, target models.UploadTarget, body io.Reader, size int64, mutate func(http.Header), phones ...*phone) response {
	t.Helper()
	r, err := tryPut(target, body, size, mutate, phones...)
	if err != nil {
		t.Fatalf("PUT %s: %v", target.URL, err)
	}
	return r
}

func tryPut(target models.UploadTarget, body io.Reader, size int64, mutate func(http.Header), phones ...*phone) (response, error) {
	req, err := http.NewRequestWithContext(bg, target.Method, target.URL, body)
	if err != nil {
		return response{}, err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody // else Go sends an empty body chunked
	}
	for k, v := range target.Headers {
		if !strings.EqualFold(k, "Content-Length") { // Go sends req.ContentLength
			req.Header.Set(k, v)
		}
	}
	if mutate != nil {
		mutate(req.Header)
	}
	return do(req, phones...)
}

func get(t *testing.T, u string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(bg, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return r
}

func do(req *http.Request, phones ...*phone) (response, error) {
	client := http.DefaultClient
	if len(phones) > 0 {
		client = phones[0].client
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, body: string(b), etag: strings.Trim(resp.Header.Get("ETag"), `"`)}, nil
}

// rawPutTruncated sends target's request with its full Content-Length but
// only partial as the body, then closes its side of the connection, as a
// phone that loses its network does. It returns the server's status line,
// if any.
func rawPutTruncated(t *testing.T, target models.UploadTarget, partial []byte) string {
	t.Helper()
	u, err := url.Parse(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n", target.Method, u.RequestURI(), u.Host)
	for k, v := range target.Headers {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(partial); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "no answer: " + err.Error()
	}
	io.Copy(io.Discard, conn) // wait until the server is done with it
	if line == "" {
		return "connection closed without an answer"
	}
	return strings.TrimSpace(line)
}
