package layering

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readNoRace returns the package patterns of .ci/norace, which make test
// compiles without the race detector.
func readNoRace(t *testing.T, root string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".ci", "norace"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 1 || strings.Contains(strings.TrimSuffix(fields[0], "/..."), "...") {
			t.Fatalf(".ci/norace: %q is not one package path, or one followed by /...", line)
		}
		patterns = append(patterns, fields[0])
	}
	return patterns
}

// matches reports whether a package path matches a go build pattern of
// the kinds .ci/norace uses: a path, or a path followed by /...
func matches(pattern, pkg string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
	}
	return pkg == pattern
}

// uninstrumented returns the pattern under which make test compiles pkg
// without the race detector, or "".
func uninstrumented(patterns []string, pkg string) string {
	for _, p := range patterns {
		if matches(p, pkg) {
			return p
		}
	}
	return ""
}

// genericOrigin returns the package whose generic code a symbol is an
// instantiation of ("slices" for slices.Sort[[]string,string],
// "sync/atomic" for sync/atomic.(*Pointer[os.dirInfo]).Load), or "" for
// a symbol that is not one.
func genericOrigin(sym string) string {
	head, _, generic := strings.Cut(sym, "[")
	if !generic || strings.HasPrefix(sym, "type:") {
		return ""
	}
	slash := strings.LastIndex(head, "/")
	dot := strings.Index(head[slash+1:], ".")
	if dot < 0 {
		return ""
	}
	return head[:slash+1+dot]
}

// harmless are instantiations an uninstrumented package may carry: the
// atomic pointer of an open directory (os.dirInfo, and the shape of its
// struct), which the standard library's os instantiates wherever
// os.File's methods are inlined. Compiled without the race detector an
// atomic is invisible to it, which can only make it report a race that
// is not there, never miss one.
//
// Not checked: the equality functions the compiler writes for array and
// struct types (type:.eq.[2]string …), also kept once per binary; an
// uninstrumented one loses the race detector on == of that type only.
var harmless = []string{
	"sync/atomic.(*Pointer[os.dirInfo]).",
	"sync/atomic.(*Pointer[go.shape.struct { os.mu sync.Mutex; os.buf *[]uint8; os.nbuf int; os.bufp int }]).",
}

// nmSymbol splits a line of go tool nm's output on an archive
// ("file(_go_.o):", an address unless the symbol is undefined, the kind,
// the name) into the kind and the name, which may hold spaces
// (go.shape.struct { … }).
func nmSymbol(line string) (kind, name string, ok bool) {
	if _, rest, found := strings.Cut(line, "):"); found {
		line = rest
	}
	f := strings.Fields(line)
	if len(f) >= 3 && len(f[1]) == 1 && strings.Trim(f[0], "0123456789abcdef") == "" {
		f = f[1:] // the address
	}
	if len(f) < 2 || len(f[0]) != 1 {
		return "", "", false
	}
	return f[0], strings.Join(f[1:], " "), true
}

// TestRaceExclusions: no package in .ci/norace carries an instantiation
// of another package's generic code. The linker keeps one copy of each
// instantiation for the whole binary; were it the uninstrumented one,
// every instrumented package calling it (slices.Sort on a shared slice,
// sync.Map's internals) would silently lose the race detector too. It
// reads the symbols of the packages exactly as make test compiles them.
func TestRaceExclusions(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the module's dependencies with the race detector")
	}
	root := moduleRoot(t)
	patterns := readNoRace(t, root)
	var gcflags []string
	for _, p := range patterns {
		gcflags = append(gcflags, "-gcflags="+p+"=-race=false")
	}
	cmd := exec.Command("go", "list", "-race", "-tags=nodynamic", "-deps", "-test", "-export", "-f", "{{.ImportPath}} {{.Export}}", "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.Join(gcflags, " "))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	matched := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		pkg, export, ok := strings.Cut(strings.TrimSpace(line), " ")
		pattern := uninstrumented(patterns, pkg)
		if !ok || pattern == "" {
			continue
		}
		matched[pattern] = true
		nm, err := exec.Command("go", "tool", "nm", export).Output()
		if err != nil {
			t.Fatalf("go tool nm %s (%s): %v", export, pkg, err)
		}
	symbols:
		for line := range strings.Lines(string(nm)) {
			kind, name, ok := nmSymbol(line)
			if !ok || kind != "T" {
				continue // defined code only
			}
			origin := genericOrigin(name)
			if origin == "" || uninstrumented(patterns, origin) != "" {
				continue
			}
			for _, h := range harmless {
				if strings.HasPrefix(name, h) {
					continue symbols
				}
			}
			t.Errorf("%s, compiled without the race detector, carries %s", pkg, name)
		}
	}
	for _, p := range patterns {
		if !matched[p] {
			t.Errorf(".ci/norace: %s matches no package the tests build", p)
		}
	}
}

func TestGenericOrigin(t *testing.T) {
	for sym, want := range map[string]string{
		"slices.Sort[[]string,string]":                                      "slices",
		"sync/atomic.(*Pointer[os.dirInfo]).Load":                           "sync/atomic",
		"github.com/tetratelabs/wazero/internal/wasm.F[go.shape.int]":       "github.com/tetratelabs/wazero/internal/wasm",
		"net/http.(*mapping[string,*net/http.routingNode]).add":             "net/http",
		"type:.eq.[2]string":                                                "",
		"image/jpeg.(*decoder).processSOS":                                  "",
		"sync/atomic.(*Pointer[go.shape.struct { os.mu sync.Mutex }]).Load": "sync/atomic",
	} {
		if got := genericOrigin(sym); got != want {
			t.Errorf("genericOrigin(%q) = %q, want %q", sym, got, want)
		}
	}
}

func TestNMSymbol(t *testing.T) {
	for line, want := range map[string][2]string{
		"/c/e2-d(_go_.o):\t 11674a5 T sync/atomic.(*Pointer[go.shape.struct { os.mu sync.Mutex }]).Load\n": {"T", "sync/atomic.(*Pointer[go.shape.struct { os.mu sync.Mutex }]).Load"},
		"  4a2f1 T slices.Sort[[]string,string]\n":                                                         {"T", "slices.Sort[[]string,string]"},
		"/c/e2-d(_go_.o):\t         U fmt.Sprintf\n":                                                       {"U", "fmt.Sprintf"},
	} {
		kind, name, ok := nmSymbol(line)
		if !ok || kind != want[0] || name != want[1] {
			t.Errorf("nmSymbol(%q) = %q, %q, %v; want %q, %q", line, kind, name, ok, want[0], want[1])
		}
	}
}
