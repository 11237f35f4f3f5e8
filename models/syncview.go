package models

import "slices"

// SyncView is what one actor may receive in a pull: the change-log scopes
// to read, and a visibility check applied to each record at read time (a
// change row says a record changed; whether the actor may still see it is
// decided now, by the same rules as the REST reads).
type SyncView struct {
	actor Actor
	// refs are the items, sites and templates an inspector's open tasks
	// need, by entity; nil until Load reads them.
	refs map[string]map[string]bool
}

// NewSyncView makes the actor's view. Scopes needs nothing more; Visible
// needs Load first.
func (s *Service) NewSyncView(a Actor) *SyncView { return &SyncView{actor: a} }

// refEntities are the entities whose visibility to an inspector depends
// on their open tasks.
var refEntities = []string{EntityItems, EntitySites, EntityTemplates, EntityDecisions}

// Load reads what deciding the visibility of records of the given
// entities needs. Only an inspector's items, sites, templates and
// decisions depend on anything stored (their open tasks); for the rest,
// as in most delta pulls, which carry the inspector's own records, it
// reads nothing.
func (v *SyncView) Load(tx Tx, entities []string) error {
	if v.actor.Role != RoleInspector || v.refs != nil || !slices.ContainsFunc(entities, func(e string) bool { return slices.Contains(refEntities, e) }) {
		return nil
	}
	var tasks []InspectionTask
	if err := tx.List(&tasks, Query{Where: inspectorTaskConds(v.actor)}); err != nil {
		return err
	}
	v.refs = map[string]map[string]bool{EntityItems: {}, EntitySites: {}, EntityTemplates: {}}
	for i := range tasks {
		for _, r := range taskRefs(&tasks[i]) {
			v.refs[r.entity][r.id] = true
		}
	}
	return nil
}

// ref reports whether the inspector's open tasks need the record id of
// entity; Load must have been called for it.
func (v *SyncView) ref(entity, id string) bool {
	if v.refs == nil {
		panic("models: SyncView.Visible on " + entity + " before Load")
	}
	return v.refs[entity][id]
}

// Scopes returns the condition on the change log's scope column: an
// inspector reads their own scope, everyone else their unit subtree and
// the global reference data.
func (v *SyncView) Scopes() Cond {
	if v.actor.Role == RoleInspector {
		return Eq("scope", ScopeUser(v.actor.UserID))
	}
	units := ScopeUnit(v.actor.UnitPath)
	if v.actor.IsAdmin() {
		units = ScopeUnit("")
	}
	return Cond{Op: OpAny, Value: []Cond{Eq("scope", ScopeGlobal), {Column: "scope", Op: OpPrefix, Value: units}}}
}

// Visible reports whether the actor may receive rec now.
func (v *SyncView) Visible(rec any) bool {
	a := v.actor
	if a.Role == RoleInspector {
		switch r := rec.(type) {
		case *InspectionTask:
			return a.canReadTask(r)
		case *RectificationItem:
			return v.ref(EntityItems, r.ID)
		case *Site:
			return v.ref(EntitySites, r.ID)
		case *ChecklistTemplate:
			return v.ref(EntityTemplates, r.ID)
		case *Verification:
			return r.InspectorID == a.UserID
		case *Answer:
			return r.InspectorID == a.UserID
		case *Note:
			return r.AuthorID == a.UserID
		case *Evidence:
			return r.InspectorID == a.UserID
		case *Decision:
			// The decisions on an item they still hold tasks for: a
			// rejection's reasons, an acceptance that closes their work.
			return v.ref(EntityItems, r.ItemID)
		}
		return false
	}
	switch r := rec.(type) {
	case *ChecklistTemplate:
		return true
	case *InspectionTask:
		return a.canReadUnitRecord(r.UnitPath)
	case *RectificationItem:
		return a.canReadUnitRecord(r.UnitPath)
	case *Site:
		return a.canReadUnitRecord(r.UnitPath)
	case *Verification:
		return a.canReadUnitRecord(r.UnitPath)
	case *Answer:
		return a.canReadUnitRecord(r.UnitPath)
	case *Note:
		return a.canReadUnitRecord(r.UnitPath)
	case *Evidence:
		return a.canReadUnitRecord(r.UnitPath)
	case *Decision:
		return a.canReadUnitRecord(r.UnitPath)
	}
	return false
}
