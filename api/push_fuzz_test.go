package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/authn"
	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/fieldwork"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// Fixed ids, so that seeds can name the fixture's records and the fuzzer
// can reach them. Ids the fixture generates follow fixtureID.
const (
	fzTask      = "00000000-0000-4000-8000-00000000000a" // the actor's open task
	fzTheirTask = "00000000-0000-4000-8000-00000000000b" // another inspector's
	fzVerif     = "00000000-0000-4000-8000-0000000000c1" // the actor's verification on fzTask
	fzTheirVer  = "00000000-0000-4000-8000-0000000000c2"
	fzEvidence  = "00000000-0000-4000-8000-0000000000e1" // the actor's, on fzVerif
	fzTheirEv   = "00000000-0000-4000-8000-0000000000e2"
	fzFresh     = "00000000-0000-4000-8000-0000000000f1" // no record has it
)

// pushFixture is a database with two inspectors of one unit, each holding
// a task with a verification and a pending photo.
type pushFixture struct {
	svc   *models.Service
	actor models.Actor
	// theirs are the other inspector's records, as the fixture left them.
	theirs []any
}

func newPushFixture(tb testing.TB, dialect string) *pushFixture {
	db := storagetest.MustOpen(tb, dialect)
	// next, when set, is the id the next record gets (a task's is its
	// first); the others are numbered.
	n, next := 0, ""
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	svc := &models.Service{Store: db, Now: func() time.Time { return now }, Hasher: authn.Argon2id{Time: 1, MemoryK: 64, Threads: 1},
		NewID: func() string {
			if id := next; id != "" {
				next = ""
				return id
			}
			n++
			return fmt.Sprintf("00000000-0000-4000-8000-%012x", 0x1000+n)
		}}
	ctx := context.Background()
	admin := models.Actor{UserID: "system", Role: models.RoleAdmin}
	must := func(_ any, err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	s := func(v string) *string { return &v }
	unit, err := items.New(svc).CreateUnit(ctx, admin, items.UnitInput{Code: s("U"), Name: s("县"), Kind: s("county")})
	must(unit, err)
	var inspectors [2]models.User
	for i := range inspectors {
		inspectors[i], err = items.New(svc).CreateUser(ctx, admin, items.UserInput{Username: s(fmt.Sprintf("insp%d", i)), Password: s("password-fuzz"),
			Role: s(models.RoleInspector), UnitID: &unit.ID})
		must(nil, err)
	}
	item, err := items.New(svc).CreateItem(ctx, admin, items.ItemInput{Code: s("F-1"), Title: s("t"), Source: s("s"), Category: s("c"), Target: s("t"),
		Measures: s("m"), ResponsibleUnitID: &unit.ID, FirstResponsible: s("p"), Deadline: models.At(now)})
	must(nil, err)
	r := 100.0
	lat, lng := 29.7, 116.0
	site, err := items.New(svc).CreateSite(ctx, admin, items.SiteInput{UnitID: &unit.ID, Name: s("排口"), Kind: s("sewage_outfall"), Lat: &lat, Lng: &lng, RadiusM: &r})
	must(nil, err)
	tmpl, err := items.New(svc).CreateTemplate(ctx, admin, items.TemplateInput{Name: s("表"), Questions: &[]models.Question{
		{ID: "q1", Text: "封堵", Type: models.QuestionYesNo}, {ID: "q2", Text: "COD", Type: models.QuestionNumber},
		{ID: "q3", Text: "说明", Type: models.QuestionText}, {ID: "q4", Text: "照片", Type: models.QuestionPhoto}}})
	must(nil, err)
	f := &pushFixture{svc: svc}
	for i, id := range []string{fzTask, fzTheirTask} {
		next = id
		due := now.Add(72 * time.Hour)
		must(items.New(svc).CreateTask(ctx, admin, items.TaskInput{ItemID: &item.ID, SiteID: &site.ID, Kind: s(models.TaskProgressCheck),
			TemplateID: &tmpl.ID, WindowStart: &now, DueAt: &due, AssigneeID: &inspectors[i].ID}))
		a := models.Actor{UserID: inspectors[i].ID, Role: models.RoleInspector, UnitID: unit.ID, UnitPath: unit.Path, DeviceID: fzFresh}
		verif, ev := []string{fzVerif, fzTheirVer}[i], []string{fzEvidence, fzTheirEv}[i]
		args := fmt.Sprintf(`{"id":%q,"task_id":%q,"conclusion":"rectified","notes":"","location":{"lat":29.7,"lng":116,"accuracy_m":5,"mocked":false},"recorded_at":"2026-11-28T09:00:00Z","evidence_ids":[%q]}`, verif, id, ev)
		must(nil, db.Tx(ctx, func(tx models.Tx) error {
			_, err := fieldwork.New(svc).ApplyMutation(tx, a, fieldwork.MutVerificationRecord, json.RawMessage(args))
			return err
		}))
		if i == 0 {
			f.actor = a
		}
	}
	f.theirs = f.load(tb, nil)
	return f
}

// load reads the other inspector's records, in tx or in a transaction of
// its own.
func (f *pushFixture) load(tb testing.TB, tx models.Tx) []any {
	recs := []any{&models.InspectionTask{}, &models.Verification{}, &models.Evidence{}}
	ids := []string{fzTheirTask, fzTheirVer, fzTheirEv}
	read := func(tx models.Tx) error {
		for i, r := range recs {
			if err := tx.Get(r, ids[i]); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if tx != nil {
		err = read(tx)
	} else {
		err = f.svc.Store.Tx(context.Background(), read)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// errRollback ends a fuzzed mutation's transaction without committing.
var errRollback = errors.New("roll back")

// decodeCodes are the codes decode refuses a body with.
var decodeCodes = map[models.Code]bool{models.CodeMalformedJSON: true, models.CodeUnknownField: true, models.CodeInvalidType: true,
	models.CodeBodyTooLarge: true, models.CodeUnsupportedMediaType: true, models.CodeDuplicateKey: true, models.CodeKeyCase: true}

// FuzzPushDecode sends any body through the decoding of POST
// /v1/sync/push (decode into the wire type, as the handler does) and then
// each mutation's arguments through the service, on a database holding
// two inspectors' work, each mutation in a transaction rolled back after
// it. Properties: a body decode refuses has a decoding code; one it
// accepts re-encodes to the same request; a mutation is applied or
// rejected with a domain code, never failed with a server error (which the
// device would retry for ever, stuck behind it); and nothing the actor
// does changes the other inspector's task, verification or evidence.
func FuzzPushDecode(f *testing.F) {
	args := map[string]string{
		fieldwork.MutTaskStart:          `{"task_id":"` + fzTask + `"}`,
		fieldwork.MutTaskComplete:       `{"task_id":"` + fzTheirTask + `"}`,
		fieldwork.MutChecklistAnswer:    `{"id":"` + fzFresh + `","task_id":"` + fzTask + `","question_id":"q4","value":"` + fzTheirEv + `"}`,
		fieldwork.MutVerificationRecord: `{"id":"` + fzFresh + `","task_id":"` + fzTask + `","conclusion":"suspected_fake","notes":"排口","location":{"lat":29.7,"lng":116,"accuracy_m":8,"mocked":true},"recorded_at":"9999-12-31T23:59:59-14:00","evidence_ids":["` + fzTheirEv + `"]}`,
		fieldwork.MutEvidenceAttach:     `{"evidence_id":"` + fzTheirEv + `","verification_id":"` + fzVerif + `"}`,
		fieldwork.MutNoteAdd:            `{"id":"` + fzFresh + `","task_id":"` + fzTheirTask + `","text":"到场"}`,
	}
	for name, a := range args {
		f.Add([]byte(`{"client_id":"` + fzFresh + `","schema_version":1,"mutations":[{"id":1,"name":"` + name + `","args":` + a + `}]}`))
	}
	for _, body := range []string{
		`{"client_id":"x","schema_version":1,"mutations":[{"id":1,"name":"checklist.answer","args":{"id":"` + fzFresh + `","task_id":"` + fzTask + `","question_id":"q2","value":1e308}}]}`,
		`{"client_id":"x","schema_version":1,"mutations":[{"id":1,"name":"verification.record","args":{"id":"` + fzFresh + `","task_id":"` + fzTask + `","conclusion":"rectified","notes":"","location":{"lat":0,"lng":0,"accuracy_m":0,"mocked":false},"recorded_at":"0000-01-01T00:00:00+01:00","evidence_ids":[]}}]}`,
		`{"client_id":"x","schema_version":1,"mutations":[{"id":1,"name":"evidence.attach","args":{"evidence_id":"` + fzEvidence + `","verification_id":"` + fzTheirVer + `"}}],"mutations":[]}`,
		`{"mutations":[{"id":1,"name":"task.start","args":null,"base_version":3}]}`,
		`{"mutations":[{"args":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}`,
		`{"Client_ID":"x","MUTATIONS":[]}`, `{"mutations":{}}`, `[]`, `null`, ``, `{"schema_version":1e400}`,
	} {
		f.Add([]byte(body))
	}
	var fixtures []*pushFixture
	for _, d := range storagetest.Dialects {
		fixtures = append(fixtures, newPushFixture(f, d))
	}
	app := fiber.New(fiber.Config{BodyLimit: 1 << 20})
	var in contract.PushRequest
	var decodeErr error
	app.Post("/", func(c *fiber.Ctx) error {
		in = contract.PushRequest{}
		decodeErr = decode(c, &in)
		return nil
	})
	decodeBody := func(t *testing.T, body []byte) (contract.PushRequest, error) {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		return in, decodeErr
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeBody(t, body)
		if err != nil {
			if !decodeCodes[models.ErrorCode(err)] {
				t.Fatalf("refused with %v, not a decoding code", err)
			}
			return
		}
		again, _ := json.Marshal(req)
		req2, err := decodeBody(t, again)
		if err != nil || !reflect.DeepEqual(normalized(req), normalized(req2)) {
			t.Fatalf("decoded %+v, re-encoded as %s, decoded again as %+v (%v)", req, again, req2, err)
		}
		for _, fx := range fixtures {
			for _, m := range req.Mutations[:min(len(req.Mutations), 4)] {
				fx.apply(t, m)
			}
		}
	})
}

// apply runs one mutation as the actor and rolls it back.
func (f *pushFixture) apply(t *testing.T, m contract.Mutation) {
	var applyErr error
	err := f.svc.Store.Tx(context.Background(), func(tx models.Tx) error {
		if _, applyErr = fieldwork.New(f.svc).ApplyMutation(tx, f.actor, m.Name, m.Args); applyErr != nil {
			return applyErr
		}
		if after := f.load(t, tx); !reflect.DeepEqual(after, f.theirs) {
			t.Fatalf("%s %s changed another inspector's records", m.Name, m.Args)
		}
		return errRollback
	})
	if applyErr == nil && errors.Is(err, errRollback) {
		return
	}
	if e := models.AsError(applyErr); e == nil || e.Code.Kind() == models.KindInternal || e.Code.Kind() == models.KindUnavailable {
		t.Fatalf("%s %s failed with a server error, which the device would retry for ever: %v", m.Name, m.Args, applyErr)
	}
}

// normalized is r with each mutation's arguments as the JSON value they
// hold (numbers as written), since encoding them may change their spelling
// (HTML-safe escapes, spacing); absent arguments encode as null.
func normalized(r contract.PushRequest) any {
	type mutation struct {
		contract.Mutation
		Value any
	}
	out := []mutation{}
	for _, m := range r.Mutations {
		var v any
		if len(m.Args) > 0 {
			dec := json.NewDecoder(bytes.NewReader(m.Args))
			dec.UseNumber()
			if dec.Decode(&v) != nil {
				v = m.Args
			}
		}
		m.Args = nil
		out = append(out, mutation{m, v})
	}
	return []any{r.ClientID, r.SchemaVersion, out}
}
