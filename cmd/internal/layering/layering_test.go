package layering

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/fieldsync/fieldsync/"

// rule says what the non-test code of the packages under one folder may
// import from this module, and whether it may import anything outside the
// standard library. The first rule whose prefix matches a package applies.
type rule struct {
	pkg      string   // folder prefix, e.g. "models"
	may      []string // folder prefixes it may import (its own is implied)
	external bool     // may import modules other than the standard library
	// beyondStd lists the packages outside the standard library a rule
	// without external still allows.
	beyondStd []string
}

// rules is the allowed graph: cmd wires everything; api and sync speak
// to the domain; storage implements the domain's interfaces; the domain
// imports nothing but the standard library, and jsontext: encoding/json
// v2's tokenizer, in the standard library behind GOEXPERIMENT=jsonv2 in
// Go 1.26, taken from its prototype module meanwhile (models.CheckJSONKeys).
// See docs/architecture.md.
var rules = []rule{
	{pkg: "cmd", may: []string{"api", "sync", "storage", "models", "mobile-contract"}, external: true},
	{pkg: "api", may: []string{"sync", "models", "mobile-contract"}, external: true},
	{pkg: "sync", may: []string{"models"}, external: true},
	{pkg: "storage", may: []string{"models"}, external: true},
	{pkg: "mobile-contract", may: nil, external: true},
	{pkg: "models", may: nil, external: false, beyondStd: []string{"github.com/go-json-experiment/json/jsontext"}},
}

// testHelpers are packages made for tests; production code never imports
// them (they start databases, hold fixtures, validate against the spec).
var testHelpers = []string{"storage/testenv", "storage/storagetest", "storage/blob/blobtest", "mobile-contract/contracttest"}

func TestImportsFollowTheLayers(t *testing.T) {
	root := moduleRoot(t)
	var checked int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "data") {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
			return filepath.SkipDir // another module (PocketBase's build under bench-results)
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			t.Errorf("%s: %v", path, err)
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		checked++
		for _, v := range violations(rel, p.Imports) {
			t.Error(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 15 {
		t.Fatalf("checked %d packages: the walk did not find the module's packages", checked)
	}
}

// violations lists what pkg (a folder relative to the module root) may not
// import among imports.
func violations(pkg string, imports []string) []string {
	r, ok := ruleFor(pkg)
	if !ok {
		return []string{pkg + ": no layering rule covers this folder; add one"}
	}
	var out []string
	for _, imp := range imports {
		if !strings.HasPrefix(imp, module) {
			if !r.external && !standard(imp) && !slices.Contains(r.beyondStd, imp) {
				out = append(out, pkg+" imports "+imp+": only the standard library is allowed here")
			}
			continue
		}
		target := strings.TrimPrefix(imp, module)
		if isTestHelper(target) && !isTestHelper(pkg) {
			out = append(out, pkg+" imports "+target+", a test helper, from non-test code")
			continue
		}
		if under(target, r.pkg) || allowed(target, r.may) {
			continue
		}
		out = append(out, pkg+" imports "+target+" against the layers ("+r.pkg+" may import "+strings.Join(r.may, ", ")+")")
	}
	sort.Strings(out)
	return out
}

func ruleFor(pkg string) (rule, bool) {
	for _, r := range rules {
		if under(pkg, r.pkg) {
			return r, true
		}
	}
	return rule{}, false
}

func allowed(target string, may []string) bool {
	for _, m := range may {
		if under(target, m) {
			return true
		}
	}
	return false
}

func isTestHelper(pkg string) bool {
	for _, h := range testHelpers {
		if under(pkg, h) {
			return true
		}
	}
	return false
}

// under reports whether pkg is folder or inside it.
func under(pkg, folder string) bool { return pkg == folder || strings.HasPrefix(pkg, folder+"/") }

// standard reports whether an import path is the standard library's: its
// first element has no dot.
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// TestViolationsAreFound keeps the checker honest: each forbidden edge is
// reported, each allowed one is not.
func TestViolationsAreFound(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp string
		bad      bool
	}{
		{"models", "fmt", false},
		{"models", "gorm.io/gorm", true},
		{"models", "github.com/go-json-experiment/json/jsontext", false},
		{"models", "github.com/go-json-experiment/json", true},
		{"models/evidence", module + "models", false},
		{"models", module + "storage", true},
		{"models", module + "api", true},
		{"sync", module + "models", false},
		{"sync", module + "storage", true},
		{"sync", module + "api", true},
		{"sync", module + "cmd/fieldctl", true},
		{"storage", module + "models/pack", false},
		{"storage", module + "api", true},
		{"storage", module + "sync", true},
		{"storage/blob", module + "storage/testenv", true},
		{"storage/storagetest", module + "storage/testenv", false},
		{"api", module + "storage", true},
		{"api/web", module + "models", false},
		{"api/web", module + "api/i18n", false},
		{"api", module + "cmd/internal/config", true},
		{"mobile-contract", module + "models", true},
		{"cmd/fieldsyncd", module + "storage/blob", false},
		{"cmd/fieldsyncd", module + "storage/testenv", true},
		{"nowhere", "fmt", true},
	} {
		got := len(violations(tc.pkg, []string{tc.imp})) > 0
		if got != tc.bad {
			t.Errorf("%s importing %s: violation %v, want %v", tc.pkg, tc.imp, got, tc.bad)
		}
	}
}
