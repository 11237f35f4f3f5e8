package sync_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// snapshot counts what a mutation could have written.
func snapshot(t *testing.T, e *env) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := e.db.Tx(context.Background(), func(tx models.Tx) error {
		for name, m := range map[string]any{"verifications": &models.Verification{}, "answers": &models.Answer{}, "notes": &models.Note{},
			"evidence": &models.Evidence{}, "changes": &models.Change{}, "in_progress": &models.InspectionTask{}} {
			var conds []models.Cond
			if name == "in_progress" {
				conds = []models.Cond{models.Eq("status", models.TaskInProgress)}
			}
			n, err := tx.Count(m, conds)
			if err != nil {
				return err
			}
			out[name] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBadMutations: each bad mutation is rejected with its code, still
// advances the client's mutation id, and changes nothing else.
func TestBadMutations(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		a := e.insp[0]
		mine, theirs := e.tasks[0].ID, e.tasks[2].ID
		cases := []struct {
			name string
			args string
			code string
		}{
			{"task.teleport", `{"task_id":"` + mine + `"}`, "unknown_mutation"},
			{"task.start", `{"task_id": 42}`, "invalid_args"},
			{"task.start", `{"task":"` + mine + `"}`, "invalid_args"},
			{"task.start", `[1,2]`, "invalid_args"},
			{"task.start", `{"task_id":"not-a-uuid"}`, "invalid_id"},
			{"task.start", `{"task_id":"` + theirs + `"}`, "not_found"},
			{"note.add", `{"id":"` + uuid.NewString() + `","task_id":"` + theirs + `","text":"x"}`, "not_found"},
			{"task.complete", `{"task_id":"` + mine + `"}`, "task_transition_assigned_to_completed"},
			{"checklist.answer", `{"id":"` + uuid.NewString() + `","task_id":"` + mine + `","question_id":"q1","value":"yes"}`, "answer_type_mismatch"},
			{"checklist.answer", `{"id":"` + uuid.NewString() + `","task_id":"` + mine + `","question_id":"q9","value":true}`, "unknown_question"},
			{"verification.record", `{"id":"` + uuid.NewString() + `","task_id":"` + mine + `","conclusion":"looks fine","notes":"","location":{"lat":1,"lng":1,"accuracy_m":5,"mocked":false},"recorded_at":"2026-11-28T09:00:00Z","evidence_ids":[]}`, "invalid_enum"},
			{"verification.record", `{"id":"` + uuid.NewString() + `","task_id":"` + mine + `","conclusion":"rectified","notes":"","location":{"lat":95,"lng":1,"accuracy_m":5,"mocked":false},"recorded_at":"2026-11-28T09:00:00Z","evidence_ids":[]}`, "lat_out_of_range"},
			{"evidence.attach", `{"evidence_id":"` + uuid.NewString() + `","verification_id":"` + uuid.NewString() + `"}`, "not_found"},
			{"note.add", `{"id":"` + uuid.NewString() + `","task_id":"` + mine + `","text":"   "}`, "required"},
			{"note.add", `{"id":"` + uuid.NewString() + `","task_id":"` + mine + `","text":"\u001b]8;;http://x\u0007到场"}`, "validation_failed"},
			// The year 10000 in UTC: MySQL cannot store it, SQLite would
			// read back another time.
			{"verification.record", `{"id":"` + uuid.NewString() + `","task_id":"` + mine + `","conclusion":"rectified","notes":"","location":{"lat":1,"lng":1,"accuracy_m":5,"mocked":false},"recorded_at":"9999-12-31T23:59:59-14:00","evidence_ids":[]}`, "invalid_date"},
		}
		before := snapshot(t, e)
		var muts []fsync.Mutation
		for i, c := range cases {
			muts = append(muts, fsync.Mutation{ID: int64(i + 1), Name: c.name, Args: json.RawMessage(c.args)})
		}
		res := e.push(a, muts...)
		for i, r := range res.Results {
			if r.Status != fsync.StatusRejected || r.Code != cases[i].code || r.Message == "" {
				t.Errorf("%s %s: got %+v, want rejected %s", cases[i].name, cases[i].args, r, cases[i].code)
			}
		}
		if res.LastMutationID != int64(len(cases)) {
			t.Errorf("last mutation id %d, want %d: rejections advance it", res.LastMutationID, len(cases))
		}
		if after := snapshot(t, e); !equal(before, after) {
			t.Fatalf("rejected mutations wrote: before %v after %v", before, after)
		}
		// A supervisor's device cannot record field work.
		r := e.push(e.sup, mut(1, "task.start", map[string]any{"task_id": mine}))
		if r.Results[0].Status != fsync.StatusRejected || r.Results[0].Code != "forbidden" {
			t.Errorf("supervisor's mutation: %+v", r.Results[0])
		}
	})
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestBadRequests: request-level refusals, each with its code, and nothing
// applied.
func TestBadRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.insp[0]
		start := mut(1, "task.start", map[string]any{"task_id": e.tasks[0].ID})
		_, _, cur := e.pullAll(a, nil)
		big := make([]fsync.Mutation, 101)
		for i := range big {
			big[i] = mut(int64(i+1), "note.add", map[string]any{"id": uuid.NewString(), "task_id": e.tasks[0].ID, "text": "x"})
		}
		forged := strings.Replace(cur, cur[:4], "AAAA", 1)
		truncated := cur[:len(cur)-3]
		before := snapshot(t, e)
		cases := []struct {
			name string
			err  error
			code models.Code
		}{
			{"schema", pushErr(e, a, 2, start), models.CodeUnsupportedSchema},
			{"gap", pushErr(e, a, fsync.SchemaVersion, mut(3, "task.start", map[string]any{"task_id": e.tasks[0].ID})), models.CodeMutationGap},
			{"not consecutive", pushErr(e, a, fsync.SchemaVersion, start, mut(3, "task.complete", map[string]any{"task_id": e.tasks[0].ID})), models.CodeMutationOrder},
			{"zero id", pushErr(e, a, fsync.SchemaVersion, mut(0, "task.start", nil)), models.CodeMutationOrder},
			{"oversized batch", pushErr(e, a, fsync.SchemaVersion, big...), models.CodeBatchTooLarge},
			{"forged cursor", pullErr(e, a, &forged, fsync.SchemaVersion), models.CodeSyncCursorInvalid},
			{"truncated cursor", pullErr(e, a, &truncated, fsync.SchemaVersion), models.CodeSyncCursorInvalid},
			{"garbage cursor", pullErr(e, a, ptr("not a cursor"), fsync.SchemaVersion), models.CodeSyncCursorInvalid},
			{"pull schema", pullErr(e, a, nil, 99), models.CodeUnsupportedSchema},
		}
		for _, c := range cases {
			if models.ErrorCode(c.err) != c.code {
				t.Errorf("%s: got %v, want %s", c.name, c.err, c.code)
			}
		}
		// Another device cannot use this client id.
		other := a
		other.DeviceID = uuid.NewString()
		_, err := e.eng.Push(ctx, other, fsync.PushRequest{ClientID: e.client(a), SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{start}})
		if models.ErrorCode(err) != models.CodeClientOwnedByOther {
			t.Errorf("client id of another device: %v", err)
		}
		if after := snapshot(t, e); !equal(before, after) {
			t.Fatalf("refused requests wrote: before %v after %v", before, after)
		}
	})
}

func pushErr(e *env, a models.Actor, schema int, muts ...fsync.Mutation) error {
	_, err := e.eng.Push(context.Background(), a, fsync.PushRequest{ClientID: e.client(a), SchemaVersion: schema, Mutations: muts})
	return err
}

func pullErr(e *env, a models.Actor, cur *string, schema int) error {
	_, err := e.eng.Pull(context.Background(), a, fsync.PullRequest{ClientID: e.client(a), Cursor: cur, SchemaVersion: schema})
	return err
}
