package pack_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from what the code writes now")

// TestManifestGolden compares the manifest of the fixture's pack, byte for
// byte, with testdata/manifest.golden.json. The manifest is what an
// outside verifier reads, so any change to its shape or values must be
// deliberate: run `go test ./models/pack -run Golden -update` and review
// the diff.
func TestManifestGolden(t *testing.T) {
	f := newFixture(t)
	got := readZipEntry(t, open(t, f.write(t)), "manifest.json")
	var indented bytes.Buffer
	if err := json.Indent(&indented, got, "", "  "); err != nil {
		t.Fatalf("manifest.json is not JSON: %v", err)
	}
	indented.WriteByte('\n')
	golden := filepath.Join("testdata", "manifest.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(indented.Bytes(), want) {
		t.Errorf("manifest.json differs from %s; if the change is meant, rerun with -update and review the diff:\n%s", golden, firstDiff(string(want), indented.String()))
	}
}

// firstDiff shows the first line where want and got part.
func firstDiff(want, got string) string {
	wl, gl := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return "line " + strconv.Itoa(i+1) + ":\n  want " + string(w) + "\n  got  " + string(g)
		}
	}
	return ""
}
