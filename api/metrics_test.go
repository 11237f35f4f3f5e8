package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// withMetrics rebuilds the env's server with a registry of its own, as
// fieldsyncd does, and returns the registry.
func withMetrics(t *testing.T, e *env) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	e.cfg.Metrics = reg
	e.srv = api.New(e.cfg)
	if err := e.sync.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(e.svc.Store.(*storage.DB).PoolCollector())
	return reg
}

// scrape asks the metrics handler for /metrics, checks the answer
// against openapi.yaml and parses it.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	api.MetricsHandler(reg, slog.New(slog.NewTextHandler(io.Discard, nil))).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.Bytes()
	if err := contracttest.ValidateResponse("GET", "/metrics", rec.Code, rec.Header(), body); err != nil {
		t.Errorf("GET /metrics → %d does not match openapi.yaml: %v", rec.Code, err)
	}
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s\n%s", rec.Code, rec.Header().Get("Content-Type"), body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("GET /metrics is not the text exposition format: %v", err)
	}
	return mfs
}

// sample finds the value of the family's series whose labels include
// want; ok is false when there is none.
func sample(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (v float64, ok bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
series:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

var uuidInLabel = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-`)

// TestMetrics: after a pull, a push and an upload, /metrics reports every
// family operators alert on, requests are labelled by route pattern (a
// path nobody routes is "unmatched"), and the answer is the documented
// one; the API's own address does not serve it.
func TestMetrics(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) { testMetrics(t, newEnv(t, dialect)) })
	}
}

func testMetrics(t *testing.T, e *env) {
	reg := withMetrics(t, e)
	ctx := context.Background()
	client := uuid.NewString()
	pull := func(cursor any) map[string]any {
		return e.must(200, "insp1", "POST", "/v1/sync/pull", map[string]any{"client_id": client, "cursor": cursor, "schema_version": 1})
	}
	first := pull(nil)
	e.must(200, "insp1", "POST", "/v1/sync/push", map[string]any{"client_id": client, "schema_version": 1, "mutations": []map[string]any{
		{"id": 1, "name": "note.add", "args": map[string]any{"id": uuid.NewString(), "task_id": e.fx.task1.ID, "text": "到场"}},
		{"id": 2, "name": "task.start", "args": map[string]any{"task_id": e.fx.task2.ID}}, // insp2's task: rejected
	}})
	pull(first["cursor"])
	photo := readPhoto(t, "DSCN0010.jpg")
	e.upload("insp1", must(items.New(e.svc).GetTask(ctx, system, e.fx.task1.ID)), photo, "image/jpeg", nil)
	e.must(200, "supa", "GET", "/v1/items/"+e.fx.itemA.ID, nil)
	e.do("supa", "GET", "/v1/no-such-thing/"+uuid.NewString(), nil)
	// Changes committed unnumbered, as a server of an earlier version
	// wrote them: the sequencer numbers one, the other is left for the
	// gauge.
	db := e.svc.Store.(*storage.DB)
	storagetest.CommitUnnumbered(t, db, []models.Change{{ID: uuid.NewString(), Entity: models.EntitySites, RecordID: uuid.NewString(), Version: 1, Op: models.OpUpsert, Scope: models.ScopeGlobal, CreatedAt: e.now}})
	if _, err := e.sync.Stamp(ctx); err != nil {
		t.Fatal(err)
	}
	storagetest.CommitUnnumbered(t, db, []models.Change{{ID: uuid.NewString(), Entity: models.EntitySites, RecordID: uuid.NewString(), Version: 1, Op: models.OpUpsert, Scope: models.ScopeGlobal, CreatedAt: e.now}})

	mfs := scrape(t, reg)
	for _, name := range []string{
		"fieldsync_http_request_duration_seconds", "fieldsync_http_requests_in_flight", "fieldsync_evidence_upload_bytes_total",
		"fieldsync_sync_pulls_total", "fieldsync_sync_pull_lag_seq", "fieldsync_sync_mutations_total",
		"fieldsync_sync_stamp_delay_seconds", "fieldsync_sync_stamp_batch_rows", "fieldsync_sync_slot_wait_seconds",
		"fieldsync_sync_changelog_rows", "fieldsync_sync_changelog_unstamped_rows",
		"fieldsync_sync_changelog_unstamped_oldest_age_seconds", "fieldsync_sync_changelog_head_seq",
		"go_sql_open_connections", "go_sql_in_use_connections", "go_sql_wait_count_total",
	} {
		if mfs[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	for _, want := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"fieldsync_http_request_duration_seconds", map[string]string{"method": "POST", "route": "/v1/sync/pull", "status": "2xx"}, 2},
		{"fieldsync_http_request_duration_seconds", map[string]string{"method": "POST", "route": "/v1/sync/push", "status": "2xx"}, 1},
		{"fieldsync_http_request_duration_seconds", map[string]string{"method": "PUT", "route": "/v1/evidence/:id/content", "status": "2xx"}, 1},
		{"fieldsync_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/v1/items/:id", "status": "2xx"}, 1},
		{"fieldsync_http_request_duration_seconds", map[string]string{"method": "GET", "route": "unmatched", "status": "4xx"}, 1},
		{"fieldsync_evidence_upload_bytes_total", map[string]string{"via": "api"}, float64(len(photo))},
		{"fieldsync_sync_pulls_total", map[string]string{"kind": "initial"}, 1},
		{"fieldsync_sync_pulls_total", map[string]string{"kind": "delta"}, 1},
		{"fieldsync_sync_pull_lag_seq", nil, 1},
		{"fieldsync_sync_mutations_total", map[string]string{"status": "applied"}, 1},
		{"fieldsync_sync_mutations_total", map[string]string{"status": "rejected"}, 1},
		{"fieldsync_sync_stamp_batch_rows", nil, 1},
		{"fieldsync_sync_slot_wait_seconds", nil, 3}, // the two pulls and the push above
		{"fieldsync_sync_stamp_delay_seconds", nil, 1},
		{"fieldsync_sync_changelog_rows", nil, 1},
		{"fieldsync_sync_changelog_unstamped_rows", nil, 1},
		{"fieldsync_sync_changelog_head_seq", nil, 1},
		{"go_sql_max_open_connections", map[string]string{"db_name": e.svc.Store.(*storage.DB).Dialect()}, 1},
	} {
		if v, ok := sample(mfs, want.name, want.labels); !ok || v < want.min {
			t.Errorf("%s%v = %v (present %v), want at least %v", want.name, want.labels, v, ok, want.min)
		}
	}
	if v, _ := sample(mfs, "fieldsync_evidence_upload_bytes_total", map[string]string{"via": "api"}); v != float64(len(photo)) {
		t.Errorf("upload bytes %v, want the photo's %d", v, len(photo))
	}
	for _, m := range mfs["fieldsync_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && uuidInLabel.MatchString(l.GetValue()) {
				t.Errorf("a route label holds a raw path: %q", l.GetValue())
			}
		}
	}

	// The API's own listener never serves metrics, with or without a token.
	for _, who := range []string{"", "admin"} {
		if r := e.do(who, "GET", "/metrics", nil); r.Status != 404 || r.code(t) != "route_not_found" {
			t.Errorf("GET /metrics on the API as %q: %d %s", who, r.Status, r.Body)
		}
	}
}
