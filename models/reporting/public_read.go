package reporting

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// What the public disclosure shows is built here from the records, field
// by field, into types of its own: nothing reaches the public because a
// record happened to carry it. No person is named (no responsible persons,
// users, inspectors or devices), no note or verification text is shown,
// and no coordinate is more precise than the DisclosurePolicy.

// ProgressCounts are the items of one group by status.
type ProgressCounts struct {
	Total int64 `json:"total"`
	// ByStatus has every item status, with 0 for those no item is in.
	ByStatus map[string]int64 `json:"by_status"`
	Accepted int64            `json:"accepted"`
	// Overdue counts the items past their deadline and not accepted.
	Overdue int64 `json:"overdue"`
	// CompletionRate is Accepted / Total (0 without items), to four
	// decimals.
	CompletionRate float64 `json:"completion_rate"`
}

// CategoryProgress is the progress of one category of items.
type CategoryProgress struct {
	Category string `json:"category"`
	ProgressCounts
}

// AreaProgress is the progress of the items of one area (水环境, 大气…).
type AreaProgress struct {
	Area string `json:"area"`
	ProgressCounts
}

// UnitProgress is the progress of the items of one responsible unit; units
// are public institutions, so they are named.
type UnitProgress struct {
	UnitID   string `json:"unit_id"`
	UnitName string `json:"unit_name"`
	ProgressCounts
}

// PublicProgress is the progress of the rectification as the public sees
// it.
type PublicProgress struct {
	GeneratedAt time.Time          `json:"generated_at"`
	Totals      ProgressCounts     `json:"totals"`
	ByArea      []AreaProgress     `json:"by_area"`
	ByCategory  []CategoryProgress `json:"by_category"`
	ByUnit      []UnitProgress     `json:"by_unit"`
}

// PublicItem is an accepted item as the public sees it.
type PublicItem struct {
	ID                  string           `json:"id"`
	Code                string           `json:"code"`
	Title               string           `json:"title"`
	Category            string           `json:"category"`
	Area                string           `json:"area"`
	ResponsibleUnitID   string           `json:"responsible_unit_id"`
	ResponsibleUnitName string           `json:"responsible_unit_name"`
	Deadline            time.Time        `json:"deadline"`
	ClosedAt            *time.Time       `json:"closed_at"`
	PublicSummary       string           `json:"public_summary"`
	Sites               []PublicSite     `json:"sites"`
	Photos              []PublicPhotoRef `json:"photos"`
}

// RecordID implements Record.
func (p PublicItem) RecordID() string { return p.ID }

// PublicSite is a site of an accepted item: its name, kind and rounded
// centre; no address and no geofence, which would be more precise.
type PublicSite struct {
	Name string  `json:"name"`
	Kind string  `json:"kind"`
	Lat  float64 `json:"lat"`
	Lng  float64 `json:"lng"`
}

// PublicPhotoRef names a public photo and where anyone can fetch it.
type PublicPhotoRef struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

func newProgressCounts() ProgressCounts { return ProgressCounts{ByStatus: statusCounts[int64]()} }

func (c *ProgressCounts) finish() {
	c.Accepted = c.ByStatus[models.ItemAccepted]
	if c.Total > 0 {
		c.CompletionRate = math.Round(float64(c.Accepted)/float64(c.Total)*1e4) / 1e4
	}
}

// PublicProgressTTL is how long one count of the public progress serves
// every anonymous request: it reads the whole item table, and anyone may
// ask for it.
const PublicProgressTTL = time.Minute

// PublicProgress counts every item by category and by responsible unit;
// a count younger than PublicProgressTTL is answered again.
func (s *Service) PublicProgress(ctx context.Context) (PublicProgress, error) {
	s.progressMu.Lock()
	defer s.progressMu.Unlock()
	if s.progress != nil && s.Time().Sub(s.progress.GeneratedAt) < PublicProgressTTL {
		return *s.progress, nil
	}
	p, err := s.countProgress(ctx)
	if err == nil {
		s.progress = &p
	}
	return p, err
}

func (s *Service) countProgress(ctx context.Context) (PublicProgress, error) {
	now := s.Time()
	var (
		all, overdue []models.Group
		units        []models.Unit
	)
	// Counted by category, area and unit at once; the status is last.
	by := []models.Column{"category", "area", "responsible_unit_id", "status"}
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		var err error
		if all, err = tx.CountBy(&models.RectificationItem{}, by, nil); err != nil {
			return err
		}
		if overdue, err = tx.CountBy(&models.RectificationItem{}, by[:3], models.OverdueConds(now)); err != nil {
			return err
		}
		ids := models.IDsOf(all, func(g models.Group) []string { return g.Keys[2:3] })
		return tx.List(&units, models.Query{Where: []models.Cond{{Column: "id", Op: models.OpIn, Value: models.UniqueSorted(ids)}}})
	})
	if err != nil {
		return PublicProgress{}, err
	}
	out := PublicProgress{GeneratedAt: now, Totals: newProgressCounts()}
	// dims[i] counts by the group's key i: category, area, unit.
	dims := [3]map[string]*ProgressCounts{{}, {}, {}}
	groups := func(g models.Group) []*ProgressCounts {
		out := []*ProgressCounts{&out.Totals}
		for i, m := range dims {
			if m[g.Keys[i]] == nil {
				c := newProgressCounts()
				m[g.Keys[i]] = &c
			}
			out = append(out, m[g.Keys[i]])
		}
		return out
	}
	for _, g := range all {
		for _, c := range groups(g) {
			c.Total += g.Count
			c.ByStatus[g.Keys[3]] += g.Count
		}
	}
	for _, g := range overdue {
		for _, c := range groups(g) {
			c.Overdue += g.Count
		}
	}
	out.Totals.finish()
	cats, areas, byUnit := dims[0], dims[1], dims[2]
	out.ByCategory = []CategoryProgress{}
	for cat, c := range cats {
		c.finish()
		out.ByCategory = append(out.ByCategory, CategoryProgress{Category: cat, ProgressCounts: *c})
	}
	sort.Slice(out.ByCategory, func(i, j int) bool { return out.ByCategory[i].Category < out.ByCategory[j].Category })
	out.ByArea = []AreaProgress{}
	for area, c := range areas {
		c.finish()
		out.ByArea = append(out.ByArea, AreaProgress{Area: area, ProgressCounts: *c})
	}
	sort.Slice(out.ByArea, func(i, j int) bool { return out.ByArea[i].Area < out.ByArea[j].Area })
	out.ByUnit = []UnitProgress{}
	for _, u := range units {
		c := byUnit[u.ID]
		c.finish()
		out.ByUnit = append(out.ByUnit, UnitProgress{UnitID: u.ID, UnitName: u.Name, ProgressCounts: *c})
	}
	sort.Slice(out.ByUnit, func(i, j int) bool {
		a, b := out.ByUnit[i], out.ByUnit[j]
		return a.UnitName < b.UnitName || a.UnitName == b.UnitName && a.UnitID < b.UnitID
	})
	return out, nil
}

// PublicItems lists the accepted items, keyset-paginated like every list.
func (s *Service) PublicItems(ctx context.Context, p models.ListParams) (models.Page[PublicItem], error) {
	var out models.Page[PublicItem]
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		items, err := models.PageOf[models.RectificationItem](tx, []models.Cond{models.Eq("status", models.ItemAccepted)}, p)
		if err != nil {
			return err
		}
		var r publicRecords
		ids := models.IDsOf(items.Items, func(it models.RectificationItem) []string { return []string{it.ID} })
		if err := tx.List(&r.tasks, models.Query{Where: []models.Cond{{Column: models.TaskCols.ItemID, Op: models.OpIn, Value: ids}, {Column: models.TaskCols.Status, Op: models.OpNe, Value: models.TaskCancelled}}}); err != nil {
			return err
		}
		siteIDs := models.IDsOf(r.tasks, func(t models.InspectionTask) []string { return []string{t.SiteID} })
		unitIDs := models.IDsOf(items.Items, func(it models.RectificationItem) []string { return []string{it.ResponsibleUnitID} })
		for _, q := range []struct {
			dst any
			ids []string
		}{{&r.sites, siteIDs}, {&r.units, unitIDs}} {
			if err := tx.List(q.dst, models.Query{Where: []models.Cond{{Column: "id", Op: models.OpIn, Value: models.UniqueSorted(q.ids)}}}); err != nil {
				return err
			}
		}
		if r.photos, err = publicDisclosures(tx, models.Cond{Column: "item_id", Op: models.OpIn, Value: ids}); err != nil {
			return err
		}
		out = models.Page[PublicItem]{Next: items.Next, Items: r.items(items.Items, s.Disclosure)}
		return nil
	})
	return out, err
}

// publicRecords are what a page of public items is made from.
type publicRecords struct {
	tasks  []models.InspectionTask
	sites  []models.Site
	units  []models.Unit
	photos []models.PhotoDisclosure
}

// items builds the public view of items. An item's sites are those of its
// tasks, in the order of the tasks; its photos come in id order.
func (r publicRecords) items(items []models.RectificationItem, policy models.DisclosurePolicy) []PublicItem {
	unitName := map[string]string{}
	for _, u := range r.units {
		unitName[u.ID] = u.Name
	}
	siteByID := map[string]models.Site{}
	for _, st := range r.sites {
		siteByID[st.ID] = st
	}
	sites, seen := map[string][]PublicSite{}, map[[2]string]bool{}
	for _, t := range r.tasks {
		st, ok := siteByID[t.SiteID]
		if !ok || seen[[2]string{t.ItemID, st.ID}] {
			continue
		}
		seen[[2]string{t.ItemID, st.ID}] = true
		sites[t.ItemID] = append(sites[t.ItemID], PublicSite{Name: st.Name, Kind: st.Kind, Lat: policy.Round(st.Lat), Lng: policy.Round(st.Lng)})
	}
	photos := map[string][]PublicPhotoRef{}
	for _, d := range r.photos {
		photos[d.ItemID] = append(photos[d.ItemID], PublicPhotoRef{ID: d.EvidenceID, URL: "/v1/public/photos/" + d.EvidenceID})
	}
	out := make([]PublicItem, 0, len(items))
	for _, it := range items {
		out = append(out, PublicItem{ID: it.ID, Code: it.Code, Title: it.Title, Category: it.Category, Area: it.Area,
			ResponsibleUnitID: it.ResponsibleUnitID, ResponsibleUnitName: unitName[it.ResponsibleUnitID],
			Deadline: it.Deadline, ClosedAt: it.ClosedAt, PublicSummary: it.PublicSummary,
			Sites: append([]PublicSite{}, sites[it.ID]...), Photos: append([]PublicPhotoRef{}, photos[it.ID]...)})
	}
	return out
}

// publicDisclosures loads the disclosures matching where that the public
// may see: marked public, with a copy, of a verified photo. A photo is
// verified for good once it could be marked; it is checked again so that
// nothing else can ever be served. The item's status is the caller's to
// check.
func publicDisclosures(tx models.Tx, where ...models.Cond) ([]models.PhotoDisclosure, error) {
	var ds []models.PhotoDisclosure
	conds := append([]models.Cond{models.Eq("public", true), {Column: "object_key", Op: models.OpNe, Value: ""}}, where...)
	if err := tx.List(&ds, models.Query{Where: conds, OrderBy: "evidence_id"}); err != nil {
		return nil, err
	}
	var ok []string
	err := tx.Pluck(&models.Evidence{}, models.EvidenceCols.ID, []models.Cond{
		{Column: models.EvidenceCols.ID, Op: models.OpIn, Value: models.IDsOf(ds, func(d models.PhotoDisclosure) []string { return []string{d.EvidenceID} })},
		models.Eq(models.EvidenceCols.Kind, "photo"), models.Eq(models.EvidenceCols.Status, models.EvidenceVerified),
	}, &ok)
	if err != nil {
		return nil, err
	}
	verified := map[string]bool{}
	for _, id := range ok {
		verified[id] = true
	}
	out := []models.PhotoDisclosure{}
	for _, d := range ds {
		if verified[d.EvidenceID] {
			out = append(out, d)
		}
	}
	return out, nil
}
