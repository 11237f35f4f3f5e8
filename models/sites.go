package models

import "context"

// SiteInput creates or patches a site; nil fields are left alone.
type SiteInput struct {
	UnitID  *string           `json:"unit_id"`
	Name    *string           `json:"name"`
	Kind    *string           `json:"kind"`
	Address *string           `json:"address"`
	Lat     *float64          `json:"lat"`
	Lng     *float64          `json:"lng"`
	RadiusM *float64          `json:"radius_m"`
	Polygon Nullable[Polygon] `json:"polygon"`
	Version *int64            `json:"version"`
}

// SiteKinds lists the kinds of site.
var SiteKinds = []string{"sewage_outfall", "construction_site", "waste_yard", "river_section", "lake_area", "factory", "hydropower_station", "farm", "other"}

// SiteFilter narrows a site list.
type SiteFilter struct {
	UnitID string
	Kind   string
}

func applySite(tx Tx, st *Site, in SiteInput, creating bool) error {
	if err := setText(&st.Name, "name", in.Name, true, 200); err != nil {
		return err
	}
	if err := setText(&st.Kind, "kind", in.Kind, true, 32); err != nil {
		return err
	}
	if err := OneOf("kind", st.Kind, SiteKinds); err != nil {
		return err
	}
	if err := setText(&st.Address, "address", in.Address, false, 300); err != nil {
		return err
	}
	if in.Lat != nil {
		st.Lat = *in.Lat
	}
	if in.Lng != nil {
		st.Lng = *in.Lng
	}
	if creating && (in.Lat == nil || in.Lng == nil) {
		return FieldError(CodeRequired, "lat", "lat and lng are required")
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
		var u Unit
		if err := Lookup(tx, &u, *in.UnitID, CodeUnknownUnit, "unit_id"); err != nil {
			return err
		}
		st.UnitID, st.UnitPath = u.ID, u.Path
	}
	if st.UnitID == "" {
		return FieldError(CodeRequired, "unit_id", "unit_id is required")
	}
	return nil
}

// CreateSite adds a site. Admins anywhere, supervisors in their subtree.
func (s *Service) CreateSite(ctx context.Context, a Actor, in SiteInput) (Site, error) {
	if !a.canManage() {
		return Site{}, Forbidden("create sites")
	}
	now := s.Time()
	st := Site{ID: s.NewID(), Version: 1, CreatedAt: now, UpdatedAt: now}
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := applySite(tx, &st, in, true); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(st.UnitPath) {
			return Forbidden("create sites for a unit outside your own")
		}
		if err := tx.Create(&st); err != nil {
			return err
		}
		if err := s.AuditTx(tx, a, AuditSiteCreate, EntitySites, st.ID, map[string]any{"unit_id": st.UnitID, "kind": st.Kind}); err != nil {
			return err
		}
		return s.Changed(tx, EntitySites, st.ID, st.Version, OpUpsert, ScopeUnit(st.UnitPath))
	})
	return st, err
}

// UpdateSite changes a site.
func (s *Service) UpdateSite(ctx context.Context, a Actor, id string, in SiteInput) (Site, error) {
	var st Site
	err := s.Store.Tx(ctx, func(tx Tx) error {
		if err := s.getSite(tx, a, &st, id); err != nil {
			return err
		}
		if !a.CanWriteUnitRecord(st.UnitPath) {
			return Forbidden("change this site")
		}
		if err := CheckVersion(st.Version, in.Version); err != nil {
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
			return Forbidden("move a site to a unit outside your own")
		}
		if err := tx.Update(&st); err != nil {
			return err
		}
		// The geofence decides evidence flags: its moves carry values.
		if err := s.AuditTx(tx, a, AuditSiteUpdate, EntitySites, st.ID, fieldChanges(&before, &st, "unit_id", "kind", "lat", "lng", "radius_m")); err != nil {
			return err
		}
		if err := s.movedOut(tx, EntitySites, st.ID, st.Version, oldPath, st.UnitPath); err != nil {
			return err
		}
		return s.ChangedShared(tx, EntitySites, "site_id", st.ID, st.Version, ScopeUnit(st.UnitPath))
	})
	return st, err
}

// GetSite returns one site the actor may see.
func (s *Service) GetSite(ctx context.Context, a Actor, id string) (Site, error) {
	var st Site
	err := s.Store.Tx(ctx, func(tx Tx) error { return s.getSite(tx, a, &st, id) })
	return st, err
}

func (s *Service) getSite(tx Tx, a Actor, st *Site, id string) error {
	return GetReadable(tx, a, st, id, "site")
}

// ListSites lists the sites the actor may see.
func (s *Service) ListSites(ctx context.Context, a Actor, f SiteFilter, p ListParams) (Page[Site], error) {
	conds, err := s.ReadScope(ctx, a, EntitySites)
	if err != nil {
		return Page[Site]{}, err
	}
	if f.UnitID != "" {
		conds = append(conds, Eq("unit_id", f.UnitID))
	}
	if f.Kind != "" {
		conds = append(conds, Eq("kind", f.Kind))
	}
	return List[Site](ctx, s, conds, p)
}
