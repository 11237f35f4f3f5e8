package models

import (
	"fmt"
	"slices"
)

// StatusMachine holds the legal transitions between the statuses of one
// kind of record. Every illegal transition has its own stable error code,
// "<entity>_transition_<from>_to_<to>", so that a device can tell exactly
// what it tried.
type StatusMachine struct {
	entity   string
	statuses []string
	legal    map[string][]string
}

// Check returns nil when from → to is legal, an *Error with the
// transition's code when it is not, and a validation error for an unknown
// status.
func (m *StatusMachine) Check(from, to string) error {
	if !m.Known(to) {
		return FieldError(CodeInvalidEnum, "status", "unknown %s status %q", m.entity, to)
	}
	if !m.Known(from) {
		return fmt.Errorf("%s has unknown stored status %q", m.entity, from)
	}
	for _, s := range m.legal[from] {
		if s == to {
			return nil
		}
	}
	return Errorf(m.code(from, to), "a %s cannot go from %s to %s", m.entity, from, to)
}

// Known reports whether s is one of the machine's statuses.
func (m *StatusMachine) Known(s string) bool {
	for _, x := range m.statuses {
		if x == s {
			return true
		}
	}
	return false
}

// Statuses lists the machine's statuses.
func (m *StatusMachine) Statuses() []string { return append([]string(nil), m.statuses...) }

func (m *StatusMachine) code(from, to string) Code {
	return Code(fmt.Sprintf("%s_transition_%s_to_%s", m.entity, from, to))
}

func (m *StatusMachine) illegalCodes() []Code {
	var out []Code
	for _, from := range m.statuses {
		for _, to := range m.statuses {
			if m.Check(from, to) != nil {
				out = append(out, m.code(from, to))
			}
		}
	}
	return out
}

// Item statuses (the life cycle of a rectification item).
const (
	ItemNotStarted        = "not_started"
	ItemInProgress        = "in_progress"
	ItemPendingAcceptance = "pending_acceptance"
	ItemAccepted          = "accepted"
	ItemRejected          = "rejected"
	ItemReopened          = "reopened"
)

// ItemMachine: not_started → in_progress → pending_acceptance → accepted;
// pending_acceptance → rejected → in_progress; accepted → reopened →
// in_progress (reopening is an admin act with a reason).
var ItemMachine = &StatusMachine{
	entity:   "item",
	statuses: []string{ItemNotStarted, ItemInProgress, ItemPendingAcceptance, ItemAccepted, ItemRejected, ItemReopened},
	legal: map[string][]string{
		ItemNotStarted:        {ItemInProgress},
		ItemInProgress:        {ItemPendingAcceptance},
		ItemPendingAcceptance: {ItemAccepted, ItemRejected},
		ItemRejected:          {ItemInProgress},
		ItemAccepted:          {ItemReopened},
		ItemReopened:          {ItemInProgress},
	},
}

// Task statuses.
const (
	TaskUnassigned = "unassigned"
	TaskAssigned   = "assigned"
	TaskInProgress = "in_progress"
	TaskCompleted  = "completed"
	TaskCancelled  = "cancelled"
)

// A task is open from its assignment until it is cancelled: assigned, in
// progress, or completed and awaiting the decision on its item. An open
// task is on its inspector's devices, with the item, site and template it
// needs; the inspector sees it and them. Unassigning or cancelling it
// takes them back.
var taskOnDevice = []string{TaskAssigned, TaskInProgress, TaskCompleted}

// TaskOnDevice reports whether a task of the given status is open, on its
// inspector's devices.
func TaskOnDevice(status string) bool { return slices.Contains(taskOnDevice, status) }

// TaskUnfinished are the statuses of a task whose work is not done yet;
// a decision on its item cancels it.
var TaskUnfinished = []string{TaskUnassigned, TaskAssigned, TaskInProgress}

// TaskMachine: unassigned → assigned → in_progress → completed. An open
// task can be cancelled, unassigned, or (when in progress) handed to
// another inspector, who starts it afresh. Completed and cancelled are
// final.
var TaskMachine = &StatusMachine{
	entity:   "task",
	statuses: []string{TaskUnassigned, TaskAssigned, TaskInProgress, TaskCompleted, TaskCancelled},
	legal: map[string][]string{
		TaskUnassigned: {TaskAssigned, TaskCancelled},
		TaskAssigned:   {TaskUnassigned, TaskInProgress, TaskCancelled},
		TaskInProgress: {TaskAssigned, TaskUnassigned, TaskCompleted, TaskCancelled},
	},
}
