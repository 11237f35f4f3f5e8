package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPackRSSFigures: with -server-pid, the pack scenario reports the
// server's RSS of the upload phase apart from the exports', and for the
// exports the RSS before them beside their peak. The server runs in this
// process, so its pid is the test's.
func TestPackRSSFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	base, dir := startServer(t)
	args := []string{"-server", base, "-inspectors", "2", "-tasks", "4", "-sites", "2", "-items", "2", "-devices", "1",
		"-json", "-timeout", "60s", "-scenario", "pack", "-pack-mb", "2", "-doc-mb", "1", "-count", "2",
		"-server-pid", strconv.Itoa(os.Getpid()), "--", "-data-dir", dir}
	var out, errs bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatalf("fieldsim %s: %v\n%s", strings.Join(args, " "), err, errs.String())
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	f := r.Figures
	for _, k := range []string{"server_peak_rss_bytes", "server_rss_before_first_export_bytes", "server_last_export_rss_before_bytes",
		"server_last_export_peak_rss_bytes", "server_upload_peak_rss_bytes"} {
		if f[k] <= 0 {
			t.Errorf("%s = %v, want a size", k, f[k])
		}
	}
	if f["server_peak_rss_bytes"] < f["server_last_export_peak_rss_bytes"] || f["server_export_rss_growth_bytes"] < 0 ||
		f["server_export_rss_growth_bytes"] > f["server_peak_rss_bytes"] {
		t.Errorf("the RSS figures do not add up: %v", f)
	}
	if f["server_last_export_peak_rss_bytes"] < f["server_last_export_rss_before_bytes"] {
		t.Errorf("the last export's peak is below the RSS before it: %v", f)
	}
	var noted bool
	for _, n := range r.Notes {
		noted = noted || strings.HasPrefix(n, "server RSS: ")
	}
	if !noted {
		t.Errorf("no note explains the RSS figures: %v", r.Notes)
	}
}
