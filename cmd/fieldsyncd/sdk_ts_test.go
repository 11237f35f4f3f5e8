package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/cmd/internal/demo"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// The TypeScript SDK (mobile-contract/ts) and the contract's lint run from
// here, so that `make test` runs them: Node 20 and npm are needed (the
// tests skip without them, and fail under CI=true); the npm packages are
// installed from package-lock.json on first use.

// sdkDir is the SDK's folder.
const sdkDir = "../../mobile-contract/ts"

var npmReady struct {
	once sync.Once
	err  error
}

// npm installs the SDK's packages once per test binary and returns a
// function that runs an npm or node command in its folder.
func npm(t *testing.T) func(env []string, name string, args ...string) (string, error) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		_, err := exec.LookPath(tool)
		testenv.Require(t, tool+" (Node 20 and npm, for the TypeScript SDK and the spec lint)", err)
	}
	run := func(env []string, name string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = sdkDir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	npmReady.once.Do(func() {
		if _, err := os.Stat(filepath.Join(sdkDir, "node_modules", ".package-lock.json")); err == nil {
			return
		}
		if out, err := run(nil, "npm", "ci", "--no-audit", "--no-fund"); err != nil {
			npmReady.err = fmt.Errorf("npm ci: %w\n%s", err, out)
		}
	})
	if npmReady.err != nil {
		t.Fatal(npmReady.err)
	}
	return run
}

// TestSpecLint: openapi.yaml passes redocly lint and spectral lint (the
// OpenAPI ruleset) with no error or warning, at the versions
// package-lock.json pins; redocly.yaml and .spectral.yaml say which rules
// are off and why.
func TestSpecLint(t *testing.T) {
	run := npm(t)
	out, err := run(nil, "npm", "run", "--silent", "lint:spec")
	if err != nil {
		t.Fatalf("npm run lint:spec: %v\n%s", err, out)
	}
	t.Logf("redocly and spectral: clean")
}

// TestTypeScriptSDK builds the SDK (types generated from openapi.yaml,
// then tsc), runs its unit tests, and runs its end-to-end tests against
// the real fieldsyncd binary with --demo: on SQLite with the local blob
// store, on MySQL with MinIO and presigned uploads, and on MySQL with
// MinIO and uploads through the API.
func TestTypeScriptSDK(t *testing.T) {
	run := npm(t)
	if out, err := run(nil, "npm", "run", "--silent", "build"); err != nil {
		t.Fatalf("npm run build: %v\n%s", err, out)
	}
	if out, err := run(nil, "node", "--test", "dist-test/test/unit.test.js"); err != nil {
		t.Fatalf("the SDK's unit tests: %v\n%s", err, out)
	} else {
		t.Logf("unit tests: %s", tapSummary(out))
	}
	photo, err := filepath.Abs("../../testdata/photos/DSCN0010.jpg")
	if err != nil {
		t.Fatal(err)
	}
	bin := binary(t, "fieldsyncd")
	for _, tc := range []struct {
		name, upload string
		production   bool
		args         []string
	}{
		{"sqlite", "presigned", false, nil},
		{"mysql+minio", "presigned", true, nil},
		{"mysql+minio, uploads via the API", "streamed", true, []string{"-uploads-via-api"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-demo", "-data-dir", t.TempDir(), "-secret", strings.Repeat("sdk-secret-", 4)}, tc.args...)
			if tc.production {
				s3 := testenv.MinIO(t)
				args = append(args, "-mysql-dsn", storagetest.FreshMySQL(t), "-s3-endpoint", s3.Endpoint,
					"-s3-access-key", s3.AccessKey, "-s3-secret-key", s3.SecretKey, "-s3-bucket", "fieldsync-sdk-test")
			}
			base := startBinary(t, bin, tc.production, args...)
			out, err := run([]string{"FIELDSYNC_SDK_BASE_URL=" + base, "FIELDSYNC_SDK_USER=inspector1", "FIELDSYNC_SDK_PASSWORD=" + demo.Password,
				"FIELDSYNC_SDK_PHOTO=" + photo, "FIELDSYNC_SDK_UPLOAD=" + tc.upload}, "node", "--test", "dist-test/test/e2e.test.js")
			if err != nil || !strings.Contains(out, "# pass 2") {
				t.Fatalf("the SDK's end-to-end tests: %v\n%s", err, out)
			}
			t.Logf("end-to-end tests: %s", tapSummary(out))
		})
	}
}

// startBinary runs fieldsyncd on a free port until the test ends and
// returns its base URL once it answers /healthz. A server that cannot
// start on the production backends skips the test (fails under CI=true).
func startBinary(t *testing.T, bin string, production bool, args ...string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	var log strings.Builder
	cmd := exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Env = append(os.Environ(), "FIELDSYNC_LOG_LEVEL=warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-exited:
			err = fmt.Errorf("fieldsyncd exited: %v\n%s", err, log.String())
			if production {
				testenv.Require(t, "MySQL and MinIO", err)
			}
			t.Fatal(err)
		default:
		}
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("fieldsyncd did not answer /healthz in time\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tapSummary returns the counts of a node --test report.
func tapSummary(out string) string {
	var parts []string
	for _, line := range strings.Split(out, "\n") {
		for _, k := range []string{"# pass ", "# fail ", "# skipped "} {
			if strings.HasPrefix(line, k) {
				parts = append(parts, strings.TrimPrefix(line, "# "))
			}
		}
	}
	return strings.Join(parts, ", ")
}
