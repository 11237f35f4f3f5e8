package models

import (
	"reflect"
	"testing"
)

// TestVisibilityRule states canRead — the one rule behind single reads,
// lists, pulls and change scopes — record kind by record kind and role by
// role, without a database: a county's supervisor and unit lead see their
// subtree, an inspector their own records and what their open tasks
// need, an admin everything, and devices only admins.
func TestVisibilityRule(t *testing.T) {
	const county, other = "/CITY/A/", "/CITY/B/"
	me := "insp-1"
	actors := map[string]Actor{
		"admin":      {UserID: "admin-1", Role: RoleAdmin, UnitPath: "/CITY/"},
		"supervisor": {UserID: "sup-1", Role: RoleSupervisor, UnitPath: county},
		"unit_lead":  {UserID: "lead-1", Role: RoleUnitLead, UnitPath: county},
		"inspector":  {UserID: me, Role: RoleInspector, UnitPath: county},
	}
	// The inspector's open tasks reference item-mine, site-mine, tmpl-mine.
	needs := func(entity, id string) (bool, error) {
		return id == "item-mine" || id == "site-mine" || id == "tmpl-mine", nil
	}
	someone := "insp-2"
	cases := []struct {
		name string
		rec  any
		// who sees it, by role
		admin, supervisor, unitLead, inspector bool
	}{
		{"item of the county, on my task", &RectificationItem{ID: "item-mine", UnitPath: county}, true, true, true, true},
		{"item of the county, not on my tasks", &RectificationItem{ID: "item-other", UnitPath: county}, true, true, true, false},
		{"item of another county", &RectificationItem{ID: "item-far", UnitPath: other}, true, false, false, false},
		{"site on my task", &Site{ID: "site-mine", UnitPath: county}, true, true, true, true},
		{"site of another county", &Site{ID: "site-far", UnitPath: other}, true, false, false, false},
		{"template on my task", &ChecklistTemplate{ID: "tmpl-mine"}, true, true, true, true},
		{"template not on my tasks", &ChecklistTemplate{ID: "tmpl-other"}, true, true, true, false},
		{"my open task", &InspectionTask{AssigneeID: &me, Status: TaskAssigned, UnitPath: county}, true, true, true, true},
		{"my completed task, awaiting the decision", &InspectionTask{AssigneeID: &me, Status: TaskCompleted, UnitPath: county}, true, true, true, true},
		{"my cancelled task", &InspectionTask{AssigneeID: &me, Status: TaskCancelled, UnitPath: county}, true, true, true, false},
		{"someone else's task", &InspectionTask{AssigneeID: &someone, Status: TaskAssigned, UnitPath: county}, true, true, true, false},
		{"task of another county", &InspectionTask{AssigneeID: &someone, Status: TaskAssigned, UnitPath: other}, true, false, false, false},
		{"my verification", &Verification{InspectorID: me, UnitPath: county}, true, true, true, true},
		{"someone else's verification", &Verification{InspectorID: someone, UnitPath: county}, true, true, true, false},
		{"my answer", &Answer{InspectorID: me, UnitPath: county}, true, true, true, true},
		{"someone else's answer", &Answer{InspectorID: someone, UnitPath: county}, true, true, true, false},
		{"my note", &Note{AuthorID: me, UnitPath: county}, true, true, true, true},
		{"someone else's note", &Note{AuthorID: someone, UnitPath: county}, true, true, true, false},
		{"my evidence", &Evidence{InspectorID: me, UnitPath: county}, true, true, true, true},
		{"evidence of another county", &Evidence{InspectorID: someone, UnitPath: other}, true, false, false, false},
		{"a decision on an item I work on", &Decision{ItemID: "item-mine", UnitPath: county}, true, true, true, true},
		{"a decision on another item", &Decision{ItemID: "item-other", UnitPath: county}, true, true, true, false},
		{"myself", &User{ID: me, UnitPath: county}, true, true, true, true},
		{"a colleague", &User{ID: someone, UnitPath: county}, true, true, true, false},
		{"a user of another county", &User{ID: "far", UnitPath: other}, true, false, false, false},
		{"a unit", &Unit{ID: "u", Path: other}, true, true, true, true},
		{"a device", &Device{ID: "d"}, true, false, false, false},
		{"something unknown", &struct{}{}, false, false, false, false},
	}
	for _, tc := range cases {
		for role, want := range map[string]bool{"admin": tc.admin, "supervisor": tc.supervisor, "unit_lead": tc.unitLead, "inspector": tc.inspector} {
			got, err := actors[role].canRead(tc.rec, needs)
			if err != nil || got != want {
				t.Errorf("%s sees %s: %v (%v), want %v", role, tc.name, got, err, want)
			}
		}
	}
}

// TestReadCondsMatchTheRule: the list conditions say what canRead says,
// table by table: none for an admin, the subtree for supervisors and unit
// leads, the inspector's own rows otherwise, and a refusal for a table
// the role may not list.
func TestReadCondsMatchTheRule(t *testing.T) {
	sup := Actor{UserID: "sup-1", Role: RoleSupervisor, UnitPath: "/CITY/A/"}
	insp := Actor{UserID: "insp-1", Role: RoleInspector, UnitPath: "/CITY/A/"}
	admin := Actor{UserID: "admin-1", Role: RoleAdmin}
	subtree := []Cond{{Column: "unit_path", Op: OpPrefix, Value: "/CITY/A/"}}
	forbidden := []Cond{{Column: "forbidden"}}
	for _, tc := range []struct {
		a      Actor
		entity string
		want   []Cond
	}{
		{admin, EntityItems, nil},
		{admin, EntityDevices, nil},
		{sup, EntityItems, subtree},
		{sup, EntityEvidence, subtree},
		{sup, EntityTemplates, nil},
		{sup, EntityUnits, nil},
		{insp, EntityVerifications, []Cond{Eq("inspector_id", "insp-1")}},
		{insp, EntityEvidence, []Cond{Eq("inspector_id", "insp-1")}},
		{insp, EntityNotes, []Cond{Eq("author_id", "insp-1")}},
		{insp, EntityUsers, []Cond{Eq("id", "insp-1")}},
		{insp, EntityUnits, nil},
		{insp, EntityTasks, []Cond{Eq("assignee_id", "insp-1"), {Column: "status", Op: OpIn, Value: taskOnDevice}}},
		{insp, EntityDevices, forbidden},
		{insp, EntityDecisions, forbidden},
	} {
		got, err := tc.a.ReadConds(tc.entity)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeForbidden {
				t.Errorf("%s lists %s: %v, want forbidden", tc.a.Role, tc.entity, err)
			}
			got = forbidden
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s lists %s with %v, want %v", tc.a.Role, tc.entity, got, tc.want)
		}
	}
}
