// Package testenv tells tests where the external services they need are
// (MySQL/MariaDB, MinIO), and what to do when one is missing: skip with a
// message on a developer's machine, fail under CI=true so that a broken CI
// set-up cannot pass by skipping everything (gitea's
// test.ExternalServiceHTTP does the same). `make test` starts the services
// and sets the variables read here.
//
// Fault tests, which stop and restart a backend, run private servers of
// their own instead (StartPrivateMariaDB, StartPrivateMinIO), so that the
// shared ones stay up for every other test running at the same time.
//
// It imports only the standard library, so any storage package and its
// tests can use it without import cycles.
package testenv

import (
	"errors"
	"os"
	"strconv"
	"testing"
)

// Environment variables read by the helpers.
const (
	EnvMySQLDSN    = "FIELDSYNC_TEST_MYSQL_DSN"
	EnvS3Endpoint  = "FIELDSYNC_TEST_S3_ENDPOINT"
	EnvS3AccessKey = "FIELDSYNC_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "FIELDSYNC_TEST_S3_SECRET_KEY"
)

// DefaultMySQLDSN is the test database that .ci/services.sh starts.
const DefaultMySQLDSN = "root@tcp(127.0.0.1:3306)/test?parseTime=true&charset=utf8mb4&loc=UTC"

// CI reports whether the tests run under CI (CI=true, or any value
// strconv.ParseBool accepts as true).
func CI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// Require does nothing when err is nil. Otherwise it skips the test with a
// message naming service, or fails it under CI.
func Require(tb testing.TB, service string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if CI() {
		tb.Fatalf("%s is required under CI=true but unavailable: %v", service, err)
	}
	tb.Skipf("skipping: %s unavailable (run `make services`, or set CI=true to fail instead): %v", service, err)
}

// S3 is the MinIO server the tests use.
type S3 struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
}

// MinIO returns the test MinIO server from the environment. An unset
// FIELDSYNC_TEST_S3_ENDPOINT skips the test (fails it under CI). Whether
// the server answers is for the caller to check, with Require.
func MinIO(tb testing.TB) S3 {
	tb.Helper()
	s := S3{
		Endpoint:  os.Getenv(EnvS3Endpoint),
		AccessKey: getenv(EnvS3AccessKey, "minioadmin"),
		SecretKey: getenv(EnvS3SecretKey, "minioadmin"),
	}
	if s.Endpoint == "" {
		Require(tb, "MinIO", errors.New(EnvS3Endpoint+" is not set (e.g. 127.0.0.1:9000)"))
	}
	return s
}

// MySQLDSN returns the DSN of the test MySQL/MariaDB server:
// FIELDSYNC_TEST_MYSQL_DSN, or DefaultMySQLDSN. Callers ping it and pass
// the error to Require.
func MySQLDSN(tb testing.TB) string {
	tb.Helper()
	return getenv(EnvMySQLDSN, DefaultMySQLDSN)
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
