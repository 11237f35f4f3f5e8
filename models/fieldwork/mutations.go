// Package fieldwork applies the field work inspectors' devices push: the
// mutations (starting and completing tasks, checklist answers,
// verifications, attaching evidence, notes) under the same rules as every
// other change, with their conflict rules.
package fieldwork

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Mutation names, as the devices send them.
const (
	MutTaskStart          = "task.start"
	MutTaskComplete       = "task.complete"
	MutChecklistAnswer    = "checklist.answer"
	MutVerificationRecord = "verification.record"
	MutEvidenceAttach     = "evidence.attach"
	MutNoteAdd            = "note.add"
)

// Service applies device mutations.
type Service struct{ *models.Service }

// New returns the field-work service over core.
func New(core *models.Service) *Service { return &Service{Service: core} }

// mutation decodes its arguments and applies them in tx; it returns the
// version of the record it changed.
type mutation func(s *Service, tx models.Tx, a models.Actor, args json.RawMessage) (int64, error)

var mutations = map[string]mutation{
	MutTaskStart: func(s *Service, tx models.Tx, a models.Actor, raw json.RawMessage) (int64, error) {
		return s.moveTask(tx, a, raw, models.TaskInProgress)
	},
	MutTaskComplete: func(s *Service, tx models.Tx, a models.Actor, raw json.RawMessage) (int64, error) {
		return s.moveTask(tx, a, raw, models.TaskCompleted)
	},
	MutChecklistAnswer:    (*Service).answer,
	MutVerificationRecord: (*Service).recordVerification,
	MutEvidenceAttach:     (*Service).attachEvidence,
	MutNoteAdd:            (*Service).addNote,
}

// reads is what applying a mutation reads besides the task it names (the
// task's item, its checklist template), for Prefetch to read ahead.
var reads = map[string]struct{ item, template bool }{
	MutTaskStart:          {item: true}, // itemWorkStarted
	MutVerificationRecord: {item: true}, // itemReviewed
	MutChecklistAnswer:    {template: true},
}

// MutationNames lists the mutations the server knows.
func MutationNames() []string {
	out := make([]string, 0, len(mutations))
	for n := range mutations {
		out = append(out, n)
	}
	return out
}

// ApplyMutation applies one device mutation in tx, under the same rules as
// every other change. A rejection is an *Error with its code; the caller
// rolls tx back and records the rejection.
//
// Conflict rules: verifications, answers, notes and evidence are
// append-only and never conflict (the same id again with the same content
// is accepted once more, with other content refused); status changes go
// through the status machine, so a supervisor's cancellation or
// reassignment made before a field edit arrives wins over it.
func (s *Service) ApplyMutation(tx models.Tx, a models.Actor, name string, args json.RawMessage) (int64, error) {
	m, ok := mutations[name]
	if !ok {
		return 0, models.Errorf(models.CodeUnknownMutation, "unknown mutation %q", name)
	}
	if !a.DoesFieldWork() {
		return 0, models.Forbidden("record field work")
	}
	return m(s, tx, a, args)
}

// Prefetch reads, in tx, the tasks that the mutations with the given
// names and arguments name, and the items and templates of those tasks
// that applying them reads, a statement for each of the three
// (Tx.Prefetch); applying the mutations then reads none of them again: a
// push of ten usually names two tasks, each of which cost three reads.
// It checks nothing; each mutation still loads and checks what it names,
// and arguments it cannot read are left for the mutation to refuse.
func (s *Service) Prefetch(tx models.Tx, names []string, args []json.RawMessage) error {
	ids := make([]string, 0, len(args))
	var items, templates bool
	for i, raw := range args {
		var in taskArgs
		if json.Unmarshal(raw, &in) == nil && models.ValidID(in.TaskID) {
			ids = append(ids, in.TaskID)
			r := reads[names[i]]
			items, templates = items || r.item, templates || r.template
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var tasks []models.InspectionTask
	if err := tx.Prefetch(&tasks, ids); err != nil {
		return err
	}
	var itemIDs, templateIDs []string
	for _, t := range tasks {
		itemIDs = append(itemIDs, t.ItemID)
		if t.TemplateID != "" {
			templateIDs = append(templateIDs, t.TemplateID)
		}
	}
	if items {
		if err := tx.Prefetch(&[]models.RectificationItem{}, itemIDs); err != nil {
			return err
		}
	}
	if templates {
		return tx.Prefetch(&[]models.ChecklistTemplate{}, templateIDs)
	}
	return nil
}

// decodeArgs reads mutation arguments strictly.
func decodeArgs(raw json.RawMessage, dst any) error {
	if err := models.CheckJSONKeys(raw, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ) && typ.Field == "":
			return models.Errorf(models.CodeInvalidArgs, "the arguments must be a JSON object, not %s", typ.Value)
		case errors.As(err, &typ):
			return models.FieldError(models.CodeInvalidArgs, typ.Field, "argument %s has the wrong type (%s)", typ.Field, typ.Value)
		case errors.Is(err, io.EOF):
			return models.Errorf(models.CodeInvalidArgs, "the mutation has no arguments")
		}
		return models.Errorf(models.CodeInvalidArgs, "the arguments are not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return models.Errorf(models.CodeInvalidArgs, "the arguments have data after their JSON object")
	}
	return nil
}

type taskArgs struct {
	TaskID string `json:"task_id"`
}

func (s *Service) moveTask(tx models.Tx, a models.Actor, raw json.RawMessage, to string) (int64, error) {
	var in taskArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	t, err := s.FieldTask(tx, a, in.TaskID)
	if err != nil {
		return 0, err
	}
	if err := models.TaskMachine.Check(t.Status, to); err != nil {
		return 0, err
	}
	before := t
	t.Status = to
	t.Version++
	t.UpdatedAt = s.Time()
	if err := tx.Update(&t); err != nil {
		return 0, err
	}
	action := models.AuditTaskStart
	if to == models.TaskCompleted {
		action = models.AuditTaskComplete
	}
	if err := s.AuditTx(tx, a, action, models.EntityTasks, t.ID, models.StatusChange(before.Status, to)); err != nil {
		return 0, err
	}
	if to == models.TaskInProgress {
		if err := s.itemWorkStarted(tx, a, t.ItemID); err != nil {
			return 0, err
		}
	}
	return t.Version, s.TaskChanged(tx, &before, &t)
}

// itemWorkStarted moves an item that is new, rejected or reopened to
// in_progress when field work on it starts.
func (s *Service) itemWorkStarted(tx models.Tx, a models.Actor, itemID string) error {
	var it models.RectificationItem
	if err := tx.Get(&it, itemID); err != nil {
		return err
	}
	switch it.Status {
	case models.ItemNotStarted, models.ItemRejected, models.ItemReopened:
		if err := s.AuditTx(tx, a, models.AuditItemStart, models.EntityItems, it.ID, models.StatusChange(it.Status, models.ItemInProgress)); err != nil {
			return err
		}
		it.Status = models.ItemInProgress
		return s.SaveItem(tx, &it)
	}
	return nil
}

type answerArgs struct {
	ID         string          `json:"id"`
	TaskID     string          `json:"task_id"`
	QuestionID string          `json:"question_id"`
	Value      json.RawMessage `json:"value"`
}

func (s *Service) answer(tx models.Tx, a models.Actor, raw json.RawMessage) (int64, error) {
	var in answerArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	if err := models.CheckID("id", in.ID); err != nil {
		return 0, err
	}
	t, err := s.OpenFieldTask(tx, a, in.TaskID)
	if err != nil {
		return 0, err
	}
	var tmpl models.ChecklistTemplate
	if err := tx.Get(&tmpl, t.TemplateID); err != nil {
		return 0, err
	}
	if err := checkAnswer(tmpl.Questions, in.QuestionID, in.Value); err != nil {
		return 0, err
	}
	if err := checkPhotoAnswer(tx, a, &t, tmpl.Questions, in.QuestionID, in.Value); err != nil {
		return 0, err
	}
	now := s.Time()
	ans := models.Answer{ID: in.ID, TaskID: t.ID, QuestionID: in.QuestionID, InspectorID: a.UserID, DeviceID: a.DeviceID,
		UnitPath: t.UnitPath, Value: models.RawJSON(compactJSON(in.Value)), Version: 1, CreatedAt: now, UpdatedAt: now}
	return s.appendOnly(tx, &ans, &models.Answer{}, ans.ID, func(old any) bool {
		o := old.(*models.Answer)
		return o.InspectorID == ans.InspectorID && o.TaskID == ans.TaskID && o.QuestionID == ans.QuestionID && bytes.Equal(o.Value, ans.Value)
	}, models.EntityAnswers, a, t.UnitPath)
}

// checkAnswer checks a value against its question's type.
func checkAnswer(qs models.Questions, qid string, value json.RawMessage) error {
	for _, q := range qs {
		if q.ID != qid {
			continue
		}
		if len(value) > 16<<10 || (q.Type == models.QuestionNumber && len(value) > 64) {
			return models.FieldError(models.CodeAnswerType, "value", "the answer to %s is too long", qid)
		}
		if len(value) == 0 || string(value) == "null" {
			return models.FieldError(models.CodeAnswerType, "value", "question %s needs a %s answer, not null", qid, q.Type)
		}
		var ok bool
		switch q.Type {
		case models.QuestionYesNo:
			var b bool
			ok = json.Unmarshal(value, &b) == nil
		case models.QuestionNumber:
			var f float64
			ok = json.Unmarshal(value, &f) == nil && !math.IsInf(f, 0)
		case models.QuestionText:
			var str string
			ok = json.Unmarshal(value, &str) == nil && len(str) <= 10000
		case models.QuestionPhoto:
			var id string
			ok = json.Unmarshal(value, &id) == nil && models.ValidID(id)
		}
		if !ok {
			return models.FieldError(models.CodeAnswerType, "value", "question %s takes a %s answer", qid, q.Type)
		}
		return nil
	}
	return models.FieldError(models.CodeUnknownQuestion, "question_id", "the task's checklist has no question %q", qid)
}

// checkPhotoAnswer refuses a photo answer that names another inspector's
// or another task's evidence, as a verification's photos are refused:
// otherwise someone else's photo would stand in a checklist as proof.
// Evidence not declared yet is the device's to send later.
func checkPhotoAnswer(tx models.Tx, a models.Actor, t *models.InspectionTask, qs models.Questions, qid string, value json.RawMessage) error {
	for _, q := range qs {
		if q.ID != qid || q.Type != models.QuestionPhoto {
			continue
		}
		var id string
		if err := json.Unmarshal(value, &id); err != nil {
			return models.FieldError(models.CodeAnswerType, "value", "question %s takes an evidence id", qid)
		}
		var e models.Evidence
		err := tx.Get(&e, id)
		switch {
		case err == nil && (e.InspectorID != a.UserID || e.TaskID != t.ID):
			return models.FieldError(models.CodeEvidenceMismatch, "value", "evidence %s belongs to another task or inspector", id)
		case err != nil && !models.IsNotFound(err):
			return err
		}
	}
	return nil
}

func compactJSON(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// appendOnly creates an append-only record. The same id sent again (a
// device retrying after a lost answer, or two devices of one user) is
// accepted when it carries the same content and refused otherwise. The
// insert goes first and the stored record is read only when its id is
// taken: a new record, nearly every one, costs one statement, and a
// failed insert leaves the transaction usable on both databases.
func (s *Service) appendOnly(tx models.Tx, rec models.Record, existing models.Record, id string, same func(old any) bool, entity string, a models.Actor, unitPath string) (int64, error) {
	err := tx.Create(rec)
	if errors.Is(err, models.ErrDuplicate) {
		switch gerr := tx.Get(existing, id); {
		case models.IsNotFound(gerr):
			return 0, err // another unique key clashed
		case gerr != nil:
			return 0, gerr
		case same(existing):
			return 1, nil
		}
		return 0, models.Errorf(models.CodeRecordExists, "a different %s with id %s already exists", strings.TrimSuffix(entity, "s"), id)
	}
	if err != nil {
		return 0, err
	}
	return 1, s.Changed(tx, entity, id, 1, models.OpUpsert, models.ScopeUser(a.UserID), models.ScopeUnit(unitPath))
}

type verificationArgs struct {
	ID          string               `json:"id"`
	TaskID      string               `json:"task_id"`
	Conclusion  string               `json:"conclusion"`
	Notes       string               `json:"notes"`
	Location    verificationLocation `json:"location"`
	RecordedAt  time.Time            `json:"recorded_at"`
	EvidenceIDs []string             `json:"evidence_ids"`
}

// verificationLocation is the fix of a verification: a LocationInput
// without altitude.
type verificationLocation struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	Datum     string  `json:"datum"`
	AccuracyM float64 `json:"accuracy_m"`
	Mocked    bool    `json:"mocked"`
}

func (s *Service) recordVerification(tx models.Tx, a models.Actor, raw json.RawMessage) (int64, error) {
	var in verificationArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	if err := models.CheckID("id", in.ID); err != nil {
		return 0, err
	}
	if err := models.OneOf("conclusion", in.Conclusion, models.Conclusions); err != nil {
		return 0, err
	}
	l := in.Location
	fix, err := models.LocationInput{Lat: l.Lat, Lng: l.Lng, Datum: l.Datum, AccuracyM: l.AccuracyM, Mocked: l.Mocked}.Fix("location.")
	if err != nil {
		return 0, err
	}
	if in.RecordedAt.IsZero() {
		return 0, models.FieldError(models.CodeRequired, "recorded_at", "recorded_at is required")
	}
	if _, err := models.TimeField("recorded_at", in.RecordedAt); err != nil {
		return 0, err
	}
	notes, err := models.Text("notes", &in.Notes, false, 10000)
	if err != nil {
		return 0, err
	}
	if len(in.EvidenceIDs) > models.MaxEvidencePerVerification {
		return 0, models.FieldError(models.CodeValidation, "evidence_ids", "at most %d evidence ids", models.MaxEvidencePerVerification)
	}
	for _, id := range in.EvidenceIDs {
		if err := models.CheckID("evidence_ids", id); err != nil {
			return 0, err
		}
	}
	t, err := s.OpenFieldTask(tx, a, in.TaskID)
	if err != nil {
		return 0, err
	}
	now := s.Time()
	v := models.Verification{ID: in.ID, TaskID: t.ID, ItemID: t.ItemID, InspectorID: a.UserID, DeviceID: a.DeviceID, UnitPath: t.UnitPath,
		Conclusion: in.Conclusion, Notes: notes, Lat: fix.Lat, Lng: fix.Lng, Datum: fix.Datum, OriginalLat: fix.OriginalLat,
		OriginalLng: fix.OriginalLng, AccuracyM: fix.AccuracyM, Mocked: fix.Mocked, RecordedAt: models.Stamp(in.RecordedAt), EvidenceIDs: models.StringList(in.EvidenceIDs), Version: 1, CreatedAt: now, UpdatedAt: now}
	if v.EvidenceIDs == nil {
		v.EvidenceIDs = models.StringList{}
	}
	var old models.Verification
	version, err := s.appendOnly(tx, &v, &old, v.ID, func(any) bool {
		return old.TaskID == v.TaskID && old.Conclusion == v.Conclusion && old.RecordedAt.Equal(v.RecordedAt) &&
			old.InspectorID == v.InspectorID && old.Notes == v.Notes && old.Lat == v.Lat && old.Lng == v.Lng && old.Datum == v.Datum &&
			old.AccuracyM == v.AccuracyM && old.Mocked == v.Mocked && sameSet(old.EvidenceIDs, v.EvidenceIDs)
	}, models.EntityVerifications, a, t.UnitPath)
	if err != nil || old.ID != "" {
		return version, err
	}
	for _, id := range v.EvidenceIDs {
		if err := s.linkEvidence(tx, a, &t, id, v.ID); err != nil {
			return 0, err
		}
	}
	return version, s.itemReviewed(tx, a, t.ItemID, v.RecordedAt)
}

// itemReviewed moves an open-ended item's next review to the end of the
// cadence period after the one in which a verification was recorded: the
// verification is that period's review.
func (s *Service) itemReviewed(tx models.Tx, a models.Actor, itemID string, at time.Time) error {
	var it models.RectificationItem
	if err := tx.Get(&it, itemID); err != nil {
		return err
	}
	if it.ReviewCadence == "" || it.Status == models.ItemAccepted {
		return nil
	}
	loc := s.Deadlines.Location()
	due := models.Stamp(models.ReviewDue(it.ReviewCadence, models.ReviewDue(it.ReviewCadence, at, loc).Add(time.Second), loc))
	if !due.After(it.Deadline) {
		return nil
	}
	if err := s.AuditTx(tx, a, models.AuditItemUpdate, models.EntityItems, it.ID, map[string]any{
		"deadline": models.AuditChange{From: it.Deadline, To: due}, "reviewed": true}); err != nil {
		return err
	}
	it.Deadline = due
	return s.SaveItem(tx, &it)
}

// linkEvidence ties evidence to a verification, creating a pending record
// when the device has not sent the photo's metadata yet.
func (s *Service) linkEvidence(tx models.Tx, a models.Actor, t *models.InspectionTask, evidenceID, verificationID string) error {
	var e models.Evidence
	err := tx.Get(&e, evidenceID)
	now := s.Time()
	switch {
	case models.IsNotFound(err):
		e = models.Evidence{ID: evidenceID, TaskID: t.ID, VerificationID: &verificationID, InspectorID: a.UserID, DeviceID: a.DeviceID,
			SiteID: t.SiteID, UnitPath: t.UnitPath, Kind: "photo", Status: models.EvidencePending, Flags: models.Flags{}, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&e); err != nil {
			return err
		}
	case err != nil:
		return err
	case e.InspectorID != a.UserID || e.TaskID != t.ID:
		return models.FieldError(models.CodeEvidenceMismatch, "evidence_id", "evidence %s belongs to another task or inspector", evidenceID)
	case e.VerificationID != nil && *e.VerificationID == verificationID:
		return nil
	case e.VerificationID != nil:
		return models.FieldError(models.CodeEvidenceMismatch, "evidence_id", "evidence %s is already attached to another verification", evidenceID)
	default:
		e.VerificationID = &verificationID
		e.Version++
		e.UpdatedAt = now
		if err := tx.Update(&e); err != nil {
			return err
		}
	}
	return s.Changed(tx, models.EntityEvidence, e.ID, e.Version, models.OpUpsert, models.ScopeUser(a.UserID), models.ScopeUnit(t.UnitPath))
}

type attachArgs struct {
	EvidenceID     string `json:"evidence_id"`
	VerificationID string `json:"verification_id"`
}

func (s *Service) attachEvidence(tx models.Tx, a models.Actor, raw json.RawMessage) (int64, error) {
	var in attachArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	if err := models.CheckID("evidence_id", in.EvidenceID); err != nil {
		return 0, err
	}
	var v models.Verification
	if err := models.GetVisible(tx, &v, in.VerificationID, "verification", func() bool { return v.InspectorID == a.UserID }); err != nil {
		return 0, err
	}
	t, err := s.OpenFieldTask(tx, a, v.TaskID)
	if err != nil {
		return 0, err
	}
	if err := s.linkEvidence(tx, a, &t, in.EvidenceID, v.ID); err != nil {
		return 0, err
	}
	if err := s.ListEvidenceOn(tx, a, &v, in.EvidenceID, "evidence_id"); err != nil {
		return 0, err
	}
	return v.Version, nil
}

type noteArgs struct {
	ID     string `json:"id"`
	TaskID string `json:"task_id"`
	Text   string `json:"text"`
}

func (s *Service) addNote(tx models.Tx, a models.Actor, raw json.RawMessage) (int64, error) {
	var in noteArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	if err := models.CheckID("id", in.ID); err != nil {
		return 0, err
	}
	body, err := models.Text("text", &in.Text, true, 5000)
	if err != nil {
		return 0, err
	}
	t, err := s.FieldTask(tx, a, in.TaskID)
	if err != nil {
		return 0, err
	}
	now := s.Time()
	n := models.Note{ID: in.ID, TaskID: t.ID, AuthorID: a.UserID, DeviceID: a.DeviceID, UnitPath: t.UnitPath, Text: body, Version: 1, CreatedAt: now, UpdatedAt: now}
	return s.appendOnly(tx, &n, &models.Note{}, n.ID, func(old any) bool {
		o := old.(*models.Note)
		return o.AuthorID == n.AuthorID && o.TaskID == n.TaskID && o.Text == n.Text
	}, models.EntityNotes, a, t.UnitPath)
}

// sameSet reports whether two id lists hold the same ids; a verification's
// list only grows by attachment, so the original ids must all be there.
func sameSet(stored, sent []string) bool {
	have := map[string]bool{}
	for _, id := range stored {
		have[id] = true
	}
	for _, id := range sent {
		if !have[id] {
			return false
		}
	}
	return true
}
