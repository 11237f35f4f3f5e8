package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/cmd/internal/demo"
	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/blob"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// faultWorld is one fault scenario: a private MariaDB and MinIO, the real
// fieldsyncd binary as a child process on them, and inspectors' phones
// (the reference client) syncing and uploading through a recording
// network, while the test takes a backend or the server down.
type faultWorld struct {
	t      *testing.T
	db     *testenv.PrivateMariaDB
	s3     *testenv.PrivateMinIO
	server *testenv.Process
	base   string
	net    *recorder
	phones []*faultPhone

	// What the phones' tasks are made of, from the demo data set.
	itemID, siteID, templateID, unitID string
	adminToken                         string

	mu      gosync.Mutex
	outages []outage
}

// outage is a time a target was down, from the moment the test began to
// take it down until it served again.
type outage struct {
	target   string // targetServer, targetDB, targetMinIO
	from, to time.Time
}

const (
	targetServer = "fieldsyncd"
	targetDB     = "mariadb"
	targetMinIO  = "minio"
)

// faultSecret is fixed, so that the phones' tokens and cursors stay valid
// across a restart of the server.
var faultSecret = strings.Repeat("fault-secret-", 3)

func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	w := &faultWorld{t: t, db: testenv.StartPrivateMariaDB(t), s3: testenv.StartPrivateMinIO(t)}
	bin := binary(t, "fieldsyncd")
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	w.base = "http://" + addr
	w.net = newRecorder(addr)
	health := &http.Client{Timeout: 2 * time.Second}
	w.server = testenv.StartProcess(t, &testenv.Process{
		Name: "fieldsyncd on " + addr,
		Path: bin,
		Args: []string{"-addr", addr, "-data-dir", t.TempDir(), "-secret", faultSecret, "-demo",
			"-mysql-dsn", w.db.DSN, "-s3-endpoint", w.s3.Endpoint, "-s3-access-key", w.s3.AccessKey,
			"-s3-secret-key", w.s3.SecretKey, "-s3-bucket", "fieldsync-fault",
			// Long enough that no token expires during a soak: a refresh
			// cut off by a kill ends the session by design, which is
			// another test's subject.
			"-access-ttl", "12h", "-log-format", "json", "-log-level", "warn"},
		Log: filepath.Join(t.TempDir(), "fieldsyncd.log"),
		Ready: func() error {
			res, err := health.Get(w.base + "/healthz")
			if err != nil {
				return err
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("healthz: %s", res.Status)
			}
			return nil
		},
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("fieldsyncd log (end):\n%s", w.server.Tail(6000))
			t.Logf("mariadbd log (end):\n%s", w.db.Tail(3000))
			t.Logf("minio log (end):\n%s", w.s3.Tail(3000))
		}
	})
	w.adminToken = w.login("admin", demo.Password)
	var page struct {
		Items []struct {
			ID     string `json:"id"`
			UnitID string `json:"responsible_unit_id"`
		} `json:"items"`
	}
	w.mustAPI(w.adminToken, "GET", "/v1/items?limit=1", nil, &page)
	w.itemID, w.unitID = page.Items[0].ID, page.Items[0].UnitID
	w.mustAPI(w.adminToken, "GET", "/v1/sites?limit=1", nil, &page)
	w.siteID = page.Items[0].ID
	w.mustAPI(w.adminToken, "GET", "/v1/templates?limit=1", nil, &page)
	w.templateID = page.Items[0].ID
	return w
}

func (w *faultWorld) mustAPI(token, method, path string, in, out any) {
	w.t.Helper()
	if err := w.api(token, method, path, in, out); err != nil {
		w.t.Fatal(err)
	}
}

// api makes one set-up call, which must succeed.
func (w *faultWorld) api(token, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.base+path, body)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

func (w *faultWorld) login(username, password string) string {
	w.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	w.mustAPI("", "POST", "/v1/auth/login", map[string]string{"username": username, "password": password,
		"device_id": uuid.NewString()}, &tok)
	return tok.AccessToken
}

// addPhones creates n inspectors, each with a task of their own, and
// signs a phone in for each, which makes its first sync.
func (w *faultWorld) addPhones(n int) {
	w.t.Helper()
	phones := make([]*faultPhone, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 4) // the server hashes each new password
	var wg gosync.WaitGroup
	for i := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p, err := w.newPhone(fmt.Sprintf("fault-%03d", len(w.phones)+i))
			phones[i] = p
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			w.t.Fatal(err)
		}
	}
	w.phones = append(w.phones, phones...)
}

func (w *faultWorld) newPhone(name string) (*faultPhone, error) {
	password := "password-" + name
	var user struct {
		ID string `json:"id"`
	}
	if err := w.api(w.adminToken, "POST", "/v1/users", map[string]any{"username": name, "password": password, "role": "inspector",
		"unit_id": w.unitID, "display_name": "核查员 " + name}, &user); err != nil {
		return nil, err
	}
	var task struct {
		ID string `json:"id"`
	}
	now := time.Now()
	if err := w.api(w.adminToken, "POST", "/v1/tasks", map[string]any{"item_id": w.itemID, "site_id": w.siteID, "kind": "progress_check",
		"template_id": w.templateID, "window_start": now.Add(-time.Hour), "due_at": now.AddDate(0, 0, 7), "assignee_id": user.ID}, &task); err != nil {
		return nil, err
	}
	p := &faultPhone{w: w, name: name, password: password, taskID: task.ID, photos: map[string]string{}, verified: map[string]string{}}
	p.c = contract.New(contract.Config{BaseURL: w.base, DeviceID: uuid.NewString(), DeviceName: name + "'s phone",
		HTTP: &http.Client{Transport: w.net, Timeout: time.Minute}, PushBatch: faultBatch, Sleep: cappedSleep})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.c.Login(ctx, name, password); err != nil {
		return nil, fmt.Errorf("%s: login: %w", name, err)
	}
	if _, err := p.c.Pull(ctx); err != nil {
		return nil, fmt.Errorf("%s: first pull: %w", name, err)
	}
	return p, nil
}

// openDB opens the test's own connection to the private database, to
// check what the server stored.
func (w *faultWorld) openDB() *storage.DB {
	w.t.Helper()
	db, err := storage.Open(context.Background(), storage.Config{MySQLDSN: w.db.DSN, MaxOpenConns: 4})
	if err != nil {
		w.t.Fatal(err)
	}
	return db
}

func (w *faultWorld) openBlobs() *blob.MinIOStore {
	w.t.Helper()
	s, err := blob.NewMinIO(context.Background(), blob.S3Config{Endpoint: w.s3.Endpoint, Bucket: "fieldsync-fault",
		AccessKey: w.s3.AccessKey, SecretKey: w.s3.SecretKey})
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// waitUntil polls cond until it holds, failing the test after two
// minutes: the machine is shared, so no fixed sleep can stand in for it.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// maxWait caps a phone's wait between attempts. MinIO asks for 120 s
// (Retry-After) when it refuses a request while shutting down; a phone
// may well wait that long, but a test of a one-second outage cannot. The
// server's own Retry-After (5 s) is honoured in full.
const maxWait = 10 * time.Second

func cappedSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(min(d, maxWait))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
