package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsListener: with FIELDSYNC_METRICS_ADDR the server serves
// /metrics there, with the families of every part of the process, and
// not on the API's address; without it, nothing more listens; and the
// metrics listener cannot be the API's.
func TestMetricsListener(t *testing.T) {
	m, _, err := start(t, testConfig(t, "-metrics-addr", "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	if m.MetricsAddr() == "" || m.MetricsAddr() == m.Addr() {
		t.Fatalf("metrics on %q, API on %q", m.MetricsAddr(), m.Addr())
	}
	// Some traffic, so that the request histogram has a series.
	if code, _ := getJSON(t, "http://"+m.Addr()+"/healthz", ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	res, err := http.Get("http://" + m.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d\n%s", res.StatusCode, body)
	}
	for _, family := range []string{
		`fieldsync_http_request_duration_seconds_count{method="GET",route="/healthz",status="2xx"} 1`,
		"fieldsync_sync_changelog_head_seq ", "fieldsync_sync_stamp_delay_seconds_count ", "fieldsync_audit_unchained_entries ",
		`go_sql_max_open_connections{db_name="sqlite"} 1`, "go_goroutines ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(string(body), family) {
			t.Errorf("/metrics lacks %q", family)
		}
	}
	if code, _ := getJSON(t, "http://"+m.Addr()+"/metrics", ""); code != 404 {
		t.Errorf("the API's address served /metrics: %d", code)
	}

	plain, _, err := start(t, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if plain.MetricsAddr() != "" {
		t.Errorf("metrics served on %s without FIELDSYNC_METRICS_ADDR", plain.MetricsAddr())
	}

	// A metrics address already taken stops the start, naming it.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, _, err := start(t, testConfig(t, "-metrics-addr", taken.Addr().String())); err == nil || !strings.Contains(err.Error(), "metrics listener") {
		t.Fatalf("a taken metrics address: %v", err)
	}
}
