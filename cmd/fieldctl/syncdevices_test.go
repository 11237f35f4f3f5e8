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

	"github.com/fieldsync/fieldsync/api/i18n"
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
	// 设备 用户 名称 最近登录 状态 客户端数 最近操作 最近拉取 落后 待完成证据
	if !strings.Contains(out, "同步日志头 ") || !strings.HasPrefix(strings.Split(out, "\n")[1], "设备  ") {
		t.Errorf("sync devices' head and heading:\n%s", out)
	}
	if f := line(out, phone); len(f) != 10 || f[1] != "inspector1" || f[2] != "外业手机" || f[4] != "已登录" ||
		f[5] != "1" || f[6] != "2" || f[7] == "-" || f[9] != "1" {
		t.Errorf("inspector1's phone: %q", f)
	}
	// Times are in FIELDSYNC_TIME_ZONE, Asia/Shanghai by default.
	if f := line(out, phone); !strings.HasSuffix(f[3], "+08:00") || !strings.HasSuffix(f[7], "+08:00") {
		t.Errorf("the phone's times are not in Asia/Shanghai: %q", f)
	}
	// The push's note came after the pull: the noted pull is behind.
	if f := line(out, phone); f[8] == "0" || f[8] == "-" {
		t.Errorf("the phone's pull should be behind the head after its own push: %q", f)
	}
	if f := line(out, lost); f[1] != "inspector2" || f[4] != "已注销" || f[5] != "0" || f[6] != "-" {
		t.Errorf("inspector2's revoked phone: %q", f)
	}
	// The columns line up on a terminal, where a Chinese character takes
	// two columns: the heading's 状态 starts where the rows' states do.
	lines := strings.Split(out, "\n")
	if h, r := lines[1], lines[2]; columns(h[:strings.Index(h, "状态")]) != columns(r[:strings.Index(r, "已")]) {
		t.Errorf("the state column is not aligned:\n%s\n%s", h, r)
	}
	if out, err := ctl(t, dir, "", "sync", "devices", "-user", "inspector1"); err != nil || !strings.Contains(out, phone) || strings.Contains(out, lost) {
		t.Errorf("sync devices -user inspector1: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "sync", "devices", "-user", "nobody"); err == nil || err.Error() != "没有用户“nobody”" {
		t.Errorf("an unknown user must fail: %v\n%s", err, out)
	}

	out, err = ctl(t, dir, "", "sync", "device", phone)
	if err != nil {
		t.Fatalf("sync device: %v\n%s", err, out)
	}
	t.Logf("fieldctl sync device:\n%s", out)
	for _, want := range []string{
		"用户          inspector1 (inspector) " + insp1.UserID,
		"状态          已登录（会话若不续期，于 ",
		"\n同步客户端 " + client + "（登记于 ",
		"\n  最近操作       2，执行于 ",
		"，游标位于 ",
		"（每分钟最多记录一次）",
		"\n  待拉取         ",
		"\n  被拒操作       最近 1 条（操作结果保留 30 天）：",
		"task.start  " + push.Results[1].Code + "  " + catalog.In(i18n.Default).Code(push.Results[1].Code, nil),
		"待完成的证据（已登记、未上传完成）：1",
		declared + "  任务 " + tasksOf(insp1)[0].ID + "  photo  2048 字节  登记于 ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sync device lacks %q", want)
		}
	}
	if out, err := ctl(t, dir, "", "sync", "device", lost); err != nil || !strings.Contains(out, "状态          已注销，注销时间 ") ||
		!strings.Contains(out, "没有同步客户端") || !strings.Contains(out, "待完成的证据（已登记、未上传完成）：0") {
		t.Errorf("sync device of the revoked phone: %v\n%s", err, out)
	}

	if out, err := ctl(t, dir, "", "sync", "new-epoch"); err != nil {
		t.Fatalf("new-epoch: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "sync", "device", phone); err != nil || !strings.Contains(out, "设备下次拉取时将重新同步") || strings.Contains(out, "待拉取") {
		t.Errorf("sync device after a new epoch: %v\n%s", err, out)
	}
	if out, err := ctl(t, dir, "", "sync", "devices"); err != nil || line(out, phone)[8] != "待重置" {
		t.Errorf("sync devices after a new epoch: %v\n%s", err, out)
	}
	unknown := uuid.NewString()
	for bad, want := range map[string]string{
		"sync device " + unknown: "设备 " + unknown + " 没有登录过",
		"sync device not-a-uuid": "用法：fieldctl [配置参数] sync device DEVICE_ID（DEVICE_ID 为 UUID，可用 fieldctl sync devices 查看）",
		"sync device":            "用法：fieldctl [配置参数] sync device DEVICE_ID（",
	} {
		if out, err := ctl(t, dir, "", strings.Fields(bad)...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("fieldctl %s must fail with %q: %v\n%s", bad, want, err, out)
		}
	}
}
