package testenv

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PrivateMinIO is a MinIO server of the test's own, run from the binary
// that .ci/services.sh installs, on free loopback ports with its data in a
// temporary directory: the test may stop and start it without disturbing
// the shared server on 9000.
type PrivateMinIO struct {
	*Process
	S3
}

// MinIOBinary is where .ci/services.sh installs MinIO:
// $FIELDSYNC_CACHE/bin/minio, by default ~/.cache/fieldsync/bin/minio.
func MinIOBinary() string {
	cache := os.Getenv("FIELDSYNC_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "fieldsync")
	}
	return filepath.Join(cache, "bin", "minio")
}

// StartPrivateMinIO starts MinIO. When the binary is not installed the
// test is skipped (failed under CI=true).
func StartPrivateMinIO(tb testing.TB) *PrivateMinIO {
	tb.Helper()
	bin, err := executable(MinIOBinary())
	Require(tb, "the MinIO binary (`make services` installs it)", err)
	dir := privateDir(tb, "minio")
	port, console := FreePort(tb), FreePort(tb)
	m := &PrivateMinIO{S3: S3{Endpoint: hostPort(port), AccessKey: "minioadmin", SecretKey: "minioadmin"}}
	// Not /live: that answers as soon as the process runs, while requests
	// still fail with XMinioServerNotInitialized; /cluster waits for the
	// object layer.
	health := "http://" + m.Endpoint + "/minio/health/cluster"
	client := &http.Client{Timeout: time.Second}
	m.Process = &Process{
		Name: "private minio on " + m.Endpoint,
		Path: bin,
		Args: []string{"server", "--quiet", "--address", m.Endpoint, "--console-address", hostPort(console), filepath.Join(dir, "data")},
		Env:  []string{"MINIO_ROOT_USER=" + m.AccessKey, "MINIO_ROOT_PASSWORD=" + m.SecretKey, "MINIO_UPDATE=off", "MINIO_BROWSER=off"},
		Log:  filepath.Join(dir, "minio.log"),
		Ready: func() error {
			res, err := client.Get(health)
			if err != nil {
				return err
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", health, res.Status)
			}
			return nil
		},
	}
	StartProcess(tb, m.Process)
	return m
}
