package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/storage/storagetest"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// demoFence opens a README block that runs against `fieldsyncd --demo`.
const demoFence = "```sh demo"

// readmeWalkthrough reads the commands of the README's demo blocks, in
// order: a command continued with a trailing backslash, or inside an
// open quote, is one command; comments and blank lines are dropped.
func readmeWalkthrough(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	in, cur := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case !in:
			in = trimmed == demoFence
			continue
		case trimmed == "```":
			if cur != "" {
				t.Fatalf("README: a demo block ends inside a command: %s", cur)
			}
			in = false
			continue
		case cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")):
			continue
		}
		cur += line + "\n"
		if strings.HasSuffix(trimmed, "\\") || strings.Count(cur, "'")%2 == 1 || (strings.Count(cur, `"`)-strings.Count(cur, `\"`))%2 == 1 {
			continue
		}
		cmds = append(cmds, strings.TrimSuffix(cur, "\n"))
		cur = ""
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cmds) < 20 {
		t.Fatalf("README has %d demo commands in %q blocks; the walkthroughs are gone", len(cmds), demoFence)
	}
	return cmds
}

// assignment is a command that sets shell variables or defines a
// function: it prints nothing; what it set must not be empty.
var assignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=|^[a-z_]+\(\) \{`)

// TestREADMEWalkthroughs starts the real server with --demo (on SQLite with
// the local blob store, and on MariaDB with MinIO) and runs every command
// of the README's demo blocks, in order, in one shell: each must succeed
// and print something (or, for an assignment, set a non-empty value), so
// the walkthroughs show real results and break when the README and the
// server drift apart.
func TestREADMEWalkthroughs(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Require(t, "the README's tools ("+tool+")", err)
		}
	}
	cmds := readmeWalkthrough(t)
	fieldctl := binary(t, "fieldctl")
	t.Run("sqlite", func(t *testing.T) {
		m, _, err := start(t, testConfig(t, "-demo"))
		if err != nil {
			t.Fatal(err)
		}
		runWalkthrough(t, cmds, fieldctl, m)
	})
	t.Run("mariadb+minio", func(t *testing.T) {
		s3 := testenv.MinIO(t)
		dsn := storagetest.FreshMySQL(t)
		m, _, err := start(t, testConfig(t, "-demo", "-mysql-dsn", dsn, "-secret", strings.Repeat("s", 40),
			"-s3-endpoint", s3.Endpoint, "-s3-access-key", s3.AccessKey, "-s3-secret-key", s3.SecretKey,
			"-s3-bucket", "fieldsync-readme-test"))
		testenv.Require(t, "MySQL and MinIO", err)
		runWalkthrough(t, cmds, fieldctl, m)
	})
}

// runWalkthrough runs the commands against the server m in one shell,
// fieldctl standing for `go run ./cmd/fieldctl`.
func runWalkthrough(t *testing.T, cmds []string, fieldctl string, m *Main) {
	var script strings.Builder
	script.WriteString("set -o pipefail\n")
	for i, c := range cmds {
		c = strings.ReplaceAll(c, "localhost:8080", m.Addr())
		c = strings.ReplaceAll(c, "go run ./cmd/fieldctl", fieldctl)
		fmt.Fprintf(&script, "echo '>>> %d'\n", i)
		if mm := assignment.FindStringSubmatch(c); mm != nil {
			fmt.Fprintf(&script, "%s || { echo 'FAILED: command %d'; exit 1; }\n", c, i)
			if mm[1] != "" {
				fmt.Fprintf(&script, "[ -n \"$%s\" ] || { echo 'EMPTY: command %d set %s to nothing'; exit 1; }\n", mm[1], i, mm[1])
			}
			continue
		}
		fmt.Fprintf(&script, "out=$( %s\n) || { echo \"$out\"; echo 'FAILED: command %d'; exit 1; }\n", c, i)
		fmt.Fprintf(&script, "[ -n \"$out\" ] || { echo 'EMPTY: command %d printed nothing'; exit 1; }\nprintf '%%s\\n' \"$out\" | head -c 600; echo\n", i)
	}
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		failed := len(cmds)
		fmt.Sscanf(lastLine(string(out), ">>> "), ">>> %d", &failed)
		what := "?"
		if failed < len(cmds) {
			what = cmds[failed]
		}
		t.Fatalf("README walkthrough: %v at command %d:\n%s\n--- output:\n%s", err, failed, what, out)
	}
	t.Logf("%d README commands ran against --demo:\n%s", len(cmds), out)
}

// lastLine returns the last line of s starting with prefix.
func lastLine(s, prefix string) string {
	last := ""
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			last = l
		}
	}
	return last
}
