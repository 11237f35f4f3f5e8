package contract_test

// These tests hold openapi.yaml to the Go code it describes: the error
// codes, the enumerations and the JSON shapes of the records and inputs in
// models. They fail when one side changes without the other.

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/models"
)

var backticked = regexp.MustCompile("`([a-z0-9_]+)`")

func TestEveryCodeIsDocumented(t *testing.T) {
	desc := MustSpec(t).Components.Schemas["Problem"].Value.Properties["code"].Value.Description
	known := map[string]bool{}
	for _, c := range models.AllCodes() {
		known[string(c)] = true
		if !strings.Contains(desc, "`"+string(c)+"`") {
			t.Errorf("code %s is missing from Problem.code's description", c)
		}
	}
	// Every code in the lists (bullets that start with a status or with a
	// transition code) must exist.
	for _, bullet := range strings.Split(desc, "\n- ")[1:] {
		if !regexp.MustCompile("^([45][0-9][0-9]:|`(item|task)_transition_)").MatchString(bullet) {
			continue
		}
		bullet, _, _ = strings.Cut(bullet, "\n\n") // the list ends at a blank line
		prose, _, _ := strings.Cut(bullet, "(see below)")
		for _, m := range backticked.FindAllStringSubmatch(prose, -1) {
			if !known[m[1]] {
				t.Errorf("Problem.code's description lists %s, which models does not define", m[1])
			}
		}
	}
}

func enumOf(t *testing.T, name string) []string {
	t.Helper()
	s, ok := MustSpec(t).Components.Schemas[name]
	if !ok {
		t.Fatalf("no schema %s", name)
	}
	var out []string
	for _, v := range s.Value.Enum {
		out = append(out, v.(string))
	}
	return out
}

func TestEnumsMatchModels(t *testing.T) {
	for name, want := range map[string][]string{
		"Role":             models.Roles,
		"UnitKind":         models.UnitKinds,
		"SupervisionLevel": models.SupervisionLevels,
		"ItemStatus":       models.ItemMachine.Statuses(),
		"SiteKind":         models.SiteKinds,
		"QuestionType":     models.QuestionTypes,
		"TaskKind":         models.TaskKinds,
		"TaskStatus":       models.TaskMachine.Statuses(),
	} {
		if got := enumOf(t, name); !slices.Equal(got, want) {
			t.Errorf("%s: spec has %v, models has %v", name, got, want)
		}
	}
}

// validateAs checks v, marshalled as the server marshals it, against a
// component schema.
func validateAs(t *testing.T, schema string, v any) {
	t.Helper()
	s, ok := MustSpec(t).Components.Schemas[schema]
	if !ok {
		t.Fatalf("no schema %s", schema)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	if err := s.Value.VisitJSON(x, append(contract.SchemaOptions(), openapi3.VisitAsResponse())...); err != nil {
		t.Errorf("%s %s does not match the spec: %v", schema, b, err)
	}
}

func TestRecordsMatchModels(t *testing.T) {
	now := time.Date(2024, 9, 2, 1, 30, 0, 123456000, time.UTC)
	id := func(n byte) string {
		return "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a" + string([]byte{'0' + n/10, '0' + n%10})
	}
	parent := id(1)
	square := &models.Polygon{Type: "Polygon", Coordinates: [][][2]float64{{{120, 30}, {120.01, 30}, {120.01, 30.01}, {120, 30}}}}

	validateAs(t, "Unit", models.Unit{ID: id(2), Code: "CITY", Name: "市本级", Kind: "city", Path: "/x/", Version: 1, CreatedAt: now, UpdatedAt: now})
	validateAs(t, "Unit", models.Unit{ID: id(3), ParentID: &parent, Code: "C1", Name: "城北区", Kind: "county", Version: 2, CreatedAt: now, UpdatedAt: now})
	validateAs(t, "User", models.User{ID: id(4), Username: "inspector1", Role: "inspector", UnitID: id(2), PasswordHash: "secret", UnitPath: "/x/", Version: 1, CreatedAt: now, UpdatedAt: now})
	validateAs(t, "Device", models.Device{ID: id(5), UserID: id(4), Name: "phone", Platform: "android", CreatedAt: now, LastSeenAt: now})
	validateAs(t, "Device", models.Device{ID: id(5), UserID: id(4), CreatedAt: now, LastSeenAt: now, RevokedAt: &now})
	validateAs(t, "RectificationItem", models.RectificationItem{
		ID: id(6), Code: "DC-1", Title: "t", ResponsibleUnitID: id(2), CooperatingUnitIDs: models.StringList{id(3)},
		Deadline: now, SupervisionLevel: "daily", Status: "not_started", Version: 1, CreatedAt: now, UpdatedAt: now,
	})
	validateAs(t, "RectificationItem", models.RectificationItem{
		ID: id(6), ResponsibleUnitID: id(2), CooperatingUnitIDs: models.StringList{},
		Deadline: now, SupervisionLevel: "key", KeyItem: true, Status: "accepted", Version: 9, CreatedAt: now, UpdatedAt: now,
	})
	validateAs(t, "Site", models.Site{ID: id(7), UnitID: id(2), Name: "排口", Kind: "sewage_outfall", Lat: 30, Lng: 120, RadiusM: 50, Version: 1, CreatedAt: now, UpdatedAt: now})
	validateAs(t, "Site", models.Site{ID: id(7), UnitID: id(2), Kind: "farm", Lat: -30, Lng: -120, Polygon: square, Version: 1, CreatedAt: now, UpdatedAt: now})
	validateAs(t, "ChecklistTemplate", models.ChecklistTemplate{ID: id(8), Name: "n", Questions: models.Questions{
		{ID: "q1", Text: "COD?", Type: "number", Unit: "mg/L", Required: true},
		{ID: "q2", Text: "photo", Type: "photo", PhotoRequired: true},
	}, Version: 1, CreatedAt: now, UpdatedAt: now})
	validateAs(t, "InspectionTask", models.InspectionTask{ID: id(9), ItemID: id(6), SiteID: id(7), Kind: "progress_check", TemplateID: id(8),
		WindowStart: now, DueAt: now.Add(time.Hour), Status: models.TaskUnassigned, Version: 1, CreatedAt: now, UpdatedAt: now})
	inspector := id(4)
	validateAs(t, "InspectionTask", models.InspectionTask{ID: id(9), ItemID: id(6), SiteID: id(7), AssigneeID: &inspector, AssignedAt: &now,
		Kind: "acceptance_check", TemplateID: id(8), WindowStart: now, DueAt: now, Status: "cancelled", Version: 4, CreatedAt: now, UpdatedAt: now})
}

// jsonNames lists the JSON member names a struct decodes.
func jsonNames(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name != "-" && rt.Field(i).IsExported() {
			if name == "" {
				name = rt.Field(i).Name
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func TestInputsMatchModels(t *testing.T) {
	doc := MustSpec(t)
	for schema, v := range map[string]any{
		"LoginRequest":  models.LoginInput{},
		"UnitInput":     models.UnitInput{},
		"UserInput":     models.UserInput{},
		"ItemInput":     models.ItemInput{},
		"SiteInput":     models.SiteInput{},
		"TemplateInput": models.TemplateInput{},
		"QuestionInput": models.Question{},
		"TaskInput":     models.TaskInput{},
	} {
		s := doc.Components.Schemas[schema].Value
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		if want := jsonNames(v); !slices.Equal(props, want) {
			t.Errorf("%s: spec has %v, %T decodes %v", schema, props, v, want)
		}
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("%s must refuse unknown members, as the decoder does", schema)
		}
	}
}
