package api_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestBadInput sends every kind of bad request the API must refuse, and
// checks each gets its own code and writes nothing.
func TestBadInput(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testBadInput(t, newEnv(t, dialect)) })
	}
}

func testBadInput(t *testing.T, e *env) {
	f := e.fx
	item := func(over map[string]any) map[string]any {
		m := map[string]any{"code": "NEW-1", "title": "危废", "source": "省级督察", "category": "危险废物", "target": "规范",
			"measures": "建台账", "responsible_unit_id": f.countyA.ID, "first_responsible": "局长", "deadline": e.now.AddDate(0, 3, 0)}
		for k, v := range over {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	site := func(over map[string]any) map[string]any {
		m := map[string]any{"unit_id": f.countyA.ID, "name": "堆场", "kind": "waste_yard", "lat": 29.7, "lng": 116.0, "radius_m": 80}
		for k, v := range over {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	square := [][]float64{{116, 29.7}, {116.01, 29.7}, {116.01, 29.71}, {116, 29.71}}
	bowtie := [][]float64{{116, 29.7}, {116.01, 29.71}, {116.01, 29.7}, {116, 29.71}, {116, 29.7}}
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"malformed JSON", "POST", "/v1/items", `{"code": "X",`, 400, "malformed_json"},
		{"not JSON", "POST", "/v1/items", `hello`, 400, "malformed_json"},
		{"empty body", "POST", "/v1/items", ``, 400, "malformed_json"},
		{"two JSON values", "POST", "/v1/items", `{} {}`, 400, "malformed_json"},
		{"unknown field", "POST", "/v1/items", item(map[string]any{"colour": "red"}), 400, "unknown_field"},
		{"status is not settable", "POST", "/v1/items", item(map[string]any{"status": "accepted"}), 400, "unknown_field"},
		{"wrong type", "POST", "/v1/items", item(map[string]any{"title": 42}), 400, "invalid_type"},
		{"bad time", "POST", "/v1/items", item(map[string]any{"deadline": "next week"}), 400, "invalid_date"},
		{"date in another order", "POST", "/v1/items", item(map[string]any{"deadline": "31/12/2026"}), 400, "invalid_date"},
		{"date as a number", "POST", "/v1/items", item(map[string]any{"deadline": 20261231}), 400, "invalid_date"},
		{"bad issue date", "POST", "/v1/items", item(map[string]any{"issued_at": "2026-02-30"}), 400, "invalid_date"},
		{"bad review cadence", "POST", "/v1/items", item(map[string]any{"deadline": nil, "review_cadence": "weekly"}), 400, "invalid_enum"},
		{"no deadline and no cadence", "POST", "/v1/items", item(map[string]any{"deadline": nil}), 400, "required"},
		{"deadline before the issue", "POST", "/v1/items", item(map[string]any{"issued_at": "2026-06-01", "deadline": "2026-05-31"}), 400, "deadline_before_issue"},
		{"deeply nested", "POST", "/v1/items", strings.Repeat("[", 100) + strings.Repeat("]", 100), 400, "malformed_json"},
		{"missing field", "POST", "/v1/items", item(map[string]any{"title": nil}), 400, "required"},
		{"control character", "POST", "/v1/items", item(map[string]any{"title": "整改\u001b[2J完成"}), 400, "validation_failed"},
		{"vertical tab", "POST", "/v1/items", item(map[string]any{"measures": "1. 截污\u000b2. 清淤"}), 400, "validation_failed"},
		{"bad enum", "POST", "/v1/items", item(map[string]any{"supervision_level": "urgent"}), 400, "invalid_enum"},
		{"deadline past the year 9999 in UTC", "POST", "/v1/items", item(map[string]any{"deadline": "9999-12-31T23:59:59-14:00"}), 400, "invalid_date"},
		{"task due in the year 10000", "POST", "/v1/tasks", map[string]any{"item_id": f.itemA.ID, "site_id": f.siteA.ID, "kind": "progress_check", "template_id": f.tmpl.ID, "window_start": e.now, "due_at": "9999-12-31T23:00:00-12:00"}, 400, "invalid_date"},
		{"audit to the year 10000", "GET", "/v1/audit?to=9999-12-31T23:59:59-14:00", nil, 400, "invalid_date"},
		{"dispatch from the year 0", "GET", "/v1/reports/dispatch?start=0001-01-01", nil, 400, "invalid_date"},
		{"duplicate item code", "POST", "/v1/items", item(map[string]any{"code": f.itemA.Code}), 409, "item_code_taken"},
		{"unknown unit", "POST", "/v1/items", item(map[string]any{"responsible_unit_id": uuid.NewString()}), 404, "not_found"},
		{"unit id not a uuid", "POST", "/v1/items", item(map[string]any{"responsible_unit_id": "../etc"}), 400, "invalid_id"},
		{"lat out of range", "POST", "/v1/sites", site(map[string]any{"lat": 91.5}), 400, "lat_out_of_range"},
		{"lng out of range", "POST", "/v1/sites", site(map[string]any{"lng": -181}), 400, "lng_out_of_range"},
		{"no geofence", "POST", "/v1/sites", site(map[string]any{"radius_m": nil}), 400, "geofence_missing"},
		{"polygon not closed", "POST", "/v1/sites", site(map[string]any{"polygon": map[string]any{"type": "Polygon", "coordinates": [][][]float64{square}}}), 400, "polygon_not_closed"},
		{"polygon self-intersects", "POST", "/v1/sites", site(map[string]any{"polygon": map[string]any{"type": "Polygon", "coordinates": [][][]float64{bowtie}}}), 400, "polygon_self_intersects"},
		{"polygon wrong type", "POST", "/v1/sites", site(map[string]any{"polygon": map[string]any{"type": "Point", "coordinates": [][][]float64{}}}), 400, "geofence_invalid"},
		{"polygon position without latitude", "POST", "/v1/sites", site(map[string]any{"polygon": map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{116}, {116.01, 29.7}, {116.01, 29.71}, {116}}}}}), 400, "geofence_invalid"},
		{"polygon with a spike", "POST", "/v1/sites", site(map[string]any{"polygon": map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{116, 29.7}, {116.01, 29.7}, {116.02, 29.7}, {116, 29.7}}}}}), 400, "polygon_self_intersects"},
		{"polygon hole outside", "POST", "/v1/sites", site(map[string]any{"polygon": map[string]any{"type": "Polygon", "coordinates": [][][]float64{append(square, square[0]), {{117, 29.7}, {117.01, 29.7}, {117.01, 29.71}, {117, 29.7}}}}}), 400, "geofence_invalid"},
		{"weak password", "POST", "/v1/users", map[string]any{"username": "newbie", "password": "short", "role": "inspector", "unit_id": f.deptA.ID}, 400, "weak_password"},
		{"duplicate username", "POST", "/v1/users", map[string]any{"username": "insp1", "password": "long-enough-pw", "role": "inspector", "unit_id": f.deptA.ID}, 409, "username_taken"},
		{"unknown role", "POST", "/v1/users", map[string]any{"username": "newbie", "password": "long-enough-pw", "role": "boss", "unit_id": f.deptA.ID}, 400, "invalid_enum"},
		{"stale version", "PATCH", "/v1/items/" + f.itemA.ID, map[string]any{"title": "新", "version": 99}, 409, "version_conflict"},
		{"no version", "PATCH", "/v1/items/" + f.itemA.ID, map[string]any{"title": "新"}, 400, "required"},
		{"unit move", "PATCH", "/v1/units/" + f.deptA.ID, map[string]any{"parent_id": f.countyB.ID, "version": 1}, 400, "unit_parent_fixed"},
		{"assign to a supervisor", "POST", "/v1/tasks/" + f.taskB.ID + "/assign", map[string]any{"assignee_id": f.users["supa"].ID, "version": 1}, 400, "assignee_not_inspector"},
		{"due before window", "POST", "/v1/tasks", map[string]any{"item_id": f.itemA.ID, "site_id": f.siteA.ID, "kind": "progress_check", "template_id": f.tmpl.ID, "window_start": e.now, "due_at": e.now.AddDate(0, 0, -1)}, 400, "task_window_invalid"},
		{"cancel twice", "POST", "/v1/tasks/" + f.taskB.ID + "/cancel", map[string]any{"version": 1}, 200, ""},
		{"illegal transition", "POST", "/v1/tasks/" + f.taskB.ID + "/cancel", map[string]any{"version": 2}, 409, "task_transition_cancelled_to_cancelled"},
		{"bad page token", "GET", "/v1/items?page_token=" + base64.RawURLEncoding.EncodeToString([]byte("x' OR 1=1")), nil, 400, "invalid_page_cursor"},
		{"bad limit", "GET", "/v1/items?limit=-3", nil, 400, "validation_failed"},
		{"limit too large", "GET", "/v1/items?limit=100000", nil, 400, "validation_failed"},
		{"bad filter", "GET", "/v1/items?status=done", nil, 400, "invalid_enum"},
		{"bad id in path", "GET", "/v1/items/1%20OR%201=1", nil, 404, "not_found"},
		{"unknown route", "GET", "/v1/nothing", nil, 404, "route_not_found"},
	}
	before := counts(t, e)
	for _, c := range cases {
		r := e.do("admin", c.method, c.path, c.body)
		if r.Status != c.status || (c.code != "" && r.code(t) != c.code) {
			t.Errorf("%s: got %d %q, want %d %q: %.300s", c.name, r.Status, r.code(t), c.status, c.code, r.Body)
		}
	}
	// A supervisor cannot reach outside the unit through a task's site or
	// assignee, and an item with tasks cannot move to another unit.
	for name, c := range map[string]struct {
		who, method, path string
		body              any
		status            int
		code              string
	}{
		"site of another county": {"supa", "POST", "/v1/tasks", map[string]any{"item_id": f.itemA.ID, "site_id": f.siteB.ID, "kind": "progress_check",
			"template_id": f.tmpl.ID, "window_start": e.now, "due_at": e.now.AddDate(0, 0, 3)}, 404, "not_found"},
		"item with tasks moves": {"admin", "PATCH", "/v1/items/" + f.itemA.ID, map[string]any{"responsible_unit_id": f.countyB.ID, "version": 1}, 409, "item_has_tasks"},
	} {
		r := e.do(c.who, c.method, c.path, c.body)
		if r.Status != c.status || r.code(t) != c.code {
			t.Errorf("%s: got %d %q, want %d %q: %.300s", name, r.Status, r.code(t), c.status, c.code, r.Body)
		}
	}
	after := counts(t, e)
	if before != after {
		t.Fatalf("bad input wrote records: before %v, after %v", before, after)
	}
}

// counts returns how many records of each kind exist.
func counts(t *testing.T, e *env) [6]int64 {
	t.Helper()
	var out [6]int64
	err := e.svc.Store.Tx(context.Background(), func(tx models.Tx) error {
		for i, m := range []any{&models.Unit{}, &models.User{}, &models.RectificationItem{}, &models.Site{}, &models.ChecklistTemplate{}, &models.InspectionTask{}} {
			n, err := tx.Count(m, nil)
			if err != nil {
				return err
			}
			out[i] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOversizedBody goes through a real listener: the body limit is
// enforced by the HTTP server before routing, which Fiber's in-memory
// app.Test does not reproduce. The client sends its whole body, as a
// phone does; the server refuses on the declared length, reads and drops
// the rest (drainLimit) so that the client sees the answer rather than a
// reset, and closes the connection. (A body that stops arriving is
// TestAttackStalledUpload's.)
func TestOversizedBody(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	addr := strings.TrimPrefix(e.listen(), "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"code": "BIG-1", "description": "` + strings.Repeat("长", 400000) + `"}`
	go fmt.Fprintf(conn, "POST /v1/items HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		addr, e.tokens["admin"], len(body), body)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if err := contracttest.ValidateResponse("POST", "/v1/items", res.StatusCode, res.Header, b); err != nil {
		t.Error(err)
	}
	if res.StatusCode != 413 || !strings.Contains(string(b), `"code":"body_too_large"`) {
		t.Fatalf("got %d %s, want 413 body_too_large", res.StatusCode, b)
	}
	if !res.Close {
		t.Error("the connection stays open after a refused body")
	}
	if n := counts(t, e)[2]; n != 2 {
		t.Fatalf("%d items after an oversized request, want the fixture's 2", n)
	}
}

// TestUnsupportedMediaType sends a form instead of JSON.
func TestUnsupportedMediaType(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	req := httptest.NewRequest("POST", "/v1/units", strings.NewReader("code=X&name=Y"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+e.tokens["admin"])
	res, err := e.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if err := contracttest.ValidateResponse("POST", "/v1/units", res.StatusCode, res.Header, b); err != nil {
		t.Error(err)
	}
	if res.StatusCode != 415 || !strings.Contains(string(b), `"code":"unsupported_media_type"`) {
		t.Fatalf("got %d %s, want 415 unsupported_media_type", res.StatusCode, b)
	}
}
