package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/items"
)

// shanghai is the zone the ledger and report tests read dates in.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// advance moves the clock to now and signs everyone in again, since
// their tokens and sessions may have expired on the way.
func (e *env) advance(now time.Time) {
	e.t.Helper()
	e.now = now
	for name := range e.tokens {
		e.tokens[name] = e.login(name, "password-"+name, uuid.NewString())["access_token"].(string)
	}
}

// insert writes records straight to the store, for the states the
// acceptance workflow (built elsewhere) would leave behind.
func (e *env) insert(recs ...any) {
	e.t.Helper()
	err := e.svc.Store.Tx(context.Background(), func(tx models.Tx) error {
		for _, r := range recs {
			if err := tx.Create(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// setItem changes a stored item directly (its status, its closing time).
func (e *env) setItem(id string, change func(*models.RectificationItem)) models.RectificationItem {
	e.t.Helper()
	var it models.RectificationItem
	err := e.svc.Store.Tx(context.Background(), func(tx models.Tx) error {
		if err := tx.Get(&it, id); err != nil {
			return err
		}
		change(&it)
		it.Version++
		return tx.Update(&it)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// item creates an item as the system, at the env's current clock.
func (e *env) item(code, title, category string, unit models.Unit, deadline time.Time, level string) models.RectificationItem {
	e.t.Helper()
	it, err := items.New(e.svc).CreateItem(context.Background(), system, items.ItemInput{
		Code: ptr(code), Title: ptr(title), Source: ptr("第三轮中央生态环境保护督察"), Category: ptr(category),
		Area: ptr("大气环境"), Target: ptr("达标"), Measures: ptr("覆盖、洒水"), ResponsibleUnitID: &unit.ID,
		FirstResponsible: ptr("副县长"), Deadline: models.At(deadline), SupervisionLevel: ptr(level),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

func (e *env) note(task models.InspectionTask, author string, at time.Time, text string) models.Note {
	return models.Note{ID: uuid.NewString(), TaskID: task.ID, AuthorID: e.fx.users[author].ID, DeviceID: uuid.NewString(),
		UnitPath: task.UnitPath, Text: text, Version: 1, CreatedAt: at, UpdatedAt: at}
}

func (e *env) verification(task models.InspectionTask, inspector string, at time.Time, conclusion, notes string) models.Verification {
	return models.Verification{ID: uuid.NewString(), TaskID: task.ID, ItemID: task.ItemID, InspectorID: e.fx.users[inspector].ID,
		DeviceID: uuid.NewString(), UnitPath: task.UnitPath, Conclusion: conclusion, Notes: notes, Lat: 29.7, Lng: 116,
		RecordedAt: at, EvidenceIDs: models.StringList{}, Version: 1, CreatedAt: at, UpdatedAt: at}
}

func (e *env) decision(it models.RectificationItem, kind, from, to string, at time.Time, comment string) models.Decision {
	return models.Decision{ID: uuid.NewString(), ItemID: it.ID, UnitPath: it.UnitPath, Kind: kind, FromStatus: from, ToStatus: to,
		DeciderID: e.fx.users["admin"].ID, Comment: comment, Reasons: models.StringList{}, FlagAcks: models.FlagAcks{},
		EvidenceDigest: acceptance.DigestOf([]byte(comment)), Version: 1, CreatedAt: at, UpdatedAt: at}
}

func (e *env) submission(it models.RectificationItem, round int, at time.Time) models.Submission {
	return models.Submission{ID: uuid.NewString(), ItemID: it.ID, UnitPath: it.UnitPath, Round: round,
		SubmittedBy: e.fx.users["leada"].ID, Statement: "已完成整改", Version: 1, CreatedAt: at, UpdatedAt: at}
}

// evidence is a photo of insp1's on a task, in the given status with the
// given flags.
func (e *env) evidence(task models.InspectionTask, status string, flags models.Flags) models.Evidence {
	now := e.now
	return models.Evidence{ID: uuid.NewString(), TaskID: task.ID, InspectorID: e.fx.users["insp1"].ID, SiteID: task.SiteID,
		UnitPath: task.UnitPath, Kind: "photo", Status: status, SHA256: "00", Flags: flags, Version: 1, CreatedAt: now, UpdatedAt: now}
}

// countItems counts every stored item.
func countItems(t *testing.T, store models.Store) int64 {
	t.Helper()
	var n int64
	err := store.Tx(context.Background(), func(tx models.Tx) error {
		var err error
		n, err = tx.Count(&models.RectificationItem{}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
