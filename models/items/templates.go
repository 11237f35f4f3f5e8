package items

import (
	"context"
	"slices"

	"github.com/fieldsync/fieldsync/models"
)

// TemplateInput creates or patches a checklist template.
type TemplateInput struct {
	Name      *string            `json:"name"`
	Questions *[]models.Question `json:"questions"`
	Version   *int64             `json:"version"`
}

// MaxQuestions bounds a checklist.
const MaxQuestions = 200

// QuestionTypes lists the question types.
var QuestionTypes = []string{models.QuestionYesNo, models.QuestionNumber, models.QuestionText, models.QuestionPhoto}

func applyTemplate(t *models.ChecklistTemplate, in TemplateInput) error {
	if err := models.SetText(&t.Name, "name", in.Name, true, 200); err != nil {
		return err
	}
	if in.Questions != nil {
		t.Questions = *in.Questions
	}
	if len(t.Questions) == 0 || len(t.Questions) > MaxQuestions {
		return models.FieldError(models.CodeTemplateInvalid, "questions", "a checklist needs 1 to %d questions", MaxQuestions)
	}
	seen := map[string]bool{}
	for i := range t.Questions {
		q := &t.Questions[i]
		if err := checkCode("questions.id", q.ID); err != nil {
			return err
		}
		if seen[q.ID] {
			return models.FieldError(models.CodeTemplateInvalid, "questions.id", "question id %q appears twice", q.ID)
		}
		seen[q.ID] = true
		if err := models.SetText(&q.Text, "questions.text", &q.Text, true, 500); err != nil {
			return err
		}
		if err := models.OneOf("questions.type", q.Type, QuestionTypes); err != nil {
			return err
		}
		if q.Type != models.QuestionNumber && q.Unit != "" {
			return models.FieldError(models.CodeTemplateInvalid, "questions.unit", "only number questions have a unit")
		}
	}
	return nil
}

// CreateTemplate adds a checklist template. Admins and supervisors.
func (s *Service) CreateTemplate(ctx context.Context, a models.Actor, in TemplateInput) (models.ChecklistTemplate, error) {
	if !a.CanManage() {
		return models.ChecklistTemplate{}, models.Forbidden("create checklist templates")
	}
	now := s.Time()
	t := models.ChecklistTemplate{ID: s.NewID(), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := applyTemplate(&t, in); err != nil {
		return models.ChecklistTemplate{}, err
	}
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := tx.Create(&t); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, models.AuditTemplateCreate, models.EntityTemplates, t.ID, map[string]any{"questions": len(t.Questions)}); err != nil {
			return err
		}
		return s.Changed(tx, models.EntityTemplates, t.ID, t.Version, models.OpUpsert, models.ScopeGlobal)
	})
	return t, err
}

// UpdateTemplate changes a checklist template.
func (s *Service) UpdateTemplate(ctx context.Context, a models.Actor, id string, in TemplateInput) (models.ChecklistTemplate, error) {
	if !a.CanManage() {
		return models.ChecklistTemplate{}, models.Forbidden("change checklist templates")
	}
	var t models.ChecklistTemplate
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := models.GetVisible(tx, &t, id, "template", func() bool { return true }); err != nil {
			return err
		}
		if err := models.CheckVersion(t.Version, in.Version); err != nil {
			return err
		}
		before := t
		before.Questions = slices.Clone(t.Questions)
		if err := applyTemplate(&t, in); err != nil {
			return err
		}
		t.Version++
		t.UpdatedAt = s.Time()
		if err := tx.Update(&t); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, models.AuditTemplateUpdate, models.EntityTemplates, t.ID, models.FieldChanges(&before, &t)); err != nil {
			return err
		}
		return s.ChangedShared(tx, models.EntityTemplates, models.TaskCols.TemplateID, t.ID, t.Version, models.ScopeGlobal)
	})
	return t, err
}

// GetTemplate returns one template the actor may see: inspectors see the
// templates of their tasks, everyone else all of them.
func (s *Service) GetTemplate(ctx context.Context, a models.Actor, id string) (models.ChecklistTemplate, error) {
	var t models.ChecklistTemplate
	err := s.Store.Tx(ctx, func(tx models.Tx) error { return models.GetReadable(tx, a, &t, id, "template") })
	return t, err
}

// ListTemplates lists the templates the actor may see.
func (s *Service) ListTemplates(ctx context.Context, a models.Actor, p models.ListParams) (models.Page[models.ChecklistTemplate], error) {
	conds, err := s.ReadScope(ctx, a, models.EntityTemplates)
	if err != nil {
		return models.Page[models.ChecklistTemplate]{}, err
	}
	return models.List[models.ChecklistTemplate](ctx, s.Service, conds, p)
}
