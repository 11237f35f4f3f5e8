package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"time"
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

// Evidence kinds.
var EvidenceKinds = []string{"photo", "signature", "document"}

// mutation decodes its arguments and applies them in tx; it returns the
// version of the record it changed.
type mutation func(s *Service, tx Tx, a Actor, args json.RawMessage) (int64, error)

var mutations = map[string]mutation{
	MutTaskStart: func(s *Service, tx Tx, a Actor, raw json.RawMessage) (int64, error) {
		return s.moveTask(tx, a, raw, TaskInProgress)
	},
	MutTaskComplete: func(s *Service, tx Tx, a Actor, raw json.RawMessage) (int64, error) {
		return s.moveTask(tx, a, raw, TaskCompleted)
	},
	MutChecklistAnswer:    (*Service).answer,
	MutVerificationRecord: (*Service).recordVerification,
	MutEvidenceAttach:     (*Service).attachEvidence,
	MutNoteAdd:            (*Service).addNote,
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
func (s *Service) ApplyMutation(tx Tx, a Actor, name string, args json.RawMessage) (int64, error) {
	m, ok := mutations[name]
	if !ok {
		return 0, Errorf(CodeUnknownMutation, "unknown mutation %q", name)
	}
	if a.Role != RoleInspector {
		return 0, errForbidden("record field work")
	}
	return m(s, tx, a, args)
}

// decodeArgs reads mutation arguments strictly.
func decodeArgs(raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ) && typ.Field == "":
			return Errorf(CodeInvalidArgs, "the arguments must be a JSON object, not %s", typ.Value)
		case errors.As(err, &typ):
			return FieldError(CodeInvalidArgs, typ.Field, "argument %s has the wrong type (%s)", typ.Field, typ.Value)
		case errors.Is(err, io.EOF):
			return Errorf(CodeInvalidArgs, "the mutation has no arguments")
		}
		return Errorf(CodeInvalidArgs, "the arguments are not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(CodeInvalidArgs, "the arguments have data after their JSON object")
	}
	return nil
}

// fieldTask loads a task the inspector holds.
func (s *Service) fieldTask(tx Tx, a Actor, id string) (InspectionTask, error) {
	var t InspectionTask
	if err := checkID("task_id", id); err != nil {
		return t, err
	}
	err := getVisible(tx, &t, id, "task", func() bool { return a.canReadTask(&t) })
	return t, err
}

// openFieldTask loads a task the inspector holds and may still record on.
func (s *Service) openFieldTask(tx Tx, a Actor, id string) (InspectionTask, error) {
	t, err := s.fieldTask(tx, a, id)
	if err == nil && t.Status != TaskAssigned && t.Status != TaskInProgress {
		err = Errorf(CodeTaskClosed, "the task is %s; nothing more can be recorded on it", t.Status)
	}
	return t, err
}

type taskArgs struct {
	TaskID string `json:"task_id"`
}

func (s *Service) moveTask(tx Tx, a Actor, raw json.RawMessage, to string) (int64, error) {
	var in taskArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	t, err := s.fieldTask(tx, a, in.TaskID)
	if err != nil {
		return 0, err
	}
	if err := TaskMachine.Check(t.Status, to); err != nil {
		return 0, err
	}
	before := t
	t.Status = to
	t.Version++
	t.UpdatedAt = s.now()
	if err := tx.Update(&t); err != nil {
		return 0, err
	}
	action := AuditTaskStart
	if to == TaskCompleted {
		action = AuditTaskComplete
	}
	if err := s.audit(tx, a, action, EntityTasks, t.ID, statusChange(before.Status, to)); err != nil {
		return 0, err
	}
	if to == TaskInProgress {
		if err := s.itemWorkStarted(tx, a, t.ItemID); err != nil {
			return 0, err
		}
	}
	return t.Version, s.taskChanged(tx, &before, &t)
}

// itemWorkStarted moves an item that is new, rejected or reopened to
// in_progress when field work on it starts.
func (s *Service) itemWorkStarted(tx Tx, a Actor, itemID string) error {
	var it RectificationItem
	if err := tx.Get(&it, itemID); err != nil {
		return err
	}
	switch it.Status {
	case ItemNotStarted, ItemRejected, ItemReopened:
		if err := s.audit(tx, a, AuditItemStart, EntityItems, it.ID, statusChange(it.Status, ItemInProgress)); err != nil {
			return err
		}
		it.Status = ItemInProgress
		return s.saveItem(tx, &it)
	}
	return nil
}

type answerArgs struct {
	ID         string          `json:"id"`
	TaskID     string          `json:"task_id"`
	QuestionID string          `json:"question_id"`
	Value      json.RawMessage `json:"value"`
}

func (s *Service) answer(tx Tx, a Actor, raw json.RawMessage) (int64, error) {
	var in answerArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	if err := checkID("id", in.ID); err != nil {
		return 0, err
	}
	t, err := s.openFieldTask(tx, a, in.TaskID)
	if err != nil {
		return 0, err
	}
	var tmpl ChecklistTemplate
	if err := tx.Get(&tmpl, t.TemplateID); err != nil {
		return 0, err
	}
	if err := checkAnswer(tmpl.Questions, in.QuestionID, in.Value); err != nil {
		return 0, err
	}
	if err := checkPhotoAnswer(tx, a, &t, tmpl.Questions, in.QuestionID, in.Value); err != nil {
		return 0, err
	}
	now := s.now()
	ans := Answer{ID: in.ID, TaskID: t.ID, QuestionID: in.QuestionID, InspectorID: a.UserID, DeviceID: a.DeviceID,
		UnitPath: t.UnitPath, Value: RawJSON(compactJSON(in.Value)), Version: 1, CreatedAt: now, UpdatedAt: now}
	return s.appendOnly(tx, &ans, &Answer{}, ans.ID, func(old any) bool {
		o := old.(*Answer)
		return o.InspectorID == ans.InspectorID && o.TaskID == ans.TaskID && o.QuestionID == ans.QuestionID && bytes.Equal(o.Value, ans.Value)
	}, EntityAnswers, a, t.UnitPath)
}

// checkAnswer checks a value against its question's type.
func checkAnswer(qs Questions, qid string, value json.RawMessage) error {
	for _, q := range qs {
		if q.ID != qid {
			continue
		}
		if len(value) > 16<<10 || (q.Type == QuestionNumber && len(value) > 64) {
			return FieldError(CodeAnswerType, "value", "the answer to %s is too long", qid)
		}
		if len(value) == 0 || string(value) == "null" {
			return FieldError(CodeAnswerType, "value", "question %s needs a %s answer, not null", qid, q.Type)
		}
		var ok bool
		switch q.Type {
		case QuestionYesNo:
			var b bool
			ok = json.Unmarshal(value, &b) == nil
		case QuestionNumber:
			var f float64
			ok = json.Unmarshal(value, &f) == nil && !math.IsInf(f, 0)
		case QuestionText:
			var str string
			ok = json.Unmarshal(value, &str) == nil && len(str) <= 10000
		case QuestionPhoto:
			var id string
			ok = json.Unmarshal(value, &id) == nil && ValidID(id)
		}
		if !ok {
			return FieldError(CodeAnswerType, "value", "question %s takes a %s answer", qid, q.Type)
		}
		return nil
	}
	return FieldError(CodeUnknownQuestion, "question_id", "the task's checklist has no question %q", qid)
}

// checkPhotoAnswer refuses a photo answer that names another inspector's
// or another task's evidence, as a verification's photos are refused:
// otherwise someone else's photo would stand in a checklist as proof.
// Evidence not declared yet is the device's to send later.
func checkPhotoAnswer(tx Tx, a Actor, t *InspectionTask, qs Questions, qid string, value json.RawMessage) error {
	for _, q := range qs {
		if q.ID != qid || q.Type != QuestionPhoto {
			continue
		}
		var id string
		if err := json.Unmarshal(value, &id); err != nil {
			return FieldError(CodeAnswerType, "value", "question %s takes an evidence id", qid)
		}
		var e Evidence
		err := tx.Get(&e, id)
		switch {
		case err == nil && (e.InspectorID != a.UserID || e.TaskID != t.ID):
			return FieldError(CodeEvidenceMismatch, "value", "evidence %s belongs to another task or inspector", id)
		case err != nil && !IsNotFound(err):
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
func (s *Service) appendOnly(tx Tx, rec Record, existing Record, id string, same func(old any) bool, entity string, a Actor, unitPath string) (int64, error) {
	err := tx.Create(rec)
	if errors.Is(err, ErrDuplicate) {
		switch gerr := tx.Get(existing, id); {
		case IsNotFound(gerr):
			return 0, err // another unique key clashed
		case gerr != nil:
			return 0, gerr
		case same(existing):
			return 1, nil
		}
		return 0, Errorf(CodeRecordExists, "a different %s with id %s already exists", strings.TrimSuffix(entity, "s"), id)
	}
	if err != nil {
		return 0, err
	}
	return 1, s.changed(tx, entity, id, 1, OpUpsert, ScopeUser(a.UserID), ScopeUnit(unitPath))
}

type verificationArgs struct {
	ID          string    `json:"id"`
	TaskID      string    `json:"task_id"`
	Conclusion  string    `json:"conclusion"`
	Notes       string    `json:"notes"`
	Location    location  `json:"location"`
	RecordedAt  time.Time `json:"recorded_at"`
	EvidenceIDs []string  `json:"evidence_ids"`
}

type location struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	AccuracyM float64 `json:"accuracy_m"`
	Mocked    bool    `json:"mocked"`
}

// MaxEvidencePerVerification bounds the photos of one verification.
const MaxEvidencePerVerification = 100

func (s *Service) recordVerification(tx Tx, a Actor, raw json.RawMessage) (int64, error) {
	var in verificationArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	if err := checkID("id", in.ID); err != nil {
		return 0, err
	}
	if err := oneOf("conclusion", in.Conclusion, Conclusions); err != nil {
		return 0, err
	}
	if err := ValidateLatLng(in.Location.Lat, in.Location.Lng, "location."); err != nil {
		return 0, err
	}
	if in.Location.AccuracyM < 0 || math.IsNaN(in.Location.AccuracyM) {
		return 0, FieldError(CodeValidation, "location.accuracy_m", "accuracy_m cannot be negative")
	}
	if in.RecordedAt.IsZero() {
		return 0, FieldError(CodeRequired, "recorded_at", "recorded_at is required")
	}
	if _, err := timeField("recorded_at", in.RecordedAt); err != nil {
		return 0, err
	}
	notes, err := text("notes", &in.Notes, false, 10000)
	if err != nil {
		return 0, err
	}
	if len(in.EvidenceIDs) > MaxEvidencePerVerification {
		return 0, FieldError(CodeValidation, "evidence_ids", "at most %d evidence ids", MaxEvidencePerVerification)
	}
	for _, id := range in.EvidenceIDs {
		if err := checkID("evidence_ids", id); err != nil {
			return 0, err
		}
	}
	t, err := s.openFieldTask(tx, a, in.TaskID)
	if err != nil {
		return 0, err
	}
	now := s.now()
	v := Verification{ID: in.ID, TaskID: t.ID, ItemID: t.ItemID, InspectorID: a.UserID, DeviceID: a.DeviceID, UnitPath: t.UnitPath,
		Conclusion: in.Conclusion, Notes: notes, Lat: in.Location.Lat, Lng: in.Location.Lng, AccuracyM: in.Location.AccuracyM,
		Mocked: in.Location.Mocked, RecordedAt: stamp(in.RecordedAt), EvidenceIDs: StringList(in.EvidenceIDs), Version: 1, CreatedAt: now, UpdatedAt: now}
	if v.EvidenceIDs == nil {
		v.EvidenceIDs = StringList{}
	}
	var old Verification
	version, err := s.appendOnly(tx, &v, &old, v.ID, func(any) bool {
		return old.TaskID == v.TaskID && old.Conclusion == v.Conclusion && old.RecordedAt.Equal(v.RecordedAt) &&
			old.InspectorID == v.InspectorID && old.Notes == v.Notes && old.Lat == v.Lat && old.Lng == v.Lng &&
			old.AccuracyM == v.AccuracyM && old.Mocked == v.Mocked && sameSet(old.EvidenceIDs, v.EvidenceIDs)
	}, EntityVerifications, a, t.UnitPath)
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
func (s *Service) itemReviewed(tx Tx, a Actor, itemID string, at time.Time) error {
	var it RectificationItem
	if err := tx.Get(&it, itemID); err != nil {
		return err
	}
	if it.ReviewCadence == "" || it.Status == ItemAccepted {
		return nil
	}
	loc := s.Deadlines.Location()
	due := stamp(ReviewDue(it.ReviewCadence, ReviewDue(it.ReviewCadence, at, loc).Add(time.Second), loc))
	if !due.After(it.Deadline) {
		return nil
	}
	if err := s.audit(tx, a, AuditItemUpdate, EntityItems, it.ID, map[string]any{
		"deadline": auditChange{From: it.Deadline, To: due}, "reviewed": true}); err != nil {
		return err
	}
	it.Deadline = due
	return s.saveItem(tx, &it)
}

// linkEvidence ties evidence to a verification, creating a pending record
// when the device has not sent the photo's metadata yet.
func (s *Service) linkEvidence(tx Tx, a Actor, t *InspectionTask, evidenceID, verificationID string) error {
	var e Evidence
	err := tx.Get(&e, evidenceID)
	now := s.now()
	switch {
	case IsNotFound(err):
		e = Evidence{ID: evidenceID, TaskID: t.ID, VerificationID: &verificationID, InspectorID: a.UserID, DeviceID: a.DeviceID,
			SiteID: t.SiteID, UnitPath: t.UnitPath, Kind: "photo", Status: EvidencePending, Flags: Flags{}, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&e); err != nil {
			return err
		}
	case err != nil:
		return err
	case e.InspectorID != a.UserID || e.TaskID != t.ID:
		return FieldError(CodeEvidenceMismatch, "evidence_id", "evidence %s belongs to another task or inspector", evidenceID)
	case e.VerificationID != nil && *e.VerificationID == verificationID:
		return nil
	case e.VerificationID != nil:
		return FieldError(CodeEvidenceMismatch, "evidence_id", "evidence %s is already attached to another verification", evidenceID)
	default:
		e.VerificationID = &verificationID
		e.Version++
		e.UpdatedAt = now
		if err := tx.Update(&e); err != nil {
			return err
		}
	}
	return s.changed(tx, EntityEvidence, e.ID, e.Version, OpUpsert, ScopeUser(a.UserID), ScopeUnit(t.UnitPath))
}

type attachArgs struct {
	EvidenceID     string `json:"evidence_id"`
	VerificationID string `json:"verification_id"`
}

func (s *Service) attachEvidence(tx Tx, a Actor, raw json.RawMessage) (int64, error) {
	var in attachArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	if err := checkID("evidence_id", in.EvidenceID); err != nil {
		return 0, err
	}
	var v Verification
	if err := getVisible(tx, &v, in.VerificationID, "verification", func() bool { return v.InspectorID == a.UserID }); err != nil {
		return 0, err
	}
	t, err := s.openFieldTask(tx, a, v.TaskID)
	if err != nil {
		return 0, err
	}
	if err := s.linkEvidence(tx, a, &t, in.EvidenceID, v.ID); err != nil {
		return 0, err
	}
	for _, id := range v.EvidenceIDs {
		if id == in.EvidenceID {
			return v.Version, nil
		}
	}
	if len(v.EvidenceIDs) >= MaxEvidencePerVerification {
		return 0, FieldError(CodeValidation, "evidence_id", "a verification holds at most %d evidence records", MaxEvidencePerVerification)
	}
	v.EvidenceIDs = append(v.EvidenceIDs, in.EvidenceID)
	v.Version++
	v.UpdatedAt = s.now()
	if err := tx.Update(&v); err != nil {
		return 0, err
	}
	return v.Version, s.changed(tx, EntityVerifications, v.ID, v.Version, OpUpsert, ScopeUser(a.UserID), ScopeUnit(v.UnitPath))
}

type noteArgs struct {
	ID     string `json:"id"`
	TaskID string `json:"task_id"`
	Text   string `json:"text"`
}

func (s *Service) addNote(tx Tx, a Actor, raw json.RawMessage) (int64, error) {
	var in noteArgs
	if err := decodeArgs(raw, &in); err != nil {
		return 0, err
	}
	if err := checkID("id", in.ID); err != nil {
		return 0, err
	}
	body, err := text("text", &in.Text, true, 5000)
	if err != nil {
		return 0, err
	}
	t, err := s.fieldTask(tx, a, in.TaskID)
	if err != nil {
		return 0, err
	}
	now := s.now()
	n := Note{ID: in.ID, TaskID: t.ID, AuthorID: a.UserID, DeviceID: a.DeviceID, UnitPath: t.UnitPath, Text: body, Version: 1, CreatedAt: now, UpdatedAt: now}
	return s.appendOnly(tx, &n, &Note{}, n.ID, func(old any) bool {
		o := old.(*Note)
		return o.AuthorID == n.AuthorID && o.TaskID == n.TaskID && o.Text == n.Text
	}, EntityNotes, a, t.UnitPath)
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
