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
	if !v.actor.DoesFieldWork() || v.refs != nil || !slices.ContainsFunc(entities, func(e string) bool { return slices.Contains(refEntities, e) }) {
		return nil
	}
	// Only the references, which idx_tasks_assignee_refs holds: this read
	// runs on nearly every pull of a busy inspector.
	var tasks []InspectionTask
	if err := tx.List(&tasks, Query{Where: inspectorTaskConds(v.actor), Columns: taskRefColumns}); err != nil {
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

// Scopes returns the condition on the change log's scope column that the
// actor's pull reads (Actor.changeScopes).
func (v *SyncView) Scopes() Cond { return v.actor.changeScopes() }

// Visible reports whether the actor may receive rec now, by the
// visibility rule (Actor.canRead) with the references Load read.
func (v *SyncView) Visible(rec any) bool {
	ok, _ := v.actor.canRead(rec, func(entity, id string) (bool, error) { return v.ref(entity, id), nil })
	return ok
}
