package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// slowEnv serves the API on loopback with the given timeouts, on the
// dialect and blob store; dir is the local store's directory ("" for
// MinIO).
func slowEnv(t *testing.T, dialect, store string, tm api.Timeouts) (e *env, addr, dir string) {
	t.Helper()
	e = newEnv(t, dialect)
	if store == "local" {
		dir = localStore(t, e)
	} else {
		withBlobs(t, e, store)
	}
	e.cfg.Timeouts = tm
	e.srv = api.New(e.cfg)
	e.base = e.listen()
	return e, strings.TrimPrefix(e.base, "http://"), dir
}

// slowUpload is a declared document whose bytes a slow client sends.
type slowUpload struct {
	id   string
	data []byte
}

func declareDocument(t *testing.T, e *env, size int) slowUpload {
	t.Helper()
	data := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("slow "), size/5)...)[:size]
	sum := sha256.Sum256(data)
	u := slowUpload{id: uuid.NewString(), data: data}
	e.must(201, "insp1", "POST", "/v1/evidence", map[string]any{"id": u.id, "task_id": e.fx.task1.ID, "kind": "document",
		"sha256": hex.EncodeToString(sum[:]), "size": size, "content_type": "application/pdf"})
	return u
}

// head is the start of a PUT of u's bytes through the API.
func (u slowUpload) head(e *env) string {
	return fmt.Sprintf("PUT /v1/evidence/%s/content HTTP/1.1\r\nHost: fieldsync\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/pdf\r\nContent-Length: %d\r\n\r\n", u.id, e.tokens["insp1"], len(u.data))
}

// cutOff waits up to within for the server to end the connection, and
// returns the answer it sent first, if any, and when it ended it.
func cutOff(t *testing.T, conn net.Conn, within time.Duration) (*http.Response, []byte, time.Duration) {
	t.Helper()
	start := time.Now()
	conn.SetReadDeadline(start.Add(within))
	all, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still held the connection after %v", within)
	}
	took := time.Since(start)
	if len(all) == 0 {
		return nil, nil, took
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(all)), nil)
	if err != nil {
		t.Fatalf("the server's last words are not an HTTP answer: %v: %q", err, all)
	}
	body, _ := io.ReadAll(res.Body)
	return res, body, took
}

// timedOut checks the answer to a request the server cut: a 408
// request_timeout problem (the client is still reading).
func timedOut(t *testing.T, what, method, path string, res *http.Response, body []byte) {
	t.Helper()
	if res == nil {
		t.Errorf("%s: the connection was closed without an answer", what)
		return
	}
	if err := contracttest.ValidateResponse(method, path, res.StatusCode, res.Header, body); err != nil {
		t.Errorf("%s: the answer does not match openapi.yaml: %v", what, err)
	}
	if res.StatusCode != 408 || !strings.Contains(string(body), `"code":"request_timeout"`) {
		t.Errorf("%s: answered %d %s, want 408 request_timeout", what, res.StatusCode, body)
	}
}

// leftNothing checks that an upload cut off left the evidence pending
// and nothing stored: no object, no temporary file, no multipart upload.
func leftNothing(t *testing.T, e *env, dir string, u slowUpload) {
	t.Helper()
	if rec := e.must(200, "insp1", "GET", "/v1/evidence/"+u.id, nil); rec["status"] != "pending" {
		t.Errorf("evidence after a cut-off upload: %v", rec["status"])
	}
	// The handler may still be unwinding the cut-off upload.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := e.snapshot(t, dir)
		if len(st.Objects) == 0 && len(st.Files) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a cut-off upload left objects %v, files %v", st.Objects, st.Files)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m, ok := e.svc.Blobs.(*blob.MinIOStore); ok {
		for up := range m.Client().ListIncompleteUploads(context.Background(), m.Bucket(), "", true) {
			t.Errorf("a cut-off upload left a multipart upload in MinIO: %+v", up)
		}
	}
}

// TestAttackSlowUpload: a client that sends the headers of an upload with
// a large Content-Length and then trickles its body is cut off when the
// request has taken the read timeout, and leaves nothing behind.
func TestAttackSlowUpload(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				const read = 1500 * time.Millisecond
				e, addr, dir := slowEnv(t, dialect, store, api.Timeouts{Read: read})
				u := declareDocument(t, e, 20<<20)
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				io.WriteString(conn, u.head(e))
				trickled := make(chan struct{})
				go func() {
					defer close(trickled)
					for i := 0; ; i++ {
						if _, err := conn.Write(u.data[i*1024 : (i+1)*1024]); err != nil {
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
				}()
				res, body, took := cutOff(t, conn, read+5*time.Second)
				<-trickled
				if took > read+3*time.Second {
					t.Errorf("cut off after %v, want about %v", took, read)
				}
				timedOut(t, "a trickled upload", "PUT", "/v1/evidence/"+u.id+"/content", res, body)
				leftNothing(t, e, dir, u)
			})
		}
	}
}

// TestAttackStalledUpload: a client that stops sending a body is cut off
// once it has sent nothing for BodyIdle, long before the read timeout,
// whether it was uploading a file or a JSON body, and leaves nothing.
func TestAttackStalledUpload(t *testing.T) {
	const idle = 400 * time.Millisecond
	for _, dialect := range storagetest.Dialects {
		for _, store := range blobStores {
			t.Run(dialect+"/"+store, func(t *testing.T) {
				e, addr, dir := slowEnv(t, dialect, store, api.Timeouts{Read: time.Minute, BodyIdle: idle})
				u := declareDocument(t, e, 20<<20)
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				io.WriteString(conn, u.head(e))
				conn.Write(u.data[:64<<10])
				res, body, took := cutOff(t, conn, 10*time.Second)
				if took > idle+3*time.Second {
					t.Errorf("a stalled upload was cut off after %v, want about %v", took, idle)
				}
				timedOut(t, "a stalled upload", "PUT", "/v1/evidence/"+u.id+"/content", res, body)
				leftNothing(t, e, dir, u)
			})
		}
		t.Run(dialect+"/push", func(t *testing.T) {
			e, addr, _ := slowEnv(t, dialect, "local", api.Timeouts{Read: time.Minute, BodyIdle: idle})
			before := e.snapshot(t, "")
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /v1/sync/push HTTP/1.1\r\nHost: fieldsync\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
				"Content-Length: 500000\r\n\r\n{\"client_id\":\"%s\",\"schema_version\":1,\"mutations\":[%s", e.tokens["insp1"], uuid.NewString(), strings.Repeat(" ", 64<<10))
			res, body, took := cutOff(t, conn, 10*time.Second)
			if took > idle+3*time.Second {
				t.Errorf("a stalled push was cut off after %v, want about %v", took, idle)
			}
			timedOut(t, "a stalled push", "POST", "/v1/sync/push", res, body)
			unchanged(t, "a stalled push", before, e.snapshot(t, ""))
		})
	}
}

// TestAttackSlowHeaders: a client that sends its headers a byte at a time
// (slowloris) is cut off once the header timeout is up, however long the
// read timeout for bodies is.
func TestAttackSlowHeaders(t *testing.T) {
	const header = 500 * time.Millisecond
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e, addr, dir := slowEnv(t, dialect, "local", api.Timeouts{Header: header, Read: time.Minute})
			before := e.snapshot(t, dir)
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /v1/auth/login HTTP/1.1\r\nHost: fieldsync\r\nX-Slow: ")
			go func() {
				for {
					if _, err := conn.Write([]byte("z")); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			res, body, took := cutOff(t, conn, 10*time.Second)
			if took > header+3*time.Second {
				t.Errorf("slow headers were cut off after %v, want about %v", took, header)
			}
			if res != nil && res.StatusCode != 408 {
				t.Errorf("slow headers: answered %d %s, want 408 or nothing", res.StatusCode, body)
			}
			unchanged(t, "slow headers", before, e.snapshot(t, dir))
		})
	}
}

// TestAttackRefusedUploadIsAnswered: an upload refused before its body
// is read (a bad signed URL, evidence that is not there) is answered, and
// the client, still sending, reads the answer instead of a connection
// reset: a device told upload_url_expired must learn it to ask for a new
// URL. The body is larger than the sockets' buffers hold, so that a
// server that closed without reading it would reset the connection.
func TestAttackRefusedUploadIsAnswered(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	withPresign(t, e, "local")
	addr := strings.TrimPrefix(e.base, "http://")
	body := bytes.Repeat([]byte("x"), 12<<20)
	for _, c := range []struct {
		path, auth string
		status     int
		code       string
	}{
		{"/v1/blobs/bm90IGEgdG9rZW4.c2lnbmF0dXJl", "", 403, "upload_url_invalid"},
		{"/v1/evidence/" + uuid.NewString() + "/content", "Authorization: Bearer " + e.tokens["insp1"] + "\r\n", 404, "not_found"},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: fieldsync\r\n%sContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", c.path, c.auth, len(body))
		if _, err := conn.Write(body); err != nil {
			t.Errorf("PUT %s: sending the body: %v", c.path, err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("PUT %s: no answer: %v", c.path, err)
		}
		b, _ := io.ReadAll(res.Body)
		conn.Close()
		if err := contracttest.ValidateResponse("PUT", c.path, res.StatusCode, res.Header, b); err != nil {
			t.Error(err)
		}
		if res.StatusCode != c.status || !strings.Contains(string(b), `"code":"`+c.code+`"`) {
			t.Errorf("PUT %s: %d %s, want %d %s", c.path, res.StatusCode, b, c.status, c.code)
		}
	}
}
