package items

import (
	"context"

	"github.com/fieldsync/fieldsync/models"
)

// SiteInput creates or patches a site; nil fields are left alone.
type SiteInput struct {
	UnitID  *string                         `json:"unit_id"`
	Name    *string                         `json:"name"`
	Kind    *string                         `json:"kind"`
	Address *string                         `json:"address"`
	Lat     *float64                        `json:"lat"`
	Lng     *float64                        `json:"lng"`
	RadiusM *float64                        `json:"radius_m"`
	Polygon models.Nullable[models.Polygon] `json:"polygon"`
	Version *int64                          `json:"version"`
}

// SiteKinds lists the kinds of site.
var SiteKinds = []string{"sewage_outfall", "construction_site", "waste_yard", "river_section", "lake_area", "factory", "hydropower_station", "farm", "other"}

// SiteFilter narrows a site list.
type SiteFilter struct {
	UnitID string
	Kind   string
}

func applySite(tx models.Tx, st *models.Site, in SiteInput, creating bool) error {
	if err := models.SetText(&st.Name, "name", in.Name, true, 200); err != nil {
		return err
	}
	if err := models.SetText(&st.Kind, "kind", in.Kind, true, 32); err != nil {
		return err
	}
	if err := models.OneOf("kind", st.Kind, SiteKinds); err != nil {
		return err
	}
	if err := models.SetText(&st.Address, "address", in.Address, false, 300); err != nil {
		return err
	}
	if in.Lat != nil {
		st.Lat = *in.Lat
	}
	if in.Lng != nil {
		st.Lng = *in.Lng
	}
	if creating && (in.Lat == nil || in.Lng == nil) {
		return models.FieldError(models.CodeRequired, "lat", "lat and lng are required")
	}
	if in.RadiusM != nil {
		st.RadiusM = *in.RadiusM
	}
	if in.Polygon.Set {
		st.Polygon = in.Polygon.Value
	}
	if err := st.ValidateGeofence(); err != nil {
		return err
	}
	if in.UnitID != nil {
		var u models.Unit
		if err := models.Lookup(tx, &u, *in.UnitID, "unit_id"); err != nil {
			return err
		}
		st.UnitID, st.UnitPath = u.ID, u.Path
	}
	if st.UnitID == "" {
		return models.FieldError(models.CodeRequired, "unit_id", "unit_id is required")
	}
	return nil
}

// CreateSite adds a site. Admins anywhere, supervisors in their subtree.
func (s *Service) CreateSite(ctx context.Context, a models.Actor, in SiteInput) (models.Site, error) {
	if !a.CanManage() {
		return models.Site{}, models.Forbidden("create sites")
	}
	now := s.Time()
	st := models.Site{ID: s.NewID(), Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := applySite(tx, &st, in, true); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(st.UnitPath) {
			return models.Forbidden("create sites for a unit outside your own")
		}
		if err := tx.Create(&st); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, models.AuditSiteCreate, models.EntitySites, st.ID, map[string]any{"unit_id": st.UnitID, "kind": st.Kind}); err != nil {
			return err
		}
		return s.Changed(tx, models.EntitySites, st.ID, st.Version, models.OpUpsert, models.ScopeUnit(st.UnitPath))
	})
	return st, err
}

// UpdateSite changes a site.
func (s *Service) UpdateSite(ctx context.Context, a models.Actor, id string, in SiteInput) (models.Site, error) {
	var st models.Site
	err := s.Store.Tx(ctx, func(tx models.Tx) error {
		if err := s.getSite(tx, a, &st, id); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(st.UnitPath) {
			return models.Forbidden("change this site")
		}
		if err := models.CheckVersion(st.Version, in.Version); err != nil {
			return err
		}
		before := st
		st.Version++
		st.UpdatedAt = s.Time()
		oldPath := st.UnitPath
		if err := applySite(tx, &st, in, false); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(st.UnitPath) {
			return models.Forbidden("move a site to a unit outside your own")
		}
		if err := tx.Update(&st); err != nil {
			return err
		}
		// The geofence decides evidence flags: its moves carry values.
		if err := s.AuditTx(tx, a, models.AuditSiteUpdate, models.EntitySites, st.ID, models.FieldChanges(&before, &st, "unit_id", "kind", "lat", "lng", "radius_m")); err != nil {
			return err
		}
		if err := s.MovedOut(tx, models.EntitySites, st.ID, st.Version, oldPath, st.UnitPath); err != nil {
			return err
		}
		return s.ChangedShared(tx, models.EntitySites, models.TaskCols.SiteID, st.ID, st.Version, models.ScopeUnit(st.UnitPath))
	})
	return st, err
}

// GetSite returns one site the actor may see.
func (s *Service) GetSite(ctx context.Context, a models.Actor, id string) (models.Site, error) {
	var st models.Site
	err := s.Store.Tx(ctx, func(tx models.Tx) error { return s.getSite(tx, a, &st, id) })
	return st, err
}

func (s *Service) getSite(tx models.Tx, a models.Actor, st *models.Site, id string) error {
	return models.GetReadable(tx, a, st, id, "site")
}

// ListSites lists the sites the actor may see.
func (s *Service) ListSites(ctx context.Context, a models.Actor, f SiteFilter, p models.ListParams) (models.Page[models.Site], error) {
	conds, err := s.ReadScope(ctx, a, models.EntitySites)
	if err != nil {
		return models.Page[models.Site]{}, err
	}
	if f.UnitID != "" {
		conds = append(conds, models.Eq("unit_id", f.UnitID))
	}
	if f.Kind != "" {
		conds = append(conds, models.Eq("kind", f.Kind))
	}
	return models.List[models.Site](ctx, s.Service, conds, p)
}
