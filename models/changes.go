package models

import "time"

// Entities as a pull names them.
const (
	EntityTasks         = "tasks"
	EntityItems         = "items"
	EntitySites         = "sites"
	EntityTemplates     = "templates"
	EntityVerifications = "verifications"
	EntityAnswers       = "answers"
	EntityEvidence      = "evidence"
	EntityDecisions     = "decisions"
	EntityNotes         = "notes"
)

// Change operations.
const (
	OpUpsert = "upsert"
	OpRemove = "remove"
)

// ScopeGlobal is the scope of reference data every supervisor syncs.
const ScopeGlobal = "global"

// ScopeUser is the scope of what one inspector's devices sync: their
// tasks and everything those tasks need.
func ScopeUser(userID string) string { return "user:" + userID }

// ScopeUnit is the scope of a unit's records; a supervisor syncs every
// scope under their unit's path.
func ScopeUnit(path string) string { return "unit:" + path }

// Change is one row of the change log: the record changed, and who must
// hear of it. Seq is nil until the sequencer stamps the committed row.
type Change struct {
	ID        string `gorm:"primaryKey"`
	Seq       *int64
	Entity    string
	RecordID  string
	Version   int64
	Op        string
	Scope     string
	CreatedAt time.Time
}

// TableName names the table.
func (Change) TableName() string { return "changes" }

// Changed appends one change row per scope, in the caller's transaction,
// so that the log holds exactly the committed changes.
// The rows go in one statement: a record usually changes for two scopes
// or more (its unit's and its inspector's), on every write.
func (s *Service) Changed(tx Tx, entity, id string, version int64, op string, scopes ...string) error {
	if len(scopes) == 0 {
		return nil
	}
	now := s.Time()
	rows := make([]Change, len(scopes))
	for i, sc := range scopes {
		rows[i] = Change{ID: s.NewID(), Entity: entity, RecordID: id, Version: version, Op: op, Scope: sc, CreatedAt: now}
	}
	return tx.Create(&rows)
}

// Holders returns the inspectors whose open tasks reference id through
// refColumn (a column of TaskCols): they must hear of changes to it.
func Holders(tx Tx, refColumn Column, id string) ([]string, error) {
	var ids []string
	err := tx.Pluck(&InspectionTask{}, TaskCols.AssigneeID, []Cond{
		Eq(refColumn, id), {Column: TaskCols.Status, Op: OpIn, Value: taskOnDevice},
		{Column: TaskCols.AssigneeID, Op: OpNotNull},
	}, &ids)
	return ids, err
}

// ChangedShared records a change to an item, site or template: its unit
// (or global) scope, and every inspector whose tasks need it.
func (s *Service) ChangedShared(tx Tx, entity string, refColumn Column, id string, version int64, scope string) error {
	users, err := Holders(tx, refColumn, id)
	if err != nil {
		return err
	}
	scopes := []string{scope}
	for _, u := range users {
		scopes = append(scopes, ScopeUser(u))
	}
	return s.Changed(tx, entity, id, version, OpUpsert, scopes...)
}

// taskRefs are what a device needs along with a task.
func taskRefs(t *InspectionTask) []taskRef {
	return []taskRef{
		{EntityItems, TaskCols.ItemID, t.ItemID}, {EntitySites, TaskCols.SiteID, t.SiteID}, {EntityTemplates, TaskCols.TemplateID, t.TemplateID},
	}
}

// taskRefColumns are the task's id and the columns taskRefs reads.
var taskRefColumns = func() []Column {
	cols := []Column{TaskCols.ID}
	for _, r := range taskRefs(&InspectionTask{}) {
		cols = append(cols, r.column)
	}
	return cols
}()

// taskRef is one record a task references: its entity, the tasks column
// that holds its id, and the id.
type taskRef struct {
	entity string
	column Column
	id     string
}

// handOut tells an inspector's devices about a task they now hold, with
// the item, site and template it needs.
func (s *Service) handOut(tx Tx, userID string, t *InspectionTask) error {
	if err := s.Changed(tx, EntityTasks, t.ID, t.Version, OpUpsert, ScopeUser(userID)); err != nil {
		return err
	}
	for _, r := range taskRefs(t) {
		if err := s.Changed(tx, r.entity, r.id, 0, OpUpsert, ScopeUser(userID)); err != nil {
			return err
		}
	}
	return nil
}

// takeBack removes a task from an inspector's devices, and the item, site
// and template with it when none of their other open tasks needs them.
func (s *Service) takeBack(tx Tx, userID string, t *InspectionTask) error {
	if err := s.Changed(tx, EntityTasks, t.ID, t.Version, OpRemove, ScopeUser(userID)); err != nil {
		return err
	}
	for _, r := range taskRefs(t) {
		n, err := tx.Count(&InspectionTask{}, []Cond{
			Eq(TaskCols.AssigneeID, userID), Eq(r.column, r.id), {Column: TaskCols.ID, Op: OpNe, Value: t.ID},
			{Column: TaskCols.Status, Op: OpIn, Value: taskOnDevice},
		})
		if err != nil {
			return err
		}
		if n == 0 {
			if err := s.Changed(tx, r.entity, r.id, 0, OpRemove, ScopeUser(userID)); err != nil {
				return err
			}
		}
	}
	return nil
}

// MovedOut tells the old unit's scope that a record left it.
func (s *Service) MovedOut(tx Tx, entity, id string, version int64, oldPath, newPath string) error {
	if oldPath == newPath {
		return nil
	}
	return s.Changed(tx, entity, id, version, OpRemove, ScopeUnit(oldPath))
}

// holder is the inspector whose devices hold the task, if any.
func (t *InspectionTask) holder() string {
	if t.AssigneeID == nil || !TaskOnDevice(t.Status) {
		return ""
	}
	return *t.AssigneeID
}

// TaskChanged records a change of a task from before to after: its unit
// scope always; for its holder, a hand-out, a take-back, or both when the
// task moved to another inspector or now needs another site or template.
func (s *Service) TaskChanged(tx Tx, before, after *InspectionTask) error {
	if err := s.Changed(tx, EntityTasks, after.ID, after.Version, OpUpsert, ScopeUnit(after.UnitPath)); err != nil {
		return err
	}
	from, to := before.holder(), after.holder()
	refsMoved := before.SiteID != after.SiteID || before.TemplateID != after.TemplateID
	if from != "" && (from != to || refsMoved) {
		if err := s.takeBack(tx, from, before); err != nil {
			return err
		}
	}
	switch {
	case to == "":
		return nil
	case from != to || refsMoved:
		return s.handOut(tx, to, after)
	default:
		return s.Changed(tx, EntityTasks, after.ID, after.Version, OpUpsert, ScopeUser(to))
	}
}

// SyncEntity is one entity a pull carries.
type SyncEntity struct {
	Name string
	// Load reads the current records with the given ids, by id; each is
	// a pointer to the record.
	Load func(tx Tx, ids []string) (map[string]any, error)
}

// SyncEntities is the one registry of the entities a pull carries: the
// sync engine loads records through it, and the contract's drift test
// checks the wire schema against it. Adding a sync entity means adding
// it here, to the visibility rule (Actor.canRead, Actor.ReadConds) and
// to the contract.
var SyncEntities = []SyncEntity{
	{EntityTasks, loadAs[InspectionTask]},
	{EntityItems, loadAs[RectificationItem]},
	{EntitySites, loadAs[Site]},
	{EntityTemplates, loadAs[ChecklistTemplate]},
	{EntityVerifications, loadAs[Verification]},
	{EntityAnswers, loadAs[Answer]},
	{EntityNotes, loadAs[Note]},
	{EntityEvidence, loadAs[Evidence]},
	{EntityDecisions, loadAs[Decision]},
}

// SyncEntityNamed returns the registered entity of the given name.
func SyncEntityNamed(name string) (SyncEntity, bool) {
	for _, e := range SyncEntities {
		if e.Name == name {
			return e, true
		}
	}
	return SyncEntity{}, false
}

func loadAs[T any, P interface {
	*T
	Record
}](tx Tx, ids []string) (map[string]any, error) {
	var rows []T
	if err := tx.List(&rows, Query{Where: []Cond{{Column: ColID, Op: OpIn, Value: ids}}}); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(rows))
	for i := range rows {
		p := P(&rows[i])
		out[p.RecordID()] = p
	}
	return out, nil
}

// SaveItem writes a changed item and tells its unit and inspectors.
func (s *Service) SaveItem(tx Tx, it *RectificationItem) error {
	it.Version++
	it.UpdatedAt = s.Time()
	if err := tx.Update(it); err != nil {
		return err
	}
	return s.ChangedShared(tx, EntityItems, TaskCols.ItemID, it.ID, it.Version, ScopeUnit(it.UnitPath))
}
