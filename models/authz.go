package models

import (
	"context"
	"strings"
)

// Actor is who is asking: the signed-in user, on one device.
type Actor struct {
	UserID    string
	Username  string
	Role      string
	UnitID    string
	UnitPath  string
	DeviceID  string
	SessionID string
	// MustChangePassword is set while the user must choose a new password
	// (an administrator reset it): the API and the console then allow
	// nothing but the change of password, reading who they are, and
	// signing out (code password_change_required).
	MustChangePassword bool
}

// The authorization rules, in one place:
//
//   - admins see and change everything;
//   - supervisors see and change items, sites and tasks of their unit's
//     subtree, and read its users;
//   - unit leads read the items, sites, tasks and users of their unit's
//     subtree and change nothing;
//   - inspectors see only their own tasks and the items, sites and
//     templates those tasks need, and change them only through sync;
//   - every signed-in user reads the unit tree.
//
// A record outside the actor's view is reported as not found, so that ids
// of other people's records cannot be probed.

// IsAdmin reports whether a is an admin.
func (a Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// InSubtree reports whether a record of the unit at path lies in a's unit
// subtree.
func (a Actor) InSubtree(path string) bool {
	return a.UnitPath != "" && strings.HasPrefix(path, a.UnitPath)
}

// subtreeCond limits a unit-owned table to a's unit subtree.
func (a Actor) subtreeCond() Cond {
	return Cond{Column: "unit_path", Op: OpPrefix, Value: a.UnitPath}
}

// CanReadUnitRecord reports whether a may read a unit-owned record (item,
// site, task, user) by unit path; inspectors are handled by the callers.
func (a Actor) CanReadUnitRecord(path string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleSupervisor, RoleUnitLead:
		return a.InSubtree(path)
	}
	return false
}

// CanWriteUnitRecord reports whether a may create or change a unit-owned
// record at path.
func (a Actor) CanWriteUnitRecord(path string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleSupervisor:
		return a.InSubtree(path)
	}
	return false
}

// CanManage reports whether a may create records (items, sites, tasks,
// imports) and checklist templates: admins and supervisors; where the
// record lies is checked with CanWriteUnitRecord.
func (a Actor) CanManage() bool {
	return a.Role == RoleAdmin || a.Role == RoleSupervisor
}

// canAssign reports whether a may give work (a task, an acceptance
// check) to user u: admins anyone, everyone else the users of their unit
// subtree. Who may create the work at all is checked first (CanManage
// for tasks, the item's unit for a submission).
func (a Actor) canAssign(u *User) bool { return a.IsAdmin() || a.InSubtree(u.UnitPath) }

// CanReview reports whether a reviews items, exports the ledger and
// reads dispatch reports: admins, supervisors and unit leads, each within
// what CanReadUnitRecord lets them read.
func (a Actor) CanReview() bool {
	return a.Role == RoleAdmin || a.Role == RoleSupervisor || a.Role == RoleUnitLead
}

// CanDecide reports whether a may accept or reject an item at path.
func (a Actor) CanDecide(path string) bool {
	return a.CanWriteUnitRecord(path)
}

// DoesFieldWork reports whether a records field work (mutations through
// sync, evidence uploads): inspectors only.
func (a Actor) DoesFieldWork() bool { return a.Role == RoleInspector }

// The visibility rule: what a may see. Single reads (GetReadable), lists
// (ReadConds, ReadScope), sync pulls (SyncView.Visible) and the change-log
// scopes a pull reads (changeScopes) all apply it; the scopes written with
// each change (changes.go) are the same rule seen from the record.

// canRead reports whether a may see rec. needs reports whether one of an
// inspector's open tasks references the record id of entity (items,
// sites, templates); it is only called for inspectors.
func (a Actor) canRead(rec any, needs func(entity, id string) (bool, error)) (bool, error) {
	if a.Role == RoleInspector {
		switch r := rec.(type) {
		case *InspectionTask:
			return a.canReadTask(r), nil
		case *RectificationItem:
			return needs(EntityItems, r.ID)
		case *Site:
			return needs(EntitySites, r.ID)
		case *ChecklistTemplate:
			return needs(EntityTemplates, r.ID)
		case *Verification:
			return r.InspectorID == a.UserID, nil
		case *Answer:
			return r.InspectorID == a.UserID, nil
		case *Note:
			return r.AuthorID == a.UserID, nil
		case *Evidence:
			return a.CanReadEvidence(r), nil
		case *Decision:
			// The decisions on an item they still hold tasks for: a
			// rejection's reasons, an acceptance that closes their work.
			return needs(EntityItems, r.ItemID)
		case *User:
			return a.canReadUser(r), nil
		case *Unit:
			return true, nil
		}
		return false, nil
	}
	switch r := rec.(type) {
	case *ChecklistTemplate, *Unit:
		return true, nil
	case *Device:
		return a.IsAdmin(), nil
	case *User:
		return a.canReadUser(r), nil
	case *InspectionTask:
		return a.CanReadUnitRecord(r.UnitPath), nil
	case *RectificationItem:
		return a.CanReadUnitRecord(r.UnitPath), nil
	case *Site:
		return a.CanReadUnitRecord(r.UnitPath), nil
	case *Verification:
		return a.CanReadUnitRecord(r.UnitPath), nil
	case *Answer:
		return a.CanReadUnitRecord(r.UnitPath), nil
	case *Note:
		return a.CanReadUnitRecord(r.UnitPath), nil
	case *Evidence:
		return a.CanReadUnitRecord(r.UnitPath), nil
	case *Decision:
		return a.CanReadUnitRecord(r.UnitPath), nil
	}
	return false, nil
}

func (a Actor) canReadTask(t *InspectionTask) bool {
	if a.Role == RoleInspector {
		return t.AssigneeID != nil && *t.AssigneeID == a.UserID && TaskOnDevice(t.Status)
	}
	return a.CanReadUnitRecord(t.UnitPath)
}

func (a Actor) canReadUser(u *User) bool {
	return a.UserID == u.ID || a.CanReadUnitRecord(u.UnitPath)
}

// CanReadEvidence reports whether a may see evidence record e.
func (a Actor) CanReadEvidence(e *Evidence) bool {
	if a.Role == RoleInspector {
		return e.InspectorID == a.UserID
	}
	return a.CanReadUnitRecord(e.UnitPath)
}

// taskRefColumn names the tasks column through which an inspector's open
// tasks reference the records of entity.
var taskRefColumn = map[string]Column{EntityItems: TaskCols.ItemID, EntitySites: TaskCols.SiteID, EntityTemplates: TaskCols.TemplateID}

// ReadConds returns the conditions that limit entity's table to what a
// may read, as canRead decides record by record. For an inspector's
// items, sites and templates it needs the ids their tasks reference:
// ReadScope reads them.
func (a Actor) ReadConds(entity string) ([]Cond, error) {
	switch a.Role {
	case RoleAdmin:
		return nil, nil
	case RoleSupervisor, RoleUnitLead:
		switch entity {
		case EntityTemplates, EntityUnits:
			return nil, nil
		}
		return []Cond{a.subtreeCond()}, nil
	case RoleInspector:
		switch entity {
		case EntityTasks:
			return inspectorTaskConds(a), nil
		case EntityVerifications, EntityAnswers, EntityEvidence:
			return []Cond{Eq("inspector_id", a.UserID)}, nil
		case EntityNotes:
			return []Cond{Eq("author_id", a.UserID)}, nil
		case EntityUsers:
			return []Cond{Eq("id", a.UserID)}, nil
		case EntityUnits:
			return nil, nil
		}
	}
	return nil, Forbidden("read " + entity)
}

// inspectorTaskConds selects the tasks an inspector holds: assigned to
// them and open (TaskOnDevice).
func inspectorTaskConds(a Actor) []Cond {
	return []Cond{Eq(TaskCols.AssigneeID, a.UserID), {Column: TaskCols.Status, Op: OpIn, Value: taskOnDevice}}
}

// ReadScope is ReadConds with the reads an inspector's items, sites and
// templates need, in a transaction of its own.
func (s *Service) ReadScope(ctx context.Context, a Actor, entity string) ([]Cond, error) {
	col, ref := taskRefColumn[entity]
	if a.Role != RoleInspector || !ref {
		return a.ReadConds(entity)
	}
	var ids []string
	err := s.Store.Tx(ctx, func(tx Tx) error {
		return tx.Pluck(&InspectionTask{}, col, inspectorTaskConds(a), &ids)
	})
	if ids == nil {
		ids = []string{}
	}
	return []Cond{{Column: "id", Op: OpIn, Value: ids}}, err
}

// inspectorNeeds reports whether one of the inspector's open tasks
// references the record id of entity.
func inspectorNeeds(tx Tx, a Actor, entity, id string) (bool, error) {
	n, err := tx.Count(&InspectionTask{}, append(inspectorTaskConds(a), Eq(taskRefColumn[entity], id)))
	return n > 0, err
}

// GetReadable loads the record rec by id if a may see it, by canRead;
// otherwise, or when the id is malformed or the record does not exist, it
// reports it as not found (what names it in the message).
func GetReadable(tx Tx, a Actor, rec any, id, what string) error {
	if err := GetVisible(tx, rec, id, what, func() bool { return true }); err != nil {
		return err
	}
	ok, err := a.canRead(rec, func(entity, id string) (bool, error) { return inspectorNeeds(tx, a, entity, id) })
	if err != nil {
		return err
	}
	if !ok {
		return NotFound(what)
	}
	return nil
}

// GetVisible loads a record by id and reports it as not found when the
// id is malformed, the record does not exist, or visible says the actor
// may not see it.
func GetVisible(tx Tx, rec any, id, entity string, visible func() bool) error {
	if !ValidID(id) {
		return NotFound(entity)
	}
	if err := tx.Get(rec, id); err != nil {
		if IsNotFound(err) {
			return NotFound(entity)
		}
		return err
	}
	if !visible() {
		return NotFound(entity)
	}
	return nil
}

// changeScopes returns the condition on the change log's scope column
// that a's pulls read: an inspector reads their own scope, everyone else
// their unit subtree and the global reference data.
func (a Actor) changeScopes() Cond {
	if a.Role == RoleInspector {
		return Eq(ChangeCols.Scope, ScopeUser(a.UserID))
	}
	units := ScopeUnit(a.UnitPath)
	if a.IsAdmin() {
		units = ScopeUnit("")
	}
	return Cond{Op: OpAny, Value: []Cond{Eq(ChangeCols.Scope, ScopeGlobal), {Column: ChangeCols.Scope, Op: OpPrefix, Value: units}}}
}

// Forbidden is the error for what a's role may not do.
func Forbidden(what string) error {
	return Errorf(CodeForbidden, "your role may not %s", what)
}

// NotFound is the error for a record that does not exist or that the
// actor may not see: the two are not told apart.
func NotFound(entity string) error {
	return &Error{Code: CodeNotFound, Message: entity + " not found"}
}

// CheckAssignee loads the inspector named in field whom the actor may
// give a task (or an acceptance check) to: an active inspector whom
// canAssign allows. It is the one rule for a valid assignee.
func CheckAssignee(tx Tx, a Actor, id, field string) (User, error) {
	var u User
	// An inspector the actor may not assign is not found, as one that
	// does not exist: ids cannot be probed through a body.
	if err := LookupVisible(tx, &u, id, field, func() bool { return a.canAssign(&u) }); err != nil {
		return User{}, err
	}
	if u.Role != RoleInspector || u.Disabled {
		return User{}, FieldError(CodeAssigneeNotInspector, field, "tasks are assigned to active inspectors only")
	}
	return u, nil
}
