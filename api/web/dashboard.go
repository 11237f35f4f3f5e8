package web

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// bar is one row of an inline SVG bar chart: the whole bar is Total, the
// filled part Done; W and DW are their widths in the chart's units.
type bar struct {
	Name        string
	Key         string
	Done, Total int
	Overdue     int
	W, DW       float64
	Y           int
}

const barWidth = 240

func layoutBars(bs []bar) []bar {
	max := 0
	for _, b := range bs {
		if b.Total > max {
			max = b.Total
		}
	}
	for i := range bs {
		if max > 0 {
			bs[i].W = float64(bs[i].Total) * barWidth / float64(max)
			bs[i].DW = float64(bs[i].Done) * barWidth / float64(max)
		}
		bs[i].Y = i * 22
	}
	return bs
}

// group counts items by one key.
type group map[string]*bar

func (g group) add(key, name string, it models.RectificationItem, overdue bool) {
	b := g[key]
	if b == nil {
		b = &bar{Key: key, Name: name}
		g[key] = b
	}
	b.Total++
	if it.Status == models.ItemAccepted {
		b.Done++
	}
	if overdue {
		b.Overdue++
	}
}

func (g group) bars() []bar {
	out := make([]bar, 0, len(g))
	for _, b := range g {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Name < out[j].Name
	})
	return layoutBars(out)
}

// summary is the dashboard's figures over every item the user may see.
type summary struct {
	Total, Accepted, Overdue, DueSoon, Pending, Rejected int
	ByArea, ByCategory, ByUnit, ByLevel                  []bar
	ByStatus                                             map[string]int
}

// summarize reads every item the actor may see (ListItems, a page at a
// time) and counts them.
func (w *Console) summarize(ctx context.Context, a models.Actor, v *view) (summary, error) {
	now := w.svc.Now()
	soon := now.Add(30 * 24 * time.Hour)
	units := w.unitNames(ctx, a)
	s := summary{ByStatus: map[string]int{}}
	area, cat, unit, level := group{}, group{}, group{}, group{}
	p := models.ListParams{Limit: models.MaxPageSize}
	for {
		page, err := w.items.ListItems(ctx, a, models.ItemFilter{}, p)
		if err != nil {
			return s, err
		}
		for _, it := range page.Items {
			od := it.IsOverdue(now)
			s.Total++
			s.ByStatus[it.Status]++
			if od {
				s.Overdue++
			}
			if it.Status != models.ItemAccepted && !it.Deadline.Before(now) && it.Deadline.Before(soon) {
				s.DueSoon++
			}
			area.add(it.Area, it.Area, it, od)
			cat.add(it.Category, it.Category, it, od)
			un := units[it.ResponsibleUnitID].Name
			if un == "" {
				un = it.ResponsibleUnitID
			}
			unit.add(it.ResponsibleUnitID, un, it, od)
			level.add(it.SupervisionLevel, v.Label("level", it.SupervisionLevel), it, od)
		}
		if page.Next == "" {
			break
		}
		p.After = page.Next
	}
	s.Accepted, s.Pending, s.Rejected = s.ByStatus[models.ItemAccepted], s.ByStatus[models.ItemPendingAcceptance], s.ByStatus[models.ItemRejected]
	s.ByArea, s.ByCategory, s.ByUnit, s.ByLevel = area.bars(), cat.bars(), unit.bars(), level.bars()
	return s, nil
}

func (w *Console) dashboard(c *fiber.Ctx, r *req) error {
	v := &view{req: r, w: w}
	s, err := w.summarize(c.UserContext(), r.Actor, v)
	if err != nil {
		return err
	}
	data := map[string]any{"S": s, "Statuses": models.ItemMachine.Statuses()}
	// This period's dispatch summary, for those who may read the report.
	if rep, err := w.report.Dispatch(c.UserContext(), r.Actor, reporting.DispatchQuery{}); err == nil {
		data["Dispatch"] = rep
	}
	return w.render(c, r, http.StatusOK, "dashboard", r.L.T("web.nav.dashboard", nil), "dashboard", data)
}
