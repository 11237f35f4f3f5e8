package models

import (
	"context"
	"slices"
)

// TemplateInput creates or patches a checklist template.
type TemplateInput struct {
	Name      *string     `json:"name"`
	Questions *[]Question `json:"questions"`
	Version   *int64      `json:"version"`
}

// MaxQuestions bounds a checklist.
const MaxQuestions = 200

// QuestionTypes lists the question types.
var QuestionTypes = []string{QuestionYesNo, QuestionNumber, QuestionText, QuestionPhoto}

func applyTemplate(t *ChecklistTemplate, in TemplateInput) error {
	if err := setText(&t.Name, "name", in.Name, true, 200); err != nil {
		return err
	}
	if in.Questions != nil {
		t.Questions = *in.Questions
	}
	if len(t.Questions) == 0 || len(t.Questions) > MaxQuestions {
		return FieldError(CodeTemplateInvalid, "questions", "a checklist needs 1 to %d questions", MaxQuestions)
	}
	seen := map[string]bool{}
	for i := range t.Questions {
		q := &t.Questions[i]
		if err := checkCode("questions.id", q.ID); err != nil {
			return err
		}
		if seen[q.ID] {
			return FieldError(CodeTemplateInvalid, "questions.id", "question id %q appears twice", q.ID)
		}
		seen[q.ID] = true
		if err := setText(&q.Text, "questions.text", &q.Text, true, 500); err != nil {
			return err
		}
		if err := OneOf("questions.type", q.Type, QuestionTypes); err != nil {
			return err
		}
		if q.Type != QuestionNumber && q.Unit != "" {
			return FieldError(CodeTemplateInvalid, "questions.unit", "only number questions have a unit")
		}
	}
	return nil
}

// CreateTemplate adds a checklist template. Admins and supervisors.
func (s *Service) CreateTemplate(ctx context.Context, a Actor, in TemplateInput) (ChecklistTemplate, error) {
	if !a.canManage() {
		return ChecklistTemplate{}, Forbidden("create checklist templates")
	}
	now := s.Time()
	t := ChecklistTemplate{ID: s.NewID(), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := applyTemplate(&t, in); err != nil {
		return ChecklistTemplate{}, err
	}
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := tx.Create(&t); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, AuditTemplateCreate, EntityTemplates, t.ID, map[string]any{"questions": len(t.Questions)}); err != nil {
			return err
		}
		return s.Changed(tx, EntityTemplates, t.ID, t.Version, OpUpsert, ScopeGlobal)
	})
	return t, err
}

// UpdateTemplate changes a checklist template.
func (s *Service) UpdateTemplate(ctx context.Context, a Actor, id string, in TemplateInput) (ChecklistTemplate, error) {
	if !a.canManage() {
		return ChecklistTemplate{}, Forbidden("change checklist templates")
	}
	var t ChecklistTemplate
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := GetVisible(tx, &t, id, "template", func() bool { return true }); err != nil {
			return err
		}
		if err := CheckVersion(t.Version, in.Version); err != nil {
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
		if err := s.AuditTx(tx, a, AuditTemplateUpdate, EntityTemplates, t.ID, fieldChanges(&before, &t)); err != nil {
			return err
		}
		return s.ChangedShared(tx, EntityTemplates, "template_id", t.ID, t.Version, ScopeGlobal)
	})
	return t, err
}

// GetTemplate returns one template the actor may see: inspectors see the
// templates of their tasks, everyone else all of them.
func (s *Service) GetTemplate(ctx context.Context, a Actor, id string) (ChecklistTemplate, error) {
	var t ChecklistTemplate
	err := s.Store.Tx(ctx, func(tx Tx) error { return GetReadable(tx, a, &t, id, "template") })
	return t, err
}

// ListTemplates lists the templates the actor may see.
func (s *Service) ListTemplates(ctx context.Context, a Actor, p ListParams) (Page[ChecklistTemplate], error) {
	conds, err := s.ReadScope(ctx, a, EntityTemplates)
	if err != nil {
		return Page[ChecklistTemplate]{}, err
	}
	return List[ChecklistTemplate](ctx, s, conds, p)
}
