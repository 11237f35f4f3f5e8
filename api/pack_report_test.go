package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/storage/storagetest"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// chromium finds the browser that .ci/services.sh installs.
func chromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH (apt-get install chromium)")
}

// TestEvidencePackReportInChromium opens the report.html of an exported
// pack in headless Chromium, offline, and checks what the browser built
// of it: the SVG map with every position, the embedded thumbnails, the
// flags and the decision trail.
func TestEvidencePackReportInChromium(t *testing.T) {
	bin, err := chromium()
	testenv.Require(t, "chromium", err)
	e := newEnv(t, storagetest.Dialects[0])
	newPackScene(t, e)
	r := e.do("supa", "GET", "/v1/items/"+e.fx.itemA.ID+"/evidence-pack", nil)
	if r.Status != 200 {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open("report.html")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(rc)
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, html, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.Bytes())
	}
	dom := string(out)
	for what, want := range map[string]struct {
		needle string
		n      int
	}{
		"the map":                 {`<svg class="map"`, 1}, // the fixture's other site has no positions
		"the geofence":            {`class="fence"`, 1},
		"EXIF positions":          {`<circle class="exif`, 4},
		"the one outside":         {`<circle class="exif out"`, 1},
		"device fixes":            {`<rect class="dev"`, 4},
		"the verification's fix":  {`<rect class="ver"`, 1},
		"a scale bar":             {`class="scaletxt"`, 1},
		"the decider":             {"用户supa (supa)", 2},
		"embedded thumbnails":     {`src="data:image/jpeg;base64,`, 4},
		"the geofence flag":       {"超出电子围栏", 1},
		"the GPS mismatch":        {"照片位置与设备定位不符", 1},
		"the decisions":           {`<li class="reject"`, 2},
		"the decision on these":   {"作出决定时的证据与本证据包完全一致", 1},
		"the decision on earlier": {"作出决定时的证据与本证据包不同", 1},
	} {
		if got := strings.Count(dom, want.needle); got < want.n {
			t.Errorf("%s: %q occurs %d times in the rendered DOM, want at least %d", what, want.needle, got, want.n)
		}
	}
	if !strings.Contains(dom, "</html>") {
		t.Errorf("chromium dumped no complete document: %.500s", dom)
	}
}
