package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// ctl runs fieldctl on a data dir of the test's own.
func ctl(t *testing.T, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"-data-dir", dir}, args...), strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestFieldctl(t *testing.T) {
	dir := t.TempDir()
	steps := []struct {
		stdin string
		args  []string
		want  string
		fails bool
	}{
		{"", []string{"migrate"}, "schema version ", false},
		{"", []string{"unit", "add", "-code", "JC", "-name", "江城市人民政府", "-kind", "city"}, "unit JC 江城市人民政府 created", false},
		{"", []string{"unit", "add", "-code", "JC-EPB", "-name", "生态环境局", "-parent", "JC"}, "unit JC-EPB", false},
		{"", []string{"unit", "add", "-code", "X", "-name", "x", "-parent", "NOPE"}, `no unit with code "NOPE"`, true},
		{"a-long-password\n", []string{"user", "add", "-username", "chen", "-role", "admin", "-unit", "JC"}, "user chen (admin) created", false},
		{"short\n", []string{"user", "add", "-username", "li", "-role", "admin", "-unit", "JC"}, "", true},
		{"another-long-one\n", []string{"user", "add", "-username", "chen", "-role", "admin", "-unit", "JC"}, "", true},
		{"", []string{"user", "list"}, "chen", false},
		{"", []string{"unit", "list"}, "JC-EPB", false},
		{"", []string{"seed"}, "", true}, // not an empty database
		{"", []string{"sync", "compact"}, "removed 0 superseded changes", false},
		{"", []string{"sync", "new-epoch"}, "new sync epoch", false},
		{"", []string{"frobnicate"}, "unknown command", true},
		{"", nil, "usage: fieldctl", true},
	}
	for _, s := range steps {
		out, err := ctl(t, dir, s.stdin, s.args...)
		if (err != nil) != s.fails {
			t.Fatalf("fieldctl %v: err %v, want failure %v\n%s", s.args, err, s.fails, out)
		}
		if !strings.Contains(out, s.want) && (err == nil || !strings.Contains(err.Error(), s.want)) {
			t.Fatalf("fieldctl %v: output %q, err %v; want %q", s.args, out, err, s.want)
		}
	}
	out, err := ctl(t, t.TempDir(), "", "seed")
	if err != nil || !strings.Contains(out, "22 items") {
		t.Fatalf("seed on an empty database: %v %s", err, out)
	}
}
