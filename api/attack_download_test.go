package api_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// logBuffer collects the server's log lines, for what streams report
// after the handler returned.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// download reads a GET answer over a connection whose receive buffer is
// small, pace apart, stopping for stall after the first 256 KiB; it
// returns the body's length as announced (-1 when chunked), the bytes
// that arrived and how reading ended.
func download(t *testing.T, addr, path, token string, pace, stall time.Duration) (announced int64, got int64, err error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(32 << 10)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: fieldsync\r\nAuthorization: Bearer %s\r\n\r\n", path, token)
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	buf := make([]byte, 64<<10)
	for {
		n, rerr := res.Body.Read(buf)
		got += int64(n)
		if rerr != nil {
			if rerr == io.EOF {
				rerr = nil
			}
			return res.ContentLength, got, rerr
		}
		if stall > 0 && got >= 256<<10 {
			time.Sleep(stall)
			stall = 0
		}
		time.Sleep(pace)
	}
}

// TestAttackSlowDownload: downloads streamed by the API (a file of the
// local store, an evidence pack) complete for a client that reads
// steadily, however much longer than the write timeout that takes, and
// are cut off for one that stops reading, the pack's writer then ending;
// and an export spooled to a temporary file leaves no file behind.
func TestAttackSlowDownload(t *testing.T) {
	// Long enough that a loaded machine's scheduling pauses do not cut off
	// the steady reader.
	const write = 1500 * time.Millisecond
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // where exports are spooled
			logs := &logBuffer{}
			e := newEnv(t, dialect)
			localStore(t, e)
			e.cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
			e.cfg.Timeouts = api.Timeouts{Write: write}
			e.srv = api.New(e.cfg)
			e.base = e.listen()
			addr := strings.TrimPrefix(e.base, "http://")
			doc := declareDocument(t, e, 24<<20)
			e.putContent("insp1", doc.id, doc.data, 200)
			e.must(200, "insp1", "POST", "/v1/evidence/"+doc.id+"/complete", nil)
			for _, d := range []struct{ what, path, who string }{
				{"a file", "/v1/evidence/" + doc.id + "/content", "insp1"},
				{"an evidence pack", "/v1/items/" + e.fx.itemA.ID + "/evidence-pack", "supa"},
			} {
				token := e.tokens[d.who]
				start := time.Now()
				announced, full, err := download(t, addr, d.path, token, 6*time.Millisecond, 0)
				if err != nil || (announced >= 0 && full != announced) || full < int64(len(doc.data)) {
					t.Errorf("%s read steadily for %v: %d of %d bytes, %v", d.what, time.Since(start).Round(time.Millisecond), full, announced, err)
				}
				if took := time.Since(start); took <= write {
					t.Errorf("%s: the steady read took %v, less than the write timeout; it proves nothing", d.what, took)
				}
				_, got, err := download(t, addr, d.path, token, 0, 2*write+time.Second)
				if err == nil || got >= full {
					t.Errorf("%s with a reader that stopped: %d of %d bytes, %v; want it cut off", d.what, got, full, err)
				}
			}
			for _, who := range []string{"supa", "admin"} {
				announced, got, err := download(t, addr, "/v1/ledger.xlsx", e.tokens[who], 0, 0)
				if err != nil || got != announced {
					t.Errorf("ledger: %d of %d bytes, %v", got, announced, err)
				}
			}
			// fasthttp closes the stream once the last byte is out, which
			// may be just after the client read it.
			for wait := time.Now().Add(5 * time.Second); len(files(t, tmp)) > 0; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(wait) {
					t.Fatalf("exports left %v behind", files(t, tmp))
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(logs.String(), "streaming ended early") && !strings.Contains(logs.String(), "streaming failed") {
				if time.Now().After(deadline) {
					t.Fatalf("the cut-off pack's writer did not end:\n%s", logs)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
