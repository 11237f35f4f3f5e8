package contract_test

// These tests hold openapi.yaml to the Go code it describes: the error
// codes, the enumerations and the JSON shapes of the records and inputs in
// models, and the sync wire types in wire.go. They fail when one side
// changes without the other.

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/fieldwork"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/reporting"
)

var backticked = regexp.MustCompile("`([a-z0-9_]+)`")

func TestEveryCodeIsDocumented(t *testing.T) {
	desc := contracttest.MustSpec(t).Components.Schemas["Problem"].Value.Properties["code"].Value.Description
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

// TestErrorCodesMatchModels: ErrorCode's enum is exactly the code table
// of models/codes.go, both ways and in its order. With
// FIELDSYNC_UPDATE_SPEC=1 it rewrites the enum from the table instead.
func TestErrorCodesMatchModels(t *testing.T) {
	var want []string
	for _, c := range models.AllCodes() {
		want = append(want, string(c))
	}
	if os.Getenv("FIELDSYNC_UPDATE_SPEC") == "1" {
		raw, err := os.ReadFile("openapi.yaml")
		if err != nil {
			t.Fatal(err)
		}
		const head = "\n    ErrorCode:\n"
		i := bytes.Index(raw, []byte(head))
		j := bytes.Index(raw[max(i, 0):], []byte("\n      enum:\n"))
		if i < 0 || j < 0 {
			t.Fatal("openapi.yaml has no ErrorCode schema with an enum")
		}
		start := i + j + len("\n      enum:\n")
		end := start
		for bytes.HasPrefix(raw[end:], []byte("        - ")) {
			end += bytes.IndexByte(raw[end:], '\n') + 1
		}
		var list bytes.Buffer
		for _, c := range want {
			list.WriteString("        - " + c + "\n")
		}
		out := slices.Concat(raw[:start], list.Bytes(), raw[end:])
		if err := os.WriteFile("openapi.yaml", out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("rewrote ErrorCode's enum; run the test again without FIELDSYNC_UPDATE_SPEC")
		return
	}
	got := enumOf(t, "ErrorCode")
	for _, c := range got {
		if !slices.Contains(want, c) {
			t.Errorf("ErrorCode lists %s, which models/codes.go does not define", c)
		}
	}
	for _, c := range want {
		if !slices.Contains(got, c) {
			t.Errorf("code %s of models/codes.go is missing from ErrorCode", c)
		}
	}
	if !slices.Equal(got, want) && !t.Failed() {
		t.Errorf("ErrorCode lists the codes in another order than models.AllCodes()")
	}
	if t.Failed() {
		t.Log("FIELDSYNC_UPDATE_SPEC=1 go test ./mobile-contract -run TestErrorCodesMatchModels rewrites the enum")
	}
}

func enumOf(t *testing.T, name string) []string {
	t.Helper()
	s, ok := contracttest.MustSpec(t).Components.Schemas[name]
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
		"SiteKind":         items.SiteKinds,
		"QuestionType":     items.QuestionTypes,
		"TaskKind":         models.TaskKinds,
		"TaskStatus":       models.TaskMachine.Statuses(),
		"Conclusion":       models.Conclusions,
		"Datum":            models.Datums,
		"DatumInput":       models.Datums,
		"EvidenceKind":     models.EvidenceKinds,
		"EvidenceStatus":   {models.EvidencePending, models.EvidenceVerified, models.EvidenceRejected},
		"FlagCode":         flagCodes,
		"AuditAction":      models.AuditActions,
		"AuditEntity":      models.AuditEntities,
		"DispatchPeriod":   reporting.DispatchPeriods,
	} {
		if got := enumOf(t, name); !slices.Equal(got, want) {
			t.Errorf("%s: spec has %v, models has %v", name, got, want)
		}
	}
}

// flagCodes are the flag codes of models/evidence_flags.go, in their
// order there.
var flagCodes = []string{
	evidence.FlagOutsideGeofence,
	evidence.FlagExifGPSMismatch,
	evidence.FlagNoExifGPS,
	evidence.FlagOutsideTaskWindow,
	evidence.FlagBeforeAssignment,
	evidence.FlagClockSkew,
	evidence.FlagMockedLocation,
	evidence.FlagDuplicatePhoto,
	evidence.FlagNearDuplicatePhoto,
}

// validateAs checks v, marshalled as the server marshals it, against a
// component schema.
func validateAs(t *testing.T, schema string, v any) {
	t.Helper()
	s, ok := contracttest.MustSpec(t).Components.Schemas[schema]
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
	if err := s.Value.VisitJSON(x, append(contracttest.SchemaOptions(), openapi3.VisitAsResponse())...); err != nil {
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
	seq, prev, hash := int64(1), models.AuditGenesis, strings.Repeat("ab", 32)
	validateAs(t, "AuditEntry", models.AuditEntry{ID: id(10), Seq: &seq, At: now, ActorID: inspector, ActorName: "inspector1", ActorRole: "inspector",
		DeviceID: id(11), Action: models.AuditTaskStart, Entity: models.EntityTasks, RecordID: id(9), Detail: `{"status":{"from":"assigned","to":"in_progress"}}`,
		PrevHash: &prev, Hash: &hash})
	// A refused sign-in: nobody known, no record; a tampered detail.
	validateAs(t, "AuditEntry", models.AuditEntry{ID: id(12), Seq: &seq, At: now, Action: models.AuditLoginFailed, Detail: "not json", PrevHash: &prev, Hash: &hash})
}

// jsonNames lists the JSON member names a struct decodes; the members of
// an embedded struct without a tag count as the struct's own.
func jsonNames(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" && rt.Field(i).Anonymous && rt.Field(i).Type.Kind() == reflect.Struct {
			out = append(out, jsonNames(reflect.Zero(rt.Field(i).Type).Interface())...)
			continue
		}
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
	doc := contracttest.MustSpec(t)
	for schema, v := range map[string]any{
		"LoginRequest":          auth.LoginInput{},
		"UnitInput":             items.UnitInput{},
		"UserInput":             items.UserInput{},
		"ItemInput":             items.ItemInput{},
		"SiteInput":             items.SiteInput{},
		"TemplateInput":         items.TemplateInput{},
		"QuestionInput":         models.Question{},
		"TaskInput":             items.TaskInput{},
		"EvidenceInput":         evidence.EvidenceInput{},
		"EvidenceLocationInput": models.LocationInput{},
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

// validateRequestAs checks v, marshalled as a device would send it,
// against a component schema.
func validateRequestAs(t *testing.T, schema string, v any) error {
	t.Helper()
	s, ok := contracttest.MustSpec(t).Components.Schemas[schema]
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
	return s.Value.VisitJSON(x, append(contracttest.SchemaOptions(), openapi3.VisitAsRequest())...)
}

// propertyNames lists a schema's properties, sorted.
func propertyNames(s *openapi3.Schema) []string {
	var out []string
	for p := range s.Properties {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// changesSchemas names the schema of each entity's changes in a pull.
func changesSchemas(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for entity, ref := range contracttest.MustSpec(t).Components.Schemas["SyncChanges"].Value.Properties {
		out[entity] = strings.TrimPrefix(ref.Ref, "#/components/schemas/")
	}
	return out
}

// TestSyncWireMatchesSchemas: every wire type of wire.go has exactly the
// JSON members of its schema, and the schema refuses others, as the
// server's strict decoder and the devices' stores do.
func TestSyncWireMatchesSchemas(t *testing.T) {
	doc := contracttest.MustSpec(t)
	wire := map[string]any{
		"PullRequest":            contract.PullRequest{},
		"PullResponse":           contract.PullResponse{},
		"PushRequest":            contract.PushRequest{},
		"PushResponse":           contract.PushResponse{},
		"MutationResult":         contract.MutationResult{},
		"Location":               contract.Location{},
		"TaskArgs":               contract.TaskArgs{},
		"ChecklistAnswerArgs":    contract.AnswerArgs{},
		"VerificationRecordArgs": contract.VerificationArgs{},
		"EvidenceAttachArgs":     contract.AttachArgs{},
		"NoteAddArgs":            contract.NoteArgs{},
	}
	for _, name := range changesSchemas(t) {
		wire[name] = contract.EntityChanges{}
	}
	// Each of Mutation's variants has the members of contract.Mutation.
	for _, variant := range doc.Components.Schemas["Mutation"].Value.OneOf {
		wire[strings.TrimPrefix(variant.Ref, "#/components/schemas/")] = contract.Mutation{}
	}
	for schema, v := range wire {
		ref, ok := doc.Components.Schemas[schema]
		if !ok {
			t.Errorf("no schema %s for %T", schema, v)
			continue
		}
		if got, want := propertyNames(ref.Value), jsonNames(v); !slices.Equal(got, want) {
			t.Errorf("%s: spec has %v, %T has %v", schema, got, v, want)
		}
		if ap := ref.Value.AdditionalProperties.Has; ap == nil || *ap {
			t.Errorf("%s must refuse unknown members", schema)
		}
	}
}

// TestSyncEntitiesMatchModels: a pull names exactly the entities of
// wire.go and models, each with a changes schema of its own.
func TestSyncEntitiesMatchModels(t *testing.T) {
	var got []string
	for entity, schema := range changesSchemas(t) {
		got = append(got, entity)
		if schema == "" {
			t.Errorf("SyncChanges.%s is not a reference to a changes schema", entity)
		}
	}
	sort.Strings(got)
	want := slices.Sorted(slices.Values(contract.Entities))
	if !slices.Equal(got, want) {
		t.Errorf("SyncChanges has %v, contract.Entities is %v", got, want)
	}
	var fromModels []string
	for _, e := range models.SyncEntities {
		fromModels = append(fromModels, e.Name)
	}
	if !slices.Equal(slices.Sorted(slices.Values(fromModels)), want) {
		t.Errorf("models names the entities %v, contract.Entities is %v", fromModels, contract.Entities)
	}
}

// mutationArgs maps each documented mutation name to its args schema:
// Mutation's discriminator maps the name to a variant, whose name member
// is that one name and whose args member refers to the args schema.
func mutationArgs(t *testing.T) map[string]string {
	t.Helper()
	doc := contracttest.MustSpec(t)
	m := doc.Components.Schemas["Mutation"].Value
	if m.Discriminator == nil || m.Discriminator.PropertyName != "name" {
		t.Fatal("Mutation has no discriminator on name")
	}
	if len(m.OneOf) != len(m.Discriminator.Mapping) {
		t.Errorf("Mutation has %d variants and %d discriminator mappings", len(m.OneOf), len(m.Discriminator.Mapping))
	}
	out := map[string]string{}
	for name, ref := range m.Discriminator.Mapping {
		variant, ok := doc.Components.Schemas[strings.TrimPrefix(ref.Ref, "#/components/schemas/")]
		if !ok || !slices.ContainsFunc(m.OneOf, func(s *openapi3.SchemaRef) bool { return s.Ref == ref.Ref }) {
			t.Errorf("Mutation's discriminator maps %s to %s, which is not one of its variants", name, ref.Ref)
			continue
		}
		v := variant.Value
		if got := v.Properties["name"].Value.Enum; len(got) != 1 || got[0] != name {
			t.Errorf("%s: name is %v, want [%s]", ref.Ref, got, name)
		}
		if !slices.Equal(v.Required, []string{"id", "name", "args"}) || v.AdditionalProperties.Has == nil || *v.AdditionalProperties.Has {
			t.Errorf("%s: want required [id name args] and no additional properties", ref.Ref)
		}
		out[name] = strings.TrimPrefix(v.Properties["args"].Ref, "#/components/schemas/")
	}
	return out
}

// TestMutationsMatchModels: the documented mutation names are exactly
// the server's and wire.go's, each with an args schema that the
// documented examples satisfy.
func TestMutationsMatchModels(t *testing.T) {
	doc := contracttest.MustSpec(t)
	want := slices.Sorted(slices.Values(fieldwork.MutationNames()))
	args := mutationArgs(t)
	if got := slices.Sorted(maps.Keys(args)); !slices.Equal(got, want) {
		t.Errorf("Mutation's variants are named %v, fieldwork.MutationNames() is %v", got, want)
	}
	wire := []string{contract.MutTaskStart, contract.MutTaskComplete, contract.MutChecklistAnswer,
		contract.MutVerificationRecord, contract.MutEvidenceAttach, contract.MutNoteAdd}
	if got := slices.Sorted(slices.Values(wire)); !slices.Equal(got, want) {
		t.Errorf("wire.go names the mutations %v, fieldwork.MutationNames() is %v", got, want)
	}
	for name, schema := range args {
		if _, ok := doc.Components.Schemas[schema]; !ok {
			t.Errorf("%s has args %s, which is no schema", name, schema)
		}
	}
	// A mutation with a misspelt name or member is refused by the schema.
	for _, bad := range []string{
		`{"id": 1, "name": "note.ad", "args": {"id": "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a01", "task_id": "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a02", "text": "x"}}`,
		`{"id": 1, "name": "task.start", "args": {"taskId": "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a02"}}`,
		`{"id": 1, "name": "task.start", "args": {"id": "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a01", "task_id": "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a02", "text": "x"}}`,
	} {
		if err := validateRequestAs(t, "Mutation", json.RawMessage(bad)); err == nil {
			t.Errorf("Mutation accepts %s", bad)
		}
	}
	good := `{"id": 1, "name": "note.add", "args": {"id": "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a01", "task_id": "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a02", "text": "x"}}`
	if err := validateRequestAs(t, "Mutation", json.RawMessage(good)); err != nil {
		t.Errorf("Mutation refuses %s: %v", good, err)
	}

	// The documented push examples carry arguments that fit their
	// mutation.
	n := 0
	for name, ex := range doc.Paths.Find("/v1/sync/push").Post.RequestBody.Value.Content.Get("application/json").Examples {
		var req contract.PushRequest
		raw, err := json.Marshal(ex.Value.Value)
		if err != nil {
			t.Fatalf("example %s: %v", name, err)
		}
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatalf("example %s: %v", name, err)
		}
		for _, m := range req.Mutations {
			n++
			if err := validateRequestAs(t, args[m.Name], m.Args); err != nil {
				t.Errorf("example %s: mutation %d (%s): %v", name, m.ID, m.Name, err)
			}
		}
	}
	if n == 0 {
		t.Error("no documented push example carries a mutation")
	}
}

// TestMutationArgsMatchWire: the argument values of wire.go, as the Go
// client sends them, satisfy their schemas, and the schemas refuse what
// the server refuses.
func TestMutationArgsMatchWire(t *testing.T) {
	id := func(n byte) string {
		return "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a" + string([]byte{'0' + n/10, '0' + n%10})
	}
	recorded := time.Date(2024, 11, 19, 3, 14, 2, 512000000, time.FixedZone("CST", 8*3600))
	fix := contract.Location{Lat: 30.29318, Lng: 120.16395, Datum: "bd09", AccuracyM: 8.5}
	for _, tc := range []struct {
		schema string
		v      any
		valid  bool
	}{
		{"TaskArgs", contract.TaskArgs{TaskID: id(1)}, true},
		{"TaskArgs", contract.TaskArgs{TaskID: "42"}, false},
		{"ChecklistAnswerArgs", contract.AnswerArgs{ID: id(2), TaskID: id(1), QuestionID: "q1", Value: json.RawMessage(`true`)}, true},
		{"ChecklistAnswerArgs", contract.AnswerArgs{ID: id(2), TaskID: id(1), QuestionID: "q2", Value: json.RawMessage(`12.5`)}, true},
		{"ChecklistAnswerArgs", contract.AnswerArgs{ID: id(2), TaskID: id(1), QuestionID: "q3", Value: json.RawMessage(`"` + id(3) + `"`)}, true},
		{"VerificationRecordArgs", contract.VerificationArgs{ID: id(4), TaskID: id(1), Conclusion: models.ConclusionSuspectedFake, Location: fix, RecordedAt: recorded, EvidenceIDs: []string{id(3)}}, true},
		{"VerificationRecordArgs", contract.VerificationArgs{ID: id(4), TaskID: id(1), Conclusion: models.ConclusionRectified, Notes: "已整改", Location: fix, RecordedAt: recorded}, true},
		{"VerificationRecordArgs", contract.VerificationArgs{ID: id(4), TaskID: id(1), Conclusion: "fixed", Location: fix, RecordedAt: recorded}, false},
		{"VerificationRecordArgs", contract.VerificationArgs{ID: id(4), TaskID: id(1), Conclusion: models.ConclusionRectified, Location: contract.Location{Lat: 91}, RecordedAt: recorded}, false},
		{"EvidenceAttachArgs", contract.AttachArgs{EvidenceID: id(3), VerificationID: id(4)}, true},
		{"NoteAddArgs", contract.NoteArgs{ID: id(5), TaskID: id(1), Text: "闸门已关闭"}, true},
		{"NoteAddArgs", contract.NoteArgs{ID: id(5), TaskID: id(1)}, false},
	} {
		err := validateRequestAs(t, tc.schema, tc.v)
		if (err == nil) != tc.valid {
			t.Errorf("%s %+v: valid = %v, want %v: %v", tc.schema, tc.v, err == nil, tc.valid, err)
		}
	}
}

// TestFieldRecordsMatchModels: the records devices create, as the server
// sends them in a pull, match their schemas; and a whole page built from
// the wire types does too.
func TestFieldRecordsMatchModels(t *testing.T) {
	now := time.Date(2024, 11, 19, 3, 15, 40, 118000000, time.UTC)
	id := func(n byte) string {
		return "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a" + string([]byte{'0' + n/10, '0' + n%10})
	}
	f := func(v float64) *float64 { return &v }
	verification := models.Verification{ID: id(1), TaskID: id(2), ItemID: id(3), InspectorID: id(4), DeviceID: id(5), UnitPath: "/x/",
		Conclusion: models.ConclusionPartiallyRectified, Notes: "尚未联网", Lat: 30.29, Lng: 120.16, AccuracyM: 8.5, Mocked: true,
		Datum: models.DatumGCJ02, OriginalLat: f(30.2877), OriginalLng: f(120.1648),
		RecordedAt: now.Add(-time.Minute), EvidenceIDs: models.StringList{id(6)}, Version: 2, CreatedAt: now, UpdatedAt: now}
	validateAs(t, "Verification", verification)
	validateAs(t, "Verification", models.Verification{ID: id(1), TaskID: id(2), ItemID: id(3), InspectorID: id(4), DeviceID: id(5),
		Conclusion: models.ConclusionNotRectified, Datum: models.DatumWGS84, RecordedAt: now, EvidenceIDs: models.StringList{}, Version: 1, CreatedAt: now, UpdatedAt: now})
	var answers []models.Answer
	for i, v := range []string{`true`, `12.5`, `"排口已封堵"`, `"` + id(6) + `"`, ``, `null`} {
		a := models.Answer{ID: id(7), TaskID: id(2), QuestionID: "q" + string(rune('1'+i)), InspectorID: id(4), DeviceID: id(5), UnitPath: "/x/",
			Value: models.RawJSON(v), Version: 1, CreatedAt: now, UpdatedAt: now}
		validateAs(t, "Answer", a)
		answers = append(answers, a)
	}
	note := models.Note{ID: id(8), TaskID: id(2), AuthorID: id(4), DeviceID: id(5), UnitPath: "/x/", Text: "闸门已关闭", Version: 1, CreatedAt: now, UpdatedAt: now}
	validateAs(t, "Note", note)
	verificationID := id(1)
	// Evidence a verification named before the device declared it, as
	// linkEvidence makes it.
	attached := models.Evidence{ID: id(6), TaskID: id(2), VerificationID: &verificationID, InspectorID: id(4), DeviceID: id(5), SiteID: id(10),
		UnitPath: "/x/", Kind: "photo", Status: models.EvidencePending, Flags: models.Flags{}, Version: 1, CreatedAt: now, UpdatedAt: now}
	validateAs(t, "Evidence", attached)
	for _, kind := range models.EvidenceKinds {
		validateAs(t, "Evidence", models.Evidence{ID: id(9), TaskID: id(2), InspectorID: id(4), DeviceID: id(5), SiteID: id(10), Kind: kind,
			Status: models.EvidencePending, SHA256: strings.Repeat("ab", 32), Size: 1, ContentType: "image/png", Flags: models.Flags{},
			Version: 1, CreatedAt: now, UpdatedAt: now})
	}

	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	inspector := id(4)
	task := models.InspectionTask{ID: id(2), ItemID: id(3), SiteID: id(10), AssigneeID: &inspector, AssignedAt: &now, Kind: "progress_check",
		TemplateID: id(11), WindowStart: now, DueAt: now.Add(time.Hour), Status: models.TaskInProgress, Version: 3, CreatedAt: now, UpdatedAt: now}
	page := contract.PullResponse{
		Changes: map[string]*contract.EntityChanges{
			models.EntityTasks:         {Upserts: []json.RawMessage{raw(task)}, Removes: []string{id(12)}},
			models.EntityVerifications: {Upserts: []json.RawMessage{raw(verification)}, Removes: []string{}},
			models.EntityAnswers:       {Upserts: []json.RawMessage{raw(answers[0]), raw(answers[4])}, Removes: []string{}},
			models.EntityNotes:         {Upserts: []json.RawMessage{raw(note)}, Removes: []string{}},
			models.EntityEvidence:      {Upserts: []json.RawMessage{raw(attached)}, Removes: []string{id(13)}},
			models.EntityDecisions:     {Upserts: []json.RawMessage{}, Removes: []string{id(14)}},
		},
		Cursor: "eyJzIjo0MTJ9.q3Yx7b2LkPz0m1Vd8sQeNw", HasMore: true, LastMutationID: 9,
	}
	validateAs(t, "PullResponse", page)
	validateAs(t, "PullResponse", contract.PullResponse{Changes: map[string]*contract.EntityChanges{}, Reset: true})

	// Records are checked per entity: a note among the evidence is not.
	page.Changes[models.EntityEvidence].Upserts = append(page.Changes[models.EntityEvidence].Upserts, raw(note))
	if err := validateRequestAs(t, "PullResponse", page); err == nil {
		t.Error("PullResponse accepts a note among the evidence")
	}

	version := int64(1)
	validateAs(t, "PushResponse", contract.PushResponse{LastMutationID: 9, Results: []contract.MutationResult{
		{ID: 8, Status: contract.StatusApplied, ServerVersion: &version},
		{ID: 9, Status: contract.StatusRejected, Code: string(models.CodeTaskClosed), Message: "the task is cancelled"},
		{ID: 10, Status: contract.StatusApplied, Message: "applied earlier; its result is no longer kept"},
	}})
	validateAs(t, "PushResponse", contract.PushResponse{Results: []contract.MutationResult{}})
}

// alwaysSent lists the JSON members a struct always marshals: those
// without omitempty.
func alwaysSent(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, opts, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" && rt.Field(i).Anonymous && rt.Field(i).Type.Kind() == reflect.Struct {
			out = append(out, alwaysSent(reflect.Zero(rt.Field(i).Type).Interface())...)
			continue
		}
		if name == "-" || !rt.Field(i).IsExported() || slices.Contains(strings.Split(opts, ","), "omitempty") {
			continue
		}
		if name == "" {
			name = rt.Field(i).Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestEvidenceRecordsMatchModels: the evidence records and the answer to a
// declaration have exactly the members the server marshals, every member
// without omitempty is required, and records as the pipeline leaves them
// match, while records it never makes do not.
func TestEvidenceRecordsMatchModels(t *testing.T) {
	doc := contracttest.MustSpec(t)
	for schema, v := range map[string]any{
		"Evidence":         models.Evidence{},
		"EvidenceLocation": models.EvidenceLocation{},
		"MediaSummary":     models.MediaSummary{},
		"Flag":             models.Flag{},
		"UploadTarget":     models.UploadTarget{},
		"MultipartPlan":    evidence.MultipartPlan{},
		"UploadedPart":     models.UploadedPart{},
		"PartTarget":       evidence.PartTarget{},
		// api.evidenceCreated, which is not exported.
		"EvidenceCreated": struct {
			Evidence models.Evidence     `json:"evidence"`
			Upload   models.UploadTarget `json:"upload"`
		}{},
	} {
		s := doc.Components.Schemas[schema].Value
		if got, want := propertyNames(s), jsonNames(v); !slices.Equal(got, want) {
			t.Errorf("%s: spec has %v, %T marshals %v", schema, got, v, want)
		}
		if got, want := slices.Sorted(slices.Values(s.Required)), alwaysSent(v); !slices.Equal(got, want) {
			t.Errorf("%s: spec requires %v, %T always sends %v", schema, got, v, want)
		}
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("%s must refuse unknown members", schema)
		}
	}
	if got := enumOf(t, "EvidenceKind"); !slices.Equal(doc.Components.Schemas["EvidenceInput"].Value.Properties["kind"].Value.Enum, anys(got)) {
		t.Errorf("EvidenceInput.kind's enum is not EvidenceKind's %v", got)
	}
	declared := doc.Components.Schemas["EvidenceInput"].Value.Properties["content_type"].Value.Enum
	if got := doc.Components.Schemas["Evidence"].Value.Properties["content_type"].Value.Enum; !slices.Equal(got, append([]any{""}, declared...)) {
		t.Errorf("Evidence.content_type's enum %v is not EvidenceInput's %v and the empty string", got, declared)
	}

	now := time.Date(2024, 11, 19, 6, 2, 11, 907000000, time.UTC)
	id := func(n byte) string {
		return "0190f3c4-5d6e-7f80-9a1b-2c3d4e5f6a" + string([]byte{'0' + n/10, '0' + n%10})
	}
	f := func(v float64) *float64 { return &v }
	verification := id(1)
	captured := now.Add(-3 * time.Hour)
	taken := time.Date(2024, 11, 19, 11, 12, 55, 0, time.FixedZone("", 8*3600))
	sha := strings.Repeat("7f", 32)
	declared2 := models.Evidence{ID: id(6), TaskID: id(2), VerificationID: &verification, InspectorID: id(4), DeviceID: id(5), SiteID: id(10),
		UnitPath: "/x/", Kind: "photo", Status: models.EvidencePending, SHA256: sha, Size: 3481205, ContentType: "image/jpeg",
		CapturedAt: &captured, Location: &models.EvidenceLocation{Lat: 30.29571, Lng: 120.16418, Datum: models.DatumWGS84, AccuracyM: 6, AltitudeM: f(12.4)},
		Flags: models.Flags{}, ObjectKey: "evidence/" + id(6), Version: 2, CreatedAt: now, UpdatedAt: now}
	validateAs(t, "Evidence", declared2)

	var flags models.Flags
	for i, code := range flagCodes {
		fl := models.Flag{Code: code, Value: float64(i) * 1.5, Unit: []string{"m", "m", "", "h", "h", "s", "", "", "bits"}[i], Detail: "d"}
		if code == evidence.FlagDuplicatePhoto || code == evidence.FlagNearDuplicatePhoto {
			fl.Ref = id(11)
		}
		flags = append(flags, fl)
	}
	verified := declared2
	verified.Status, verified.CompletedAt, verified.Version = models.EvidenceVerified, &now, 3
	verified.Media = &models.MediaSummary{ContentType: "image/jpeg", Width: 4000, Height: 3000, HasGPS: true, Lat: f(30.295744), Lng: f(120.1642),
		AltitudeM: f(12), TakenAt: &taken, Make: "HUAWEI", Model: "ELS-AN00", Orientation: 6, HasThumbnail: true}
	verified.Flags = flags
	verified.ThumbKey, verified.PHash = "thumbs/"+id(6)+".jpg", new(int64)
	validateAs(t, "Evidence", verified)

	noEXIF := verified
	noEXIF.Media = &models.MediaSummary{ContentType: "image/heic", Width: 1, Height: 1, TakenAt: &now, TakenAtLocal: true}
	noEXIF.Location, noEXIF.CapturedAt, noEXIF.VerificationID = nil, nil, nil
	validateAs(t, "Evidence", noEXIF)

	document := verified
	document.Kind, document.ContentType, document.Media, document.Flags = "document", "application/pdf", nil, models.Flags{}
	validateAs(t, "Evidence", document)

	rejected := declared2
	rejected.Status, rejected.CompletedAt, rejected.Version = models.EvidenceRejected, &now, 3
	rejected.RejectCode, rejected.RejectReason = string(models.CodeMediaUnsupported), "the file is text/plain; charset=utf-8; only JPEG, PNG and HEIC photos are accepted"
	validateAs(t, "Evidence", rejected)

	// Records the server never makes.
	for name, v := range map[string]models.Evidence{
		"verified with a reject code": func() models.Evidence { e := verified; e.RejectCode = "media_unreadable"; return e }(),
		"rejected without a code":     func() models.Evidence { e := rejected; e.RejectCode = ""; return e }(),
		"unknown flag": func() models.Evidence {
			e := verified
			e.Flags = models.Flags{{Code: "blurry", Unit: ""}}
			return e
		}(),
		"unknown flag unit": func() models.Evidence {
			e := verified
			e.Flags = models.Flags{{Code: evidence.FlagOutsideGeofence, Value: 3, Unit: "km"}}
			return e
		}(),
		"flags null":    func() models.Evidence { e := verified; e.Flags = nil; return e }(),
		"short sha256":  func() models.Evidence { e := verified; e.SHA256 = "abc"; return e }(),
		"gif":           func() models.Evidence { e := verified; e.ContentType = "image/gif"; return e }(),
		"orientation 9": func() models.Evidence { e := verified; m := *e.Media; m.Orientation = 9; e.Media = &m; return e }(),
		"no device":     func() models.Evidence { e := verified; e.DeviceID = ""; return e }(),
		"media of a pdf type": func() models.Evidence {
			e := verified
			m := *e.Media
			m.ContentType = "application/pdf"
			e.Media = &m
			return e
		}(),
	} {
		if err := validateRequestAs(t, "Evidence", v); err == nil {
			t.Errorf("Evidence accepts a record %s", name)
		}
	}

	// The three upload targets the server hands out.
	validateAs(t, "UploadTarget", models.UploadTarget{Method: "PUT", URL: "/v1/evidence/" + id(6) + "/content",
		Headers: map[string]string{"Content-Type": "image/jpeg"}})
	validateAs(t, "UploadTarget", models.UploadTarget{Method: "PUT", URL: "https://minio.example/bucket/evidence/" + id(6) + "?X-Amz-Signature=x",
		Headers: map[string]string{"Content-Type": "image/jpeg", "Content-Length": "3481205", "X-Amz-Checksum-Sha256": "f2Li"}, ExpiresAt: now})
	validateAs(t, "UploadTarget", models.UploadTarget{})
	validateAs(t, "MultipartPlan", evidence.MultipartPlan{UploadID: "u1", PartSize: evidence.MinPartSize, Parts: 3,
		Received: []models.UploadedPart{{Number: 1, Size: evidence.MinPartSize, ETag: "5f36"}},
		Targets:  []evidence.PartTarget{{Number: 2, UploadTarget: models.UploadTarget{Method: "PUT", URL: "https://x/v1/blobs/t", Headers: map[string]string{}, ExpiresAt: now}}}})
	validateAs(t, "MultipartPlan", evidence.MultipartPlan{UploadID: "u1", PartSize: 2 * evidence.MinPartSize, Parts: 1,
		Received: []models.UploadedPart{}, Targets: []evidence.PartTarget{}})
	validateAs(t, "PullResponse", contract.PullResponse{Changes: map[string]*contract.EntityChanges{
		models.EntityEvidence: {Upserts: []json.RawMessage{mustJSON(t, verified), mustJSON(t, rejected), mustJSON(t, declared2)}, Removes: []string{}},
	}, Cursor: "c"})

	// A declaration as the Go client would send it.
	in := evidence.EvidenceInput{ID: id(6), TaskID: id(2), VerificationID: &verification, Kind: "photo", SHA256: strings.ToUpper(sha), Size: 3481205,
		ContentType: "image/heic", CapturedAt: &taken, Location: &models.LocationInput{Lat: 30.29571, Lng: 120.16418, Datum: models.DatumGCJ02, AccuracyM: 6}}
	if err := validateRequestAs(t, "EvidenceInput", in); err != nil {
		t.Errorf("EvidenceInput refuses %+v: %v", in, err)
	}
	in.Size = 0
	if err := validateRequestAs(t, "EvidenceInput", in); err == nil {
		t.Error("EvidenceInput accepts a size of 0")
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDispatchReportMatchesModels: the report the server encodes, full
// and empty, is the documented one.
func TestDispatchReportMatchesModels(t *testing.T) {
	now := time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
	unit, item := "2c8f6a10-4d5e-4b7a-9c3d-8e1f0a2b3c4d", "9a4f1c2e-7b3d-4e5f-8a6b-0c1d2e3f4a5b"
	counts := reporting.DispatchCounts{Items: 2, ByStatus: map[string]int{}, NewlyClosed: 1, Overdue: 1, Rejected: 3}
	for _, s := range models.ItemMachine.Statuses() {
		counts.ByStatus[s] = 0
	}
	counts.ByStatus[models.ItemAccepted] = 2
	validateAs(t, "DispatchReport", reporting.DispatchReport{
		Period: reporting.PeriodBimonthly, Start: now.AddDate(0, -2, 0), End: now, AsOf: now, Total: counts,
		Units: []reporting.DispatchUnit{{UnitID: unit, UnitCode: "CB", UnitName: "城北区", DispatchCounts: counts,
			Categories: []reporting.DispatchCategory{{Category: "水污染", DispatchCounts: counts}}}},
		Categories: []reporting.DispatchCategory{{Category: "水污染", DispatchCounts: counts}},
		Progress: []reporting.DispatchProgress{{ItemID: item, Code: "DC-1", Title: "排口超标", UnitID: unit, Category: "水污染", Total: 2,
			Notes: []reporting.DispatchNote{
				{At: now, Kind: reporting.NoteKindVerification, Author: "王芳", Conclusion: models.ConclusionRectified, Text: "已整改"},
				{At: now, Kind: reporting.NoteKindNote, Author: "王芳", Text: "施工中"},
			}}},
		Extensions: []reporting.DispatchExtension{{ItemID: item, Code: "DC-1", Title: "排口超标", UnitID: unit, Status: models.ExtensionApproved,
			Reason: "汛期停工", OriginalDeadline: now, PreviousDeadline: now, RequestedDeadline: now.AddDate(0, 2, 0), RequestedAt: now, DecidedAt: &now}},
	})
	empty := reporting.DispatchCounts{ByStatus: counts.ByStatus}
	validateAs(t, "DispatchReport", reporting.DispatchReport{Period: reporting.PeriodMonthly, Start: now, End: now, AsOf: now, Total: empty,
		Units: []reporting.DispatchUnit{}, Categories: []reporting.DispatchCategory{}, Progress: []reporting.DispatchProgress{}, Extensions: []reporting.DispatchExtension{}})
}
