package models

import (
	"context"
	"time"
)

// TaskInput creates or patches an inspection task. Status and assignee
// move only through TransitionTask and AssignTask.
type TaskInput struct {
	ItemID       *string    `json:"item_id"`
	SiteID       *string    `json:"site_id"`
	AssigneeID   *string    `json:"assignee_id"`
	Kind         *string    `json:"kind"`
	TemplateID   *string    `json:"template_id"`
	WindowStart  *time.Time `json:"window_start"`
	DueAt        *time.Time `json:"due_at"`
	Instructions *string    `json:"instructions"`
	Version      *int64     `json:"version"`
}

// TaskFilter narrows a task list.
type TaskFilter struct {
	Status     string
	AssigneeID string
	ItemID     string
	SiteID     string
	Kind       string
}

func applyTask(tx Tx, a Actor, t *InspectionTask, in TaskInput, creating bool) error {
	if creating {
		var it RectificationItem
		if in.ItemID == nil {
			return FieldError(CodeRequired, "item_id", "item_id is required")
		}
		if err := Lookup(tx, &it, *in.ItemID, CodeUnknownItem, "item_id"); err != nil {
			return err
		}
		t.ItemID, t.UnitPath = it.ID, it.UnitPath
	} else if in.ItemID != nil && *in.ItemID != t.ItemID {
		return FieldError(CodeValidation, "item_id", "a task cannot move to another item; cancel it and create a new one")
	}
	if in.SiteID != nil {
		var st Site
		if err := Lookup(tx, &st, *in.SiteID, CodeUnknownSite, "site_id"); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(st.UnitPath) {
			return FieldError(CodeOutsideYourUnit, "site_id", "the site belongs to a unit outside yours")
		}
		t.SiteID = st.ID
	}
	if t.SiteID == "" {
		return FieldError(CodeRequired, "site_id", "site_id is required")
	}
	if in.TemplateID != nil {
		var tm ChecklistTemplate
		if err := Lookup(tx, &tm, *in.TemplateID, CodeUnknownTemplate, "template_id"); err != nil {
			return err
		}
		t.TemplateID = tm.ID
	}
	if t.TemplateID == "" {
		return FieldError(CodeRequired, "template_id", "template_id is required")
	}
	if err := setText(&t.Kind, "kind", in.Kind, true, 32); err != nil {
		return err
	}
	if err := OneOf("kind", t.Kind, TaskKinds); err != nil {
		return err
	}
	if err := setText(&t.Instructions, "instructions", in.Instructions, false, 5000); err != nil {
		return err
	}
	var err error
	if in.WindowStart != nil {
		if t.WindowStart, err = TimeField("window_start", *in.WindowStart); err != nil {
			return err
		}
	}
	if in.DueAt != nil {
		if t.DueAt, err = TimeField("due_at", *in.DueAt); err != nil {
			return err
		}
	}
	if t.WindowStart.IsZero() || t.DueAt.IsZero() {
		return FieldError(CodeRequired, "due_at", "window_start and due_at are required")
	}
	if !t.DueAt.After(t.WindowStart) {
		return FieldError(CodeWindowInvalid, "due_at", "due_at must be after window_start")
	}
	return nil
}

// CheckAssignee loads the inspector named in field whom the actor may
// give a task (or an acceptance check) to: an active inspector whom
// canAssign allows. It is the one rule for a valid assignee.
func CheckAssignee(tx Tx, a Actor, id, field string) (User, error) {
	var u User
	if err := Lookup(tx, &u, id, CodeUnknownUser, field); err != nil {
		return User{}, err
	}
	if u.Role != RoleInspector || u.Disabled {
		return User{}, FieldError(CodeAssigneeNotInspector, field, "tasks are assigned to active inspectors only")
	}
	if !a.canAssign(&u) {
		return User{}, FieldError(CodeOutsideYourUnit, field, "the inspector belongs to a unit outside yours")
	}
	return u, nil
}

// CreateTask adds a task, assigned at once when assignee_id is given.
func (s *Service) CreateTask(ctx context.Context, a Actor, in TaskInput) (InspectionTask, error) {
	if !a.canManage() {
		return InspectionTask{}, Forbidden("create tasks")
	}
	now := s.Time()
	t := InspectionTask{ID: s.NewID(), Status: TaskUnassigned, Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := applyTask(tx, a, &t, in, true); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(t.UnitPath) {
			return Forbidden("create tasks for an item outside your unit")
		}
		if in.AssigneeID != nil {
			u, err := CheckAssignee(tx, a, *in.AssigneeID, "assignee_id")
			if err != nil {
				return err
			}
			t.AssigneeID, t.AssignedAt, t.Status = &u.ID, &now, TaskAssigned
		}
		if err := tx.Create(&t); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, AuditTaskCreate, EntityTasks, t.ID, map[string]any{"item_id": t.ItemID, "site_id": t.SiteID,
			"kind": t.Kind, "status": t.Status, "assignee_id": t.AssigneeID}); err != nil {
			return err
		}
		return s.TaskChanged(tx, &InspectionTask{}, &t)
	})
	return t, err
}

// UpdateTask changes a task's site, template, window or instructions.
func (s *Service) UpdateTask(ctx context.Context, a Actor, id string, in TaskInput) (InspectionTask, error) {
	return s.changeTask(ctx, a, id, in.Version, AuditTaskUpdate, func(tx Tx, t *InspectionTask) error {
		if in.AssigneeID != nil {
			return FieldError(CodeValidation, "assignee_id", "use the assign endpoint to change the assignee")
		}
		return applyTask(tx, a, t, in, false)
	})
}

// AssignTask gives an open task to an inspector, or takes it back with an
// empty assignee. A task in progress handed to someone else starts afresh.
func (s *Service) AssignTask(ctx context.Context, a Actor, id string, assigneeID string, version *int64) (InspectionTask, error) {
	return s.changeTask(ctx, a, id, version, AuditTaskAssign, func(tx Tx, t *InspectionTask) error {
		if assigneeID == "" {
			if err := TaskMachine.Check(t.Status, TaskUnassigned); err != nil {
				return err
			}
			t.AssigneeID, t.AssignedAt, t.Status = nil, nil, TaskUnassigned
			return nil
		}
		u, err := CheckAssignee(tx, a, assigneeID, "assignee_id")
		if err != nil {
			return err
		}
		if t.AssigneeID != nil && *t.AssigneeID == u.ID && (t.Status == TaskAssigned || t.Status == TaskInProgress) {
			return nil // already theirs: their progress stands
		}
		if t.Status != TaskAssigned {
			if err := TaskMachine.Check(t.Status, TaskAssigned); err != nil {
				return err
			}
		}
		now := s.Time()
		t.AssigneeID, t.AssignedAt, t.Status = &u.ID, &now, TaskAssigned
		return nil
	})
}

// CancelTask cancels an open task.
func (s *Service) CancelTask(ctx context.Context, a Actor, id string, version *int64) (InspectionTask, error) {
	return s.changeTask(ctx, a, id, version, AuditTaskCancel, func(tx Tx, t *InspectionTask) error {
		if err := TaskMachine.Check(t.Status, TaskCancelled); err != nil {
			return err
		}
		t.Status = TaskCancelled
		return nil
	})
}

// changeTask is the common path of every supervisor change to a task; the
// change is audited as action.
func (s *Service) changeTask(ctx context.Context, a Actor, id string, version *int64, action string, change func(Tx, *InspectionTask) error) (InspectionTask, error) {
	var t InspectionTask
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := s.getTask(tx, a, &t, id); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(t.UnitPath) {
			return Forbidden("change this task")
		}
		if err := CheckVersion(t.Version, version); err != nil {
			return err
		}
		before := t
		if err := change(tx, &t); err != nil {
			return err
		}
		t.Version++
		t.UpdatedAt = s.Time()
		if err := tx.Update(&t); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, action, EntityTasks, t.ID, fieldChanges(&before, &t,
			"status", "assignee_id", "site_id", "template_id", "window_start", "due_at")); err != nil {
			return err
		}
		return s.TaskChanged(tx, &before, &t)
	})
	return t, err
}

// GetTask returns one task the actor may see.
func (s *Service) GetTask(ctx context.Context, a Actor, id string) (InspectionTask, error) {
	var t InspectionTask
	err := s.Store.Tx(ctx, func(tx Tx) error { return s.getTask(tx, a, &t, id) })
	return t, err
}

func (s *Service) getTask(tx Tx, a Actor, t *InspectionTask, id string) error {
	return GetReadable(tx, a, t, id, "task")
}

// ListTasks lists the tasks the actor may see.
func (s *Service) ListTasks(ctx context.Context, a Actor, f TaskFilter, p ListParams) (Page[InspectionTask], error) {
	conds, err := a.ReadConds(EntityTasks)
	if err != nil {
		return Page[InspectionTask]{}, err
	}
	for _, c := range []struct{ col, v string }{
		{"status", f.Status}, {"assignee_id", f.AssigneeID}, {"item_id", f.ItemID},
		{"site_id", f.SiteID}, {"kind", f.Kind},
	} {
		if c.v != "" {
			conds = append(conds, Eq(c.col, c.v))
		}
	}
	return List[InspectionTask](ctx, s, conds, p)
}
