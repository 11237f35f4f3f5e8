package reporting

import (
	"sort"
	"time"
	"unicode/utf8"

	"github.com/fieldsync/fieldsync/models"
)

// noteBatch bounds the notes and verifications read at once.
const noteBatch = 1000

// periodNotes collects the notes and verification notes written in
// [start, asOf) on the given items: per item, how many, and the newest
// few, cut short. Items are those of the report, ordered by unit, category
// and code.
func periodNotes(tx models.Tx, scope []models.Cond, items map[string]*DispatchProgress, start, asOf time.Time) ([]DispatchProgress, error) {
	type authored struct {
		note   DispatchNote
		author string
	}
	kept := map[string][]authored{}
	keep := func(item string, n DispatchNote, author string) {
		p := items[item]
		if p == nil {
			return // an item outside the report (created after its end)
		}
		p.Total++
		l := append(kept[item], authored{n, author})
		sort.SliceStable(l, func(i, j int) bool { return l[i].note.At.After(l[j].note.At) })
		kept[item] = l[:min(len(l), DispatchNotesPerItem)]
	}
	inPeriod := func(col models.Column) []models.Cond {
		return append(append([]models.Cond(nil), scope...), models.Cond{Column: col, Op: models.OpGe, Value: start}, models.Cond{Column: col, Op: models.OpLt, Value: asOf})
	}
	for after := ""; ; {
		var notes []models.Note
		if err := tx.List(&notes, models.Query{Where: inPeriod("created_at"), After: after, Limit: noteBatch}); err != nil {
			return nil, err
		}
		taskIDs := models.IDsOf(notes, func(n models.Note) []string { return []string{n.TaskID} })
		itemOf, err := taskItems(tx, taskIDs)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			keep(itemOf[n.TaskID], DispatchNote{At: n.CreatedAt, Kind: NoteKindNote, Text: cut(n.Text)}, n.AuthorID)
		}
		if len(notes) < noteBatch {
			break
		}
		after = notes[len(notes)-1].ID
	}
	withNotes := append(inPeriod("recorded_at"), models.Cond{Column: "notes", Op: models.OpNe, Value: ""})
	for after := ""; ; {
		var vs []models.Verification
		if err := tx.List(&vs, models.Query{Where: withNotes, After: after, Limit: noteBatch}); err != nil {
			return nil, err
		}
		for _, v := range vs {
			keep(v.ItemID, DispatchNote{At: v.RecordedAt, Kind: NoteKindVerification, Conclusion: v.Conclusion, Text: cut(v.Notes)}, v.InspectorID)
		}
		if len(vs) < noteBatch {
			break
		}
		after = vs[len(vs)-1].ID
	}
	var authors, unitIDs []string
	for item, l := range kept {
		unitIDs = append(unitIDs, items[item].UnitID)
		for _, n := range l {
			authors = append(authors, n.author)
		}
	}
	names, err := displayNames(tx, authors)
	if err != nil {
		return nil, err
	}
	codes, err := unitCodes(tx, unitIDs)
	if err != nil {
		return nil, err
	}
	out := []DispatchProgress{}
	for item, l := range kept {
		p := *items[item]
		for _, n := range l {
			n.note.Author = names[n.author]
			p.Notes = append(p.Notes, n.note)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ca, cb := codes[a.UnitID], codes[b.UnitID]; ca != cb {
			return ca < cb
		}
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		return a.Code < b.Code
	})
	return out, nil
}

// taskItems maps task ids to their items' ids.
func taskItems(tx models.Tx, taskIDs []string) (map[string]string, error) {
	out := map[string]string{}
	ids := models.UniqueSorted(taskIDs)
	if len(ids) == 0 {
		return out, nil
	}
	var tasks []models.InspectionTask
	if err := tx.List(&tasks, models.Query{Where: []models.Cond{{Column: models.TaskCols.ID, Op: models.OpIn, Value: ids}}}); err != nil {
		return nil, err
	}
	for _, t := range tasks {
		out[t.ID] = t.ItemID
	}
	return out, nil
}

func unitCodes(tx models.Tx, ids []string) (map[string]string, error) {
	out := map[string]string{}
	ids = models.UniqueSorted(ids)
	if len(ids) == 0 {
		return out, nil
	}
	var units []models.Unit
	if err := tx.List(&units, models.Query{Where: []models.Cond{{Column: "id", Op: models.OpIn, Value: ids}}}); err != nil {
		return nil, err
	}
	for _, u := range units {
		out[u.ID] = u.Code
	}
	return out, nil
}

// cut shortens a note to DispatchNoteRunes characters, marking the cut.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= DispatchNoteRunes {
		return s
	}
	r := []rune(s)
	return string(r[:DispatchNoteRunes-1]) + "…"
}
