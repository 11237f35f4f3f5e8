package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/blob"
)

// finish lets every phone sync once more now that nothing is down and no
// one else writes, so that each ends with the server's latest view, then
// checks the world.
func (w *faultWorld) finish() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w.eachPhone(func(p *faultPhone) { p.sync(ctx) })
	w.checkNetwork()
	w.checkServerLog()
	db := w.openDB()
	defer db.Close()
	blobs := w.openBlobs()
	w.eachPhone(func(p *faultPhone) { w.checkStored(ctx, p, db, blobs) })
	w.eachPhone(func(p *faultPhone) { w.checkConverged(ctx, p) })
	var cycles int64
	var photos, restarts int
	errs := map[string]int64{}
	var network int64
	for _, p := range w.phones {
		cycles, photos, restarts = cycles+p.cycles.Load(), photos+len(p.verified), restarts+p.restarts
		st := p.c.Stats()
		for k, n := range st.Errors {
			errs[k] += n
		}
		network += st.NetworkErrors
	}
	w.t.Logf("%d phones: %d cycles, %d mutations, %d photos verified; the client met %v and %d attempts without an answer, and gave up and started again %d times",
		len(w.phones), cycles, cycles*faultBatch, photos, errs, network, restarts)
}

// eachPhone runs fn for every phone, a few at a time.
func (w *faultWorld) eachPhone(fn func(p *faultPhone)) {
	sem := make(chan struct{}, 8)
	var wg gosync.WaitGroup
	for _, p := range w.phones {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(p)
		}()
	}
	wg.Wait()
}

// checkStored holds the database and the bucket against what the phone
// did: every mutation it enqueued was applied (none rejected: they are all
// valid), exactly once, and every photo it saw verified is stored with its
// SHA-256.
func (w *faultWorld) checkStored(ctx context.Context, p *faultPhone, db *storage.DB, blobs *blob.MinIOStore) {
	t := w.t
	if out := p.c.Outbox(); len(out) > 0 {
		t.Errorf("%s: %d mutations never acknowledged, from %d", p.name, len(out), out[0].ID)
	}
	for _, r := range p.rejected {
		t.Errorf("%s: mutation %d rejected: %s %s", p.name, r.ID, r.Code, r.Message)
	}
	var (
		notes         []models.Note
		verifications []models.Verification
		evidence      []models.Evidence
		task          models.InspectionTask
	)
	byTask := models.Query{Where: []models.Cond{models.Eq("task_id", p.taskID)}, Limit: 100000}
	if err := db.Tx(ctx, func(tx models.Tx) error {
		if err := tx.List(&notes, byTask); err != nil {
			return err
		}
		if err := tx.List(&verifications, byTask); err != nil {
			return err
		}
		if err := tx.List(&evidence, byTask); err != nil {
			return err
		}
		return tx.Get(&task, p.taskID)
	}); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, p.name+": notes", p.notes, ids(notes, func(n models.Note) string { return n.ID }))
	sameIDs(t, p.name+": verifications", p.verifications, ids(verifications, func(v models.Verification) string { return v.ID }))
	// Created assigned at version 1; the one task.start makes 2. A start
	// applied twice would have been rejected, or made 3.
	if task.Status != models.TaskInProgress || task.Version != 2 {
		t.Errorf("%s: task is %s at version %d, want in_progress at 2", p.name, task.Status, task.Version)
	}
	var last, results, applied, starts, completions, completed int64
	g := db.Gorm().WithContext(ctx)
	g.Raw("SELECT last_mutation_id FROM sync_clients WHERE id = ?", p.c.DeviceID()).Scan(&last)
	g.Raw("SELECT COUNT(*) FROM mutation_results WHERE client_id = ?", p.c.DeviceID()).Scan(&results)
	g.Raw("SELECT COUNT(*) FROM mutation_results WHERE client_id = ? AND status = 'applied'", p.c.DeviceID()).Scan(&applied)
	if sent := p.cycles.Load() * faultBatch; last != sent || results != sent || applied != sent {
		t.Errorf("%s: the server holds last mutation %d with %d results, %d applied; the phone sent %d", p.name, last, results, applied, sent)
	}
	// The audit trail counts effects: a start or a completion run twice
	// would be there twice.
	g.Raw("SELECT COUNT(*) FROM audit_log WHERE record_id = ? AND action = ?", p.taskID, models.AuditTaskStart).Scan(&starts)
	g.Raw("SELECT COUNT(*), COUNT(DISTINCT record_id) FROM audit_log WHERE record_id IN (SELECT id FROM evidence WHERE task_id = ?) AND action = ?",
		p.taskID, models.AuditEvidenceVerified).Row().Scan(&completions, &completed)
	if starts != 1 || completions != int64(len(evidence)) || completed != completions {
		t.Errorf("%s: audited %d starts of the task, and %d completions of %d of its %d photos; want one each", p.name, starts, completions, completed, len(evidence))
	}
	photoIDs := make([]string, 0, len(p.photos))
	for id := range p.photos {
		photoIDs = append(photoIDs, id)
	}
	sameIDs(t, p.name+": evidence", photoIDs, ids(evidence, func(e models.Evidence) string { return e.ID }))
	for _, e := range evidence {
		if e.Status != models.EvidenceVerified || e.SHA256 != p.photos[e.ID] {
			t.Errorf("%s: photo %s is %s with SHA-256 %s; the phone sent %s", p.name, e.ID, e.Status, e.SHA256, p.photos[e.ID])
		}
		if _, seen := p.verified[e.ID]; !seen {
			t.Errorf("%s: photo %s was never seen verified by the phone", p.name, e.ID)
		}
		if got := storedSHA256(ctx, blobs, e.ObjectKey); got != e.SHA256 {
			t.Errorf("%s: verified photo %s: the bucket holds %q under %s, want SHA-256 %s", p.name, e.ID, got, e.ObjectKey, e.SHA256)
		}
	}
}

// storedSHA256 hashes an object, or describes why it cannot.
func storedSHA256(ctx context.Context, blobs *blob.MinIOStore, key string) string {
	rc, _, err := blobs.Get(ctx, key)
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return err.Error()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkConverged compares the phone's store with what a fresh phone of the
// same user pulls from scratch: every entity, record by record.
func (w *faultWorld) checkConverged(ctx context.Context, p *faultPhone) {
	o := contract.New(contract.Config{BaseURL: w.base, DeviceID: uuid.NewString()})
	if err := o.Login(ctx, p.name, p.password); err != nil {
		w.t.Errorf("%s: oracle login: %v", p.name, err)
		return
	}
	if _, err := o.Pull(ctx); err != nil {
		w.t.Errorf("%s: oracle pull: %v", p.name, err)
		return
	}
	for _, entity := range contract.Entities {
		got, want := p.c.Records(entity), o.Records(entity)
		var missing, extra, differ []string
		for id, rec := range want {
			if have, ok := got[id]; !ok {
				missing = append(missing, id)
			} else if !sameJSON(have, rec) {
				differ = append(differ, id)
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				extra = append(extra, id)
			}
		}
		if len(missing)+len(extra)+len(differ) > 0 {
			w.t.Errorf("%s: %s differ from a fresh pull: missing %v, extra %v, other content %v", p.name, entity, missing, extra, differ)
		}
	}
}

// checkServerLog fails on every error the server logged (an answer 500, a
// stream given up), and on a panic or a data race it reported.
func (w *faultWorld) checkServerLog() {
	f, err := os.Open(w.server.Log)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, `"level":"ERROR"`) || strings.HasPrefix(line, "panic:") ||
			strings.Contains(line, "WARNING: DATA RACE") {
			if n++; n <= 10 {
				w.t.Errorf("fieldsyncd logged an error: %s", line)
			}
		}
	}
	if n > 10 {
		w.t.Errorf("... and %d more errors in %s", n-10, w.server.Log)
	}
}

func ids[T any](recs []T, id func(T) string) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = id(r)
	}
	return out
}

// sameIDs reports the ids only in want (lost) and only in got (not sent),
// and ids stored more than once.
func sameIDs(t *testing.T, what string, want, got []string) {
	want, got = slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
	if slices.Equal(want, got) {
		return
	}
	t.Errorf("%s: the phone created %d, the server holds %d (lost: %v; not the phone's, or twice: %v)",
		what, len(want), len(got), minus(want, got), minus(got, want))
}

// minus returns the elements of a not in b, counting repeats.
func minus(a, b []string) []string {
	left := map[string]int{}
	for _, s := range b {
		left[s]++
	}
	var out []string
	for _, s := range a {
		if left[s] > 0 {
			left[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
