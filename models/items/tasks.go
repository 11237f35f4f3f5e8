package items

import (
	"context"
	"time"

	"github.com/fieldsync/fieldsync/models"
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

func applyTask(tx models.Tx, a models.Actor, t *models.InspectionTask, in TaskInput, creating bool) error {
	if creating {
		var it models.RectificationItem
		if in.ItemID == nil {
			return models.FieldError(models.CodeRequired, "item_id", "item_id is required")
		}
		if err := models.LookupVisible(tx, &it, *in.ItemID, "item_id", func() bool { return a.CanWriteUnitRecord(it.UnitPath) }); err != nil {
			return err
		}
		t.ItemID, t.UnitPath = it.ID, it.UnitPath
	} else if in.ItemID != nil && *in.ItemID != t.ItemID {
		return models.FieldError(models.CodeValidation, "item_id", "a task cannot move to another item; cancel it and create a new one")
	}
	if in.SiteID != nil {
		var st models.Site
		if err := models.LookupVisible(tx, &st, *in.SiteID, "site_id", func() bool { return a.CanWriteUnitRecord(st.UnitPath) }); err != nil {
			return err
		}
		t.SiteID = st.ID
	}
	if t.SiteID == "" {
		return models.FieldError(models.CodeRequired, "site_id", "site_id is required")
	}
	if in.TemplateID != nil {
		var tm models.ChecklistTemplate
		if err := models.Lookup(tx, &tm, *in.TemplateID, "template_id"); err != nil {
			return err
		}
		t.TemplateID = tm.ID
	}
	if t.TemplateID == "" {
		return models.FieldError(models.CodeRequired, "template_id", "template_id is required")
	}
	if err := models.SetText(&t.Kind, "kind", in.Kind, true, 32); err != nil {
		return err
	}
	if err := models.OneOf("kind", t.Kind, models.TaskKinds); err != nil {
		return err
	}
	if err := models.SetText(&t.Instructions, "instructions", in.Instructions, false, 5000); err != nil {
		return err
	}
	var err error
	if in.WindowStart != nil {
		if t.WindowStart, err = models.TimeField("window_start", *in.WindowStart); err != nil {
			return err
		}
	}
	if in.DueAt != nil {
		if t.DueAt, err = models.TimeField("due_at", *in.DueAt); err != nil {
			return err
		}
	}
	if t.WindowStart.IsZero() || t.DueAt.IsZero() {
		return models.FieldError(models.CodeRequired, "due_at", "window_start and due_at are required")
	}
	if !t.DueAt.After(t.WindowStart) {
		return models.FieldError(models.CodeWindowInvalid, "due_at", "due_at must be after window_start")
	}
	return nil
}

// CreateTask adds a task, assigned at once when assignee_id is given.
func (s *Service) CreateTask(ctx context.Context, a models.Actor, in TaskInput) (models.InspectionTask, error) {
	if !a.CanManage() {
		return models.InspectionTask{}, models.Forbidden("create tasks")
	}
	now := s.Time()
	t := models.InspectionTask{ID: s.NewID(), Status: models.TaskUnassigned, Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := applyTask(tx, a, &t, in, true); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(t.UnitPath) {
			return models.Forbidden("create tasks for an item outside your unit")
		}
		if in.AssigneeID != nil {
			u, err := models.CheckAssignee(tx, a, *in.AssigneeID, "assignee_id")
			if err != nil {
				return err
			}
			t.AssigneeID, t.AssignedAt, t.Status = &u.ID, &now, models.TaskAssigned
		}
		if err := tx.Create(&t); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, models.AuditTaskCreate, models.EntityTasks, t.ID, map[string]any{"item_id": t.ItemID, "site_id": t.SiteID,
			"kind": t.Kind, "status": t.Status, "assignee_id": t.AssigneeID}); err != nil {
			return err
		}
		return s.TaskChanged(tx, &models.InspectionTask{}, &t)
	})
	return t, err
}

// UpdateTask changes a task's site, template, window or instructions.
func (s *Service) UpdateTask(ctx context.Context, a models.Actor, id string, in TaskInput) (models.InspectionTask, error) {
	return s.changeTask(ctx, a, id, in.Version, models.AuditTaskUpdate, func(tx models.Tx, t *models.InspectionTask) error {
		if in.AssigneeID != nil {
			return models.FieldError(models.CodeValidation, "assignee_id", "use the assign endpoint to change the assignee")
		}
		return applyTask(tx, a, t, in, false)
	})
}

// AssignTask gives an open task to an inspector, or takes it back with an
// empty assignee. A task in progress handed to someone else starts afresh.
func (s *Service) AssignTask(ctx context.Context, a models.Actor, id string, assigneeID string, version *int64) (models.InspectionTask, error) {
	return s.changeTask(ctx, a, id, version, models.AuditTaskAssign, func(tx models.Tx, t *models.InspectionTask) error {
		if assigneeID == "" {
			if err := models.TaskMachine.Check(t.Status, models.TaskUnassigned); err != nil {
				return err
			}
			t.AssigneeID, t.AssignedAt, t.Status = nil, nil, models.TaskUnassigned
			return nil
		}
		u, err := models.CheckAssignee(tx, a, assigneeID, "assignee_id")
		if err != nil {
			return err
		}
		if t.AssigneeID != nil && *t.AssigneeID == u.ID && (t.Status == models.TaskAssigned || t.Status == models.TaskInProgress) {
			return nil // already theirs: their progress stands
		}
		if t.Status != models.TaskAssigned {
			if err := models.TaskMachine.Check(t.Status, models.TaskAssigned); err != nil {
				return err
			}
		}
		now := s.Time()
		t.AssigneeID, t.AssignedAt, t.Status = &u.ID, &now, models.TaskAssigned
		return nil
	})
}

// CancelTask cancels an open task.
func (s *Service) CancelTask(ctx context.Context, a models.Actor, id string, version *int64) (models.InspectionTask, error) {
	return s.changeTask(ctx, a, id, version, models.AuditTaskCancel, func(tx models.Tx, t *models.InspectionTask) error {
		if err := models.TaskMachine.Check(t.Status, models.TaskCancelled); err != nil {
			return err
		}
		t.Status = models.TaskCancelled
		return nil
	})
}

// changeTask is the common path of every supervisor change to a task; the
// change is audited as action.
func (s *Service) changeTask(ctx context.Context, a models.Actor, id string, version *int64, action string, change func(models.Tx, *models.InspectionTask) error) (models.InspectionTask, error) {
	var t models.InspectionTask
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := s.getTask(tx, a, &t, id); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(t.UnitPath) {
			return models.Forbidden("change this task")
		}
		if err := models.CheckVersion(t.Version, version); err != nil {
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
		if err := s.AuditTx(tx, a, action, models.EntityTasks, t.ID, models.FieldChanges(&before, &t,
			"status", "assignee_id", "site_id", "template_id", "window_start", "due_at")); err != nil {
			return err
		}
		return s.TaskChanged(tx, &before, &t)
	})
	return t, err
}

// GetTask returns one task the actor may see.
func (s *Service) GetTask(ctx context.Context, a models.Actor, id string) (models.InspectionTask, error) {
	var t models.InspectionTask
	err := s.Store.Tx(ctx, func(tx models.Tx) error { return s.getTask(tx, a, &t, id) })
	return t, err
}

func (s *Service) getTask(tx models.Tx, a models.Actor, t *models.InspectionTask, id string) error {
	return models.GetReadable(tx, a, t, id, "task")
}

// ListTasks lists the tasks the actor may see.
func (s *Service) ListTasks(ctx context.Context, a models.Actor, f TaskFilter, p models.ListParams) (models.Page[models.InspectionTask], error) {
	conds, err := a.ReadConds(models.EntityTasks)
	if err != nil {
		return models.Page[models.InspectionTask]{}, err
	}
	for _, c := range []struct {
		col models.Column
		v   string
	}{
		{models.TaskCols.Status, f.Status}, {models.TaskCols.AssigneeID, f.AssigneeID}, {models.TaskCols.ItemID, f.ItemID},
		{models.TaskCols.SiteID, f.SiteID}, {models.TaskCols.Kind, f.Kind},
	} {
		if c.v != "" {
			conds = append(conds, models.Eq(c.col, c.v))
		}
	}
	return models.List[models.InspectionTask](ctx, s.Service, conds, p)
}
