package models

import "strings"

// Actor is who is asking: the signed-in user, on one device.
type Actor struct {
	UserID    string
	Username  string
	Role      string
	UnitID    string
	UnitPath  string
	DeviceID  string
	SessionID string
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

// canReadUnitRecord reports whether a may read a unit-owned record (item,
// site, task, user) by unit path; inspectors are handled by the callers.
func (a Actor) canReadUnitRecord(path string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleSupervisor, RoleUnitLead:
		return a.InSubtree(path)
	}
	return false
}

// canWriteUnitRecord reports whether a may create or change a unit-owned
// record at path.
func (a Actor) canWriteUnitRecord(path string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleSupervisor:
		return a.InSubtree(path)
	}
	return false
}

// canManageReference reports whether a may create or change checklist
// templates.
func (a Actor) canManageReference() bool {
	return a.Role == RoleAdmin || a.Role == RoleSupervisor
}

func errForbidden(what string) error {
	return Errorf(CodeForbidden, "your role may not %s", what)
}

func errNotFound(entity string) error {
	return &Error{Code: CodeNotFound, Message: entity + " not found"}
}
