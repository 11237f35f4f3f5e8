package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/api/authn"
	"github.com/fieldsync/fieldsync/cmd/internal/config"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/keys"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/storage/blob"
)

// startServer runs the API in-process on the embedded default (SQLite
// and a local blob store in a temporary data dir), wired as fieldsyncd
// wires it, and returns its URL and data dir.
func startServer(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	return startServerOn(t, dir, nil), dir
}

// startServerOn runs a server on the data in dir, as startServer does;
// several may share one dir, as server processes share one database.
// accepted, when not nil, counts the connections it accepts.
func startServerOn(t *testing.T, dir string, accepted *atomic.Int64) string {
	t.Helper()
	cfg, _, err := config.Load("test", []string{"-data-dir", dir}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := cfg.OpenStore(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, _, err := cfg.OpenBlobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc := cfg.Service(db, blobs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	secret := []byte(strings.Repeat("fieldsim-smoke-", 3))
	local := &blob.LocalPresigner{Store: blobs.(*blob.LocalStore), BaseURL: base, Key: keys.Derive(secret, "blob-url"), Now: time.Now}
	svc.Presign = local
	packKeys, err := pack.KeysFor(secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	engine := cfg.SyncEngine(db, svc, keys.Derive(secret, "sync-cursor"), nil, log)
	if _, err := engine.Epoch(ctx); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Service: svc, Sync: engine, Blobs: local, Tokens: authn.NewIssuer(secret, nil, 15*time.Minute, time.Now),
		Logger: log, PackKeys: packKeys})
	go srv.App().Listener(countingListener{ln, accepted})
	t.Cleanup(func() { srv.App().ShutdownWithTimeout(5 * time.Second) })
	return base
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil && l.n != nil {
		l.n.Add(1)
	}
	return c, err
}

// TestSeveralServers: with -server a,b the devices are spread over two
// server processes sharing one database (here two servers in this process
// on one SQLite file and blob directory), and a field day still converges:
// every photo verified, every mutation applied, nothing left in an outbox.
func TestSeveralServers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs servers")
	}
	dir := t.TempDir()
	var hits [2]atomic.Int64
	a, b := startServerOn(t, dir, &hits[0]), startServerOn(t, dir, &hits[1])
	args := []string{"-server", a + "," + b, "-inspectors", "4", "-tasks", "20", "-sites", "4", "-items", "2", "-devices", "4",
		"-count", "1", "-concurrency", "4", "-photo-mb", "0.05", "-json", "-timeout", "60s", "-scenario", "day", "-waves", "2", "--", "-data-dir", dir}
	var out, errs bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatalf("fieldsim: %v\n%s", err, errs.String())
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Server != a+","+b {
		t.Errorf("report names %q", r.Server)
	}
	if r.Figures["photos_verified"] != 4 || r.Figures["mutations_applied"] != 24 || r.Figures["outbox_left"] != 0 {
		t.Errorf("figures: %v", r.Figures)
	}
	if hits[0].Load() == 0 || hits[1].Load() == 0 {
		t.Errorf("connections accepted: %d and %d; the devices were not spread over both servers", hits[0].Load(), hits[1].Load())
	}
}

// TestScenarios runs every scenario, briefly, against an in-process
// server on a tiny data set, and checks what the reports say.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	base, dir := startServer(t)
	common := []string{"-server", base, "-inspectors", "3", "-tasks", "30", "-sites", "6", "-items", "4", "-devices", "3",
		"-count", "1", "-concurrency", "3", "-photo-mb", "0.05", "-json", "-timeout", "60s"}
	for _, c := range []struct {
		args  []string
		check func(t *testing.T, r *Report)
	}{
		{[]string{"-scenario", "day", "-waves", "2"}, func(t *testing.T, r *Report) {
			if r.Setup == nil || r.Setup.Created["tasks"] != 30 || r.Setup.Created["inspectors"] != 3 {
				t.Errorf("set-up: %+v", r.Setup)
			}
			if r.Figures["photos_verified"] != 3 || r.Figures["mutations_applied"] != 18 || r.Figures["outbox_left"] != 0 {
				t.Errorf("figures: %v", r.Figures)
			}
		}},
		{[]string{"-scenario", "delta"}, func(t *testing.T, r *Report) {
			if r.Setup.Created["tasks"] != 0 || r.Setup.Existing["tasks"] != 30 {
				t.Errorf("a second run must reuse the data set: %+v", r.Setup)
			}
			share := r.Figures["delta_1pct_share_of_initial"]
			if share <= 0 || share >= 1 || r.Figures["delta10_pull_bytes"] <= r.Figures["delta0_pull_bytes"] {
				t.Errorf("figures: %v", r.Figures)
			}
		}},
		{[]string{"-scenario", "push", "-batches", "1,10"}, func(t *testing.T, r *Report) {
			if r.Figures["push.batch1_applied"] != 3 || r.Figures["push.batch10_applied"] != 30 || r.Figures["push.batch10_applied_per_second"] <= 0 {
				t.Errorf("figures: %v", r.Figures)
			}
		}},
		{[]string{"-scenario", "sustained", "-duration", "1500ms", "-cycle", "500ms", "-mutations", "2"}, func(t *testing.T, r *Report) {
			if r.Figures["mutations_applied"] < 6 || r.Figures["mutations_per_second"] <= 0 {
				t.Errorf("figures: %v", r.Figures)
			}
		}},
		// Two light steps hold on any machine (a loose share and p99: three
		// phones over 3 s see edge effects a real ramp's steps do not).
		{[]string{"-scenario", "ramp", "-ramp", "2,4,1000000", "-step", "3s", "-mutations", "1", "-target-p99", "10s", "-held-share", "0.5"}, func(t *testing.T, r *Report) {
			if r.Figures["ramp.step1_held"] != 1 || r.Figures["ramp.step2_held"] != 1 {
				t.Errorf("the small steps must hold: %v", r.Figures)
			}
			// A million mutations/s from three phones cannot be offered,
			// let alone applied: the ramp stops there.
			if r.Figures["ramp.step3_held"] != 0 || r.Figures["capacity_mutations_per_second"] != 4 {
				t.Errorf("capacity %v, want 4 (the last step that held): %v", r.Figures["capacity_mutations_per_second"], r.Figures)
			}
			// Each step says when it ran, for bench.sh's summaries: about
			// its -step long (its last slot may come before the end), one
			// after the other.
			for k := 1; k <= 3; k++ {
				start, end := r.Figures[fmt.Sprintf("ramp.step%d_started_unix", k)], r.Figures[fmt.Sprintf("ramp.step%d_ended_unix", k)]
				if start < float64(time.Now().Add(-time.Hour).Unix()) || end-start < 1.5 {
					t.Errorf("step %d ran from %v to %v: %v", k, start, end, r.Figures)
				}
				if prev := r.Figures[fmt.Sprintf("ramp.step%d_ended_unix", k-1)]; k > 1 && start < prev {
					t.Errorf("step %d started at %v, before step %d ended at %v", k, start, k-1, prev)
				}
			}
		}},
		{[]string{"-scenario", "upload", "-count", "2", "-via", "api"}, func(t *testing.T, r *Report) {
			if r.Figures["photos_verified"] != 6 || r.Figures["send_mb_per_s"] <= 0 || r.Figures["flow_mb_per_s"] <= 0 {
				t.Errorf("figures: %v", r.Figures)
			}
		}},
		{[]string{"-scenario", "pack", "-pack-mb", "2", "-doc-mb", "1", "-count", "2"}, func(t *testing.T, r *Report) {
			if r.Figures["pack_documents_bytes"] != 2<<20 || r.Figures["export_ratio_to_raw_read"] <= 0 {
				t.Errorf("figures: %v", r.Figures)
			}
		}},
	} {
		name := c.args[1]
		t.Run(name, func(t *testing.T) {
			var out, errs bytes.Buffer
			args := append(append(append([]string{}, common...), c.args...), "--", "-data-dir", dir)
			if err := run(context.Background(), args, func(string) string { return "" }, &out, &errs); err != nil {
				t.Fatalf("fieldsim %s: %v\n%s", strings.Join(args, " "), err, errs.String())
			}
			var r Report
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("report: %v\n%s", err, out.String())
			}
			if len(r.Errors) > 0 || r.Scenario != name {
				t.Errorf("%s: errors %v\n%s", name, r.Errors, out.String())
			}
			c.check(t, &r)
		})
	}
}

// TestHistory: -scenario setup -history N grows the change log to N rows
// with the inspectors' notes, numbered and scoped as pushed notes are, a
// second run adds only what is missing, and the notes reach the
// inspectors' devices in their initial pull.
func TestHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	base, dir := startServer(t)
	size := []string{"-server", base, "-inspectors", "2", "-tasks", "4", "-sites", "2", "-items", "2", "-devices", "2", "-json", "-timeout", "60s"}
	fieldsim := func(args ...string) Report {
		t.Helper()
		var out, errs bytes.Buffer
		args = append(append(append([]string{}, size...), args...), "--", "-data-dir", dir)
		if err := run(context.Background(), args, func(string) string { return "" }, &out, &errs); err != nil {
			t.Fatalf("fieldsim %s: %v\n%s", strings.Join(args, " "), err, errs.String())
		}
		var r Report
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("report: %v\n%s", err, out.String())
		}
		return r
	}
	before := fieldsim("-scenario", "initial").Figures["initial_pull_bytes"]

	r := fieldsim("-scenario", "setup", "-history", "2500")
	rows := r.Setup.Existing["change_rows"]
	if rows == 0 || rows >= 2500 {
		t.Fatalf("the data set's own change rows: %d", rows)
	}
	if want := (2500 - rows + 1) / 2; r.Setup.Created["history_notes"] != want {
		t.Fatalf("history notes: %d, want %d (%+v)", r.Setup.Created["history_notes"], want, r.Setup)
	}

	cfg, _, err := config.Load("test", []string{"-data-dir", dir}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	db, err := cfg.OpenStore(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Read(context.Background(), func(tx models.Tx) error {
		var notes []models.Note
		if err := tx.List(&notes, models.Query{}); err != nil {
			return err
		}
		if len(notes) != r.Setup.Created["history_notes"] {
			t.Errorf("%d notes stored, %d reported", len(notes), r.Setup.Created["history_notes"])
		}
		var changes []models.Change
		if err := tx.List(&changes, models.Query{Where: []models.Cond{models.Eq(models.ChangeCols.Entity, models.EntityNotes)}}); err != nil {
			return err
		}
		if total, err := tx.Count(&models.Change{}, nil); err != nil || total < 2500 {
			t.Errorf("the log holds %d rows (%v), want at least 2,500", total, err)
		}
		scopes := map[string]map[string]bool{}
		for _, c := range changes {
			if c.Seq == nil {
				t.Fatalf("change row %s is not numbered", c.ID)
			}
			if scopes[c.RecordID] == nil {
				scopes[c.RecordID] = map[string]bool{}
			}
			scopes[c.RecordID][c.Scope] = true
		}
		for _, n := range notes {
			var task models.InspectionTask
			if err := tx.Get(&task, n.TaskID); err != nil {
				return err
			}
			if n.AuthorID != *task.AssigneeID || !scopes[n.ID][models.ScopeUser(n.AuthorID)] || !scopes[n.ID][models.ScopeUnit(task.UnitPath)] || len(scopes[n.ID]) != 2 {
				t.Fatalf("note %s by %s on a task of %s has the scopes %v", n.ID, n.AuthorID, *task.AssigneeID, scopes[n.ID])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if again := fieldsim("-scenario", "setup", "-history", "2500"); again.Setup.Created["history_notes"] != 0 {
		t.Errorf("a second run wrote %d notes", again.Setup.Created["history_notes"])
	}
	// About 600 notes per inspector, some 100 bytes each, reach the phones.
	if after := fieldsim("-scenario", "initial").Figures["initial_pull_bytes"]; after < before+30_000 {
		t.Errorf("initial pull %.0f bytes before the history, %.0f after", before, after)
	}
}
