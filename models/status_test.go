package models

import "testing"

func TestItemMachine(t *testing.T) {
	legal := map[[2]string]bool{
		{ItemNotStarted, ItemInProgress}:        true,
		{ItemInProgress, ItemPendingAcceptance}: true,
		{ItemPendingAcceptance, ItemAccepted}:   true,
		{ItemPendingAcceptance, ItemRejected}:   true,
		{ItemRejected, ItemInProgress}:          true,
		{ItemAccepted, ItemReopened}:            true,
		{ItemReopened, ItemInProgress}:          true,
	}
	checkMachine(t, ItemMachine, legal)
}

func TestTaskMachine(t *testing.T) {
	legal := map[[2]string]bool{
		{TaskUnassigned, TaskAssigned}:   true,
		{TaskUnassigned, TaskCancelled}:  true,
		{TaskAssigned, TaskUnassigned}:   true,
		{TaskInProgress, TaskAssigned}:   true,
		{TaskInProgress, TaskUnassigned}: true,
		{TaskAssigned, TaskInProgress}:   true,
		{TaskAssigned, TaskCancelled}:    true,
		{TaskInProgress, TaskCompleted}:  true,
		{TaskInProgress, TaskCancelled}:  true,
	}
	checkMachine(t, TaskMachine, legal)
}

// checkMachine walks every pair of statuses: legal ones pass, and every
// illegal one fails with a code of its own that is in the code table.
func checkMachine(t *testing.T, m *StatusMachine, legal map[[2]string]bool) {
	t.Helper()
	seen := map[Code][2]string{}
	for _, from := range m.Statuses() {
		for _, to := range m.Statuses() {
			err := m.Check(from, to)
			if legal[[2]string{from, to}] {
				if err != nil {
					t.Errorf("%s → %s: %v, want legal", from, to, err)
				}
				continue
			}
			e := AsError(err)
			if e == nil {
				t.Errorf("%s → %s: got %v, want an illegal-transition error", from, to, err)
				continue
			}
			if prev, dup := seen[e.Code]; dup {
				t.Errorf("%s → %s shares code %s with %v", from, to, e.Code, prev)
			}
			seen[e.Code] = [2]string{from, to}
			if e.Code.Kind() != KindConflict {
				t.Errorf("code %s has kind %v, want conflict", e.Code, e.Code.Kind())
			}
		}
	}
	if err := AsError(m.Check(m.Statuses()[0], "flying")); err == nil || err.Code != CodeInvalidEnum {
		t.Errorf("unknown target status: %v", err)
	}
}

func TestCodesAreUniqueAndKnown(t *testing.T) {
	for _, c := range AllCodes() {
		if c != CodeInternal && c.Kind() == KindInternal {
			t.Errorf("code %s has no kind", c)
		}
	}
	if Code("no_such_code").Kind() != KindInternal {
		t.Error("an unknown code must be internal")
	}
}
