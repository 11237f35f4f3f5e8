package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/storage"
	fsync "github.com/fieldsync/fieldsync/sync"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from what the engine answers now")

// TestWirePayloadsGolden compares what the engine answers a phone — an
// initial pull, a push with one applied and one rejected mutation, and the
// delta pull after it — with testdata/*.golden.json, byte for byte once
// ids, cursors and the server's own clock are replaced by stable names.
// These payloads are what the phone apps are built against: a change in
// them must be deliberate (`go test ./sync -run Golden -update`, then
// review the diff and the contract).
func TestWirePayloadsGolden(t *testing.T) {
	e := newEnv(t, storage.DialectSQLite)
	ctx := context.Background()
	insp := e.insp[0]
	first, err := e.eng.Pull(ctx, insp, fsync.PullRequest{ClientID: e.client(insp), SchemaVersion: fsync.SchemaVersion})
	if err != nil {
		t.Fatal(err)
	}
	push, err := e.eng.Push(ctx, insp, fsync.PushRequest{ClientID: e.client(insp), SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
		mut(1, "task.start", map[string]any{"task_id": e.tasks[0].ID}),
		mut(2, "task.start", map[string]any{"task_id": e.tasks[2].ID}), // insp1's task: not this phone's
	}})
	if err != nil {
		t.Fatal(err)
	}
	delta, err := e.eng.Pull(ctx, insp, fsync.PullRequest{ClientID: e.client(insp), Cursor: &first.Cursor, SchemaVersion: fsync.SchemaVersion})
	if err != nil {
		t.Fatal(err)
	}
	n := newNormalizer(e)
	for _, p := range []struct {
		name string
		v    any
	}{{"pull_initial", wirePull(first)}, {"push", wirePush(push)}, {"pull_delta", wirePull(delta)}} {
		t.Run(p.name, func(t *testing.T) {
			golden(t, filepath.Join("testdata", p.name+".golden.json"), n.normalize(t, p.v))
		})
	}
}

// wirePull and wirePush put the engine's answers in the contract's wire
// types, as the API's handlers send them.
func wirePull(r fsync.PullResult) contract.PullResponse {
	out := contract.PullResponse{Changes: map[string]*contract.EntityChanges{}, Cursor: r.Cursor, HasMore: r.HasMore, LastMutationID: r.LastMutationID, Reset: r.Reset}
	for entity, ch := range r.Changes {
		out.Changes[entity] = &contract.EntityChanges{Upserts: ch.Upserts, Removes: ch.Removes}
	}
	return out
}

func wirePush(r fsync.PushResult) contract.PushResponse {
	out := contract.PushResponse{LastMutationID: r.LastMutationID}
	for _, m := range r.Results {
		out.Results = append(out.Results, contract.MutationResult{ID: m.ID, Status: m.Status, Code: m.Code, Message: m.Message, ServerVersion: m.ServerVersion})
	}
	return out
}

var (
	uuidRE   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	cursorRE = regexp.MustCompile(`"cursor": "[^"]*"`)
	// wallRE matches times with fractions of a second: the test's clock
	// has none, so these come from the wall clock — the storage layer
	// stamps updated_at on an update itself (GORM's NowFunc), not from the
	// service's injected clock.
	wallRE = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"`)
)

// normalizer names the fixture's ids after what they are, and any other id
// by its order of appearance, so the files read as a story and stay
// stable across runs.
type normalizer struct {
	names map[string]string
	next  int
	fixed string // the test clock's instant, kept as is
}

func newNormalizer(e *env) *normalizer {
	n := &normalizer{names: map[string]string{}, fixed: e.now.Format("2006-01-02T15:04:05Z07:00")}
	n.names[e.item.ID] = "item-W-1"
	n.names[e.item.ResponsibleUnitID] = "unit-county"
	n.names[e.tmpl.ID] = "template"
	for i, s := range e.sites {
		n.names[s.ID] = fmt.Sprintf("site-%d", i)
	}
	for i, tk := range e.tasks {
		n.names[tk.ID] = fmt.Sprintf("task-%d", i)
	}
	n.names[e.admin.UserID] = "user-admin"
	n.names[e.sup.UserID] = "user-sup"
	for i, a := range e.insp {
		n.names[a.UserID] = fmt.Sprintf("user-insp%d", i)
	}
	return n
}

func (n *normalizer) normalize(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = uuidRE.ReplaceAllFunc(b, func(id []byte) []byte {
		name, ok := n.names[string(id)]
		if !ok {
			n.next++
			name = fmt.Sprintf("id-%d", n.next)
			n.names[string(id)] = name
		}
		return []byte(name)
	})
	b = cursorRE.ReplaceAll(b, []byte(`"cursor": "<signed cursor>"`))
	b = wallRE.ReplaceAll(b, []byte(`"<wall clock>"`))
	return append(b, '\n')
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; if the change is meant, rerun with -update and review the diff.\ngot:\n%s", path, got)
	}
}
