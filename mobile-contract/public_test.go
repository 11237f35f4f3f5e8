package contract_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// TestPublicDisclosureSpec holds the public schemas to the models' types
// member by member (a member added to a public type must be documented,
// and so reviewed for personal data), and checks that every operation
// under /v1/public/ is documented as needing no credentials.
func TestPublicDisclosureSpec(t *testing.T) {
	doc := contracttest.MustSpec(t)
	now := time.Date(2024, 12, 2, 2, 0, 0, 0, time.UTC)
	id := "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a01"
	counts := reporting.ProgressCounts{Total: 2, Accepted: 1, Overdue: 1, CompletionRate: 0.5, ByStatus: map[string]int64{}}
	for _, st := range models.ItemMachine.Statuses() {
		counts.ByStatus[st] = 0
	}
	counts.ByStatus[models.ItemAccepted], counts.ByStatus[models.ItemInProgress] = 1, 1
	for schema, v := range map[string]any{
		"PhotoDisclosure":  models.PhotoDisclosure{EvidenceID: id, ItemID: id, Public: true, ObjectKey: "public/x", SetBy: id, Version: 1, CreatedAt: now, UpdatedAt: now},
		"ProgressCounts":   counts,
		"CategoryProgress": reporting.CategoryProgress{Category: "黑臭水体", ProgressCounts: counts},
		"UnitProgress":     reporting.UnitProgress{UnitID: id, UnitName: "城北区", ProgressCounts: counts},
		"PublicProgress":   reporting.PublicProgress{GeneratedAt: now, Totals: counts, ByArea: []reporting.AreaProgress{}, ByCategory: []reporting.CategoryProgress{}, ByUnit: []reporting.UnitProgress{}},
		"PublicSite":       reporting.PublicSite{Name: "排口", Kind: "sewage_outfall", Lat: 30.3, Lng: 120.16},
		"PublicPhotoRef":   reporting.PublicPhotoRef{ID: id, URL: "/v1/public/photos/" + id},
		"PublicItem":       reporting.PublicItem{ID: id, Code: "C-1", ResponsibleUnitID: id, Deadline: now, Sites: []reporting.PublicSite{}, Photos: []reporting.PublicPhotoRef{}},
		"PublicationRequest": struct {
			Public bool `json:"public"`
		}{true},
	} {
		s, ok := doc.Components.Schemas[schema]
		if !ok {
			t.Fatalf("no schema %s", schema)
		}
		if got, want := propertyNames(s.Value), jsonNames(v); !slices.Equal(got, want) {
			t.Errorf("%s: spec has %v, %T has %v", schema, got, v, want)
		}
		validateAs(t, schema, v)
	}
	statuses := propertyNames(doc.Components.Schemas["ItemStatusCounts"].Value)
	if want := slices.Sorted(slices.Values(models.ItemMachine.Statuses())); !slices.Equal(statuses, want) {
		t.Errorf("ItemStatusCounts has %v, the item statuses are %v", statuses, want)
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/public/") {
			continue
		}
		for method, op := range item.Operations() {
			n++
			if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s %s must be documented with security: []", method, path)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d public operations documented, want 3", n)
	}
	// The examples are checked against their schemas with all the others.
	seen := map[string]bool{}
	for _, ex := range contracttest.Examples(doc) {
		seen[ex.Where] = true
	}
	for _, want := range []string{
		"GET /v1/public/progress 200 application/json progress",
		"GET /v1/public/items 200 application/json page",
		"POST /v1/evidence/{id}/public request application/json",
		"POST /v1/evidence/{id}/public 200 application/json",
		"POST /v1/evidence/{id}/public 409 application/problem+json",
	} {
		if !seen[want] {
			t.Errorf("no example at %s", want)
		}
	}
}
