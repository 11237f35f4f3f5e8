package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/cmd/internal/config"
	"github.com/fieldsync/fieldsync/cmd/internal/demo"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/storage"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// TestFieldctlSyncDevices: on the demo data, inspector1's phone pulls,
// pushes an applied and a rejected mutation and declares a photo it never
// uploads; inspector2's phone is revoked. sync devices lists both with
// their state; sync device shows the phone's cursor against the head, the
// rejection with its code, and the pending photo; after a new epoch it
// says the phone will reset.
func TestFieldctlSyncDevices(t *testing.T) {
	dir := t.TempDir()
	if out, err := ctl(t, dir, "", "seed"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	ctx := context.Background()
	cfg, _, err := config.Load("fieldctl", []string{"-data-dir", dir}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(ctx, storage.Config{SQLitePath: filepath.Join(dir, "fieldsync.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := cfg.Service(db, nil)
	eng := fsync.New(fsync.Config{Store: db, Service: svc, CursorKey: []byte("cursor-key-for-tests")})
	login := func(user, device string) models.Actor {
		t.Helper()
		g, err := auth.New(svc).Login(ctx, auth.LoginInput{Username: user, Password: demo.Password, DeviceID: device, DeviceName: "外业手机", Platform: "android"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := auth.New(svc).Authenticate(ctx, g.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tasksOf := func(a models.Actor) []models.InspectionTask {
		t.Helper()
		var ts []models.InspectionTask
		if err := db.Tx(ctx, func(tx models.Tx) error {
			// Open tasks only: the demo campaign has completed some.
			return tx.List(&ts, models.Query{Where: []models.Cond{models.Eq(models.TaskCols.AssigneeID, a.UserID),
				{Column: models.TaskCols.Status, Op: models.OpIn, Value: []string{models.TaskAssigned, models.TaskInProgress}}}})
		}); err != nil || len(ts) == 0 {
			t.Fatalf("tasks of %s: %v %v", a.Username, ts, err)
		}
		return ts
	}

	phone, lost := uuid.NewString(), uuid.NewString()
	insp1, insp2 := login("inspector1", phone), login("inspector2", lost)
	client := uuid.NewString()
	var cursor *string
	for more := true; more; {
		res, err := eng.Pull(ctx, insp1, fsync.PullRequest{ClientID: client, Cursor: cursor, SchemaVersion: fsync.SchemaVersion})
		if err != nil {
			t.Fatal(err)
		}
		cursor, more = &res.Cursor, res.HasMore
	}
	args := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	push, err := eng.Push(ctx, insp1, fsync.PushRequest{ClientID: client, SchemaVersion: fsync.SchemaVersion, Mutations: []fsync.Mutation{
		{ID: 1, Name: "note.add", Args: args(map[string]any{"id": uuid.NewString(), "task_id": tasksOf(insp1)[0].ID, "text": "已到现场"})},
		{ID: 2, Name: "task.start", Args: args(map[string]any{"task_id": tasksOf(insp2)[0].ID})},
	}})
	if err != nil || push.Results[0].Status != fsync.StatusApplied || push.Results[1].Status != fsync.StatusRejected {
		t.Fatalf("push: %+v %v", push, err)
	}
	declared, takenAt := uuid.NewString(), time.Now()
	if _, err := evidence.New(svc).CreateEvidence(ctx, insp1, evidence.EvidenceInput{ID: declared, TaskID: tasksOf(insp1)[0].ID, Kind: "photo",
		SHA256: strings.Repeat("ab", 32), Size: 2048, ContentType: "image/jpeg", CapturedAt: &takenAt}); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.New(svc).RevokeDevice(ctx, system, lost); err != nil {
		t.Fatal(err)
	}

	out, err := ctl(t, dir, "", "sync", "devices")
	if err != nil {
		t.Fatalf("sync devices: %v\n%s", err, out)
	}
	t.Logf("fieldctl sync devices:\n%s", out)
	line := func(out, device string) []string {
		t.Helper()
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, device) {
				return strings.Fields(l)
			}
		}
		t.Fatalf("no line for %s:\n%s", device, out)
		return nil
	}
	// DEVICE USER NAME LAST-SIGN-IN STATE(2 words) CLIENTS LAST-MUTATION LAST-PULL BEHIND PENDING
	if f := line(out, phone); len(f) != 11 || f[1] != "inspector1" || f[2] != "外业手机" || f[4]+" "+f[5] != "signed in" ||
		f[6] != "1" || f[7] != "2" || f[8] == "-" || f[10] != "1" {
		t.Errorf("inspector1's phone: %q", f)
	}
	// The push's note came after the pull: the noted pull is behind.
	if f := line(out, phone); f[9] == "0" || f[9] == "-" {
		t.Errorf("the phone's pull should be behind the head after its own push: %q", f)
	}
	if f := line(out, lost); f[1] != "inspector2" || f[4] != "revoked" || f[5] != "0" || f[6] != "-" {
		t.Errorf("inspector2's revoked phone: %q", f)
	}
	if out, err := ctl(t, dir, "", "sync", "devices", "-user", "inspector1"); err != nil || !strings.Contains(out, phone) || strings.Contains(out, lost) {
		t.Errorf("sync devices -user inspector1: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "sync", "devices", "-user", "nobody"); err == nil {
		t.Errorf("an unknown user must fail:\n%s", out)
	}

	out, err = ctl(t, dir, "", "sync", "device", phone)
	if err != nil {
		t.Fatalf("sync device: %v\n%s", err, out)
	}
	t.Logf("fieldctl sync device:\n%s", out)
	for _, want := range []string{
		"user          inspector1 (inspector) " + insp1.UserID,
		"state         signed in (the session expires ",
		"sync client " + client,
		"last mutation  2, applied ",
		"behind the head (noted at most once a minute)",
		"waiting        ",
		"rejected       1 most recent",
		"task.start", push.Results[1].Code,
		"pending evidence (declared, not completed): 1",
		declared + "  task " + tasksOf(insp1)[0].ID + "  photo  2048 bytes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sync device lacks %q", want)
		}
	}
	if out, err := ctl(t, dir, "", "sync", "device", lost); err != nil || !strings.Contains(out, "state         revoked at ") ||
		!strings.Contains(out, "no sync client") || !strings.Contains(out, "pending evidence (declared, not completed): 0") {
		t.Errorf("sync device of the revoked phone: %v\n%s", err, out)
	}

	if out, err := ctl(t, dir, "", "sync", "new-epoch"); err != nil {
		t.Fatalf("new-epoch: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "sync", "device", phone); err != nil || !strings.Contains(out, "the device resets at its next pull") || strings.Contains(out, "waiting") {
		t.Errorf("sync device after a new epoch: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "sync", "devices"); err != nil || line(out, phone)[9] != "reset" {
		t.Errorf("sync devices after a new epoch: %v\n%s", err, out)
	}
	for _, bad := range [][]string{{"sync", "device", uuid.NewString()}, {"sync", "device", "not-a-uuid"}, {"sync", "device"}} {
		if out, err := ctl(t, dir, "", bad...); err == nil {
			t.Errorf("fieldctl %v must fail:\n%s", bad, out)
		}
	}
}
