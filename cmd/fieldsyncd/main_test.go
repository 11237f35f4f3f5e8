package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/cmd/internal/config"
	"github.com/fieldsync/fieldsync/cmd/internal/demo"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

func testConfig(t *testing.T, args ...string) config.Config {
	t.Helper()
	cfg, _, err := config.Load("fieldsyncd", append([]string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir()}, args...),
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func start(t *testing.T, cfg config.Config) (*Main, *bytes.Buffer, error) {
	t.Helper()
	var out bytes.Buffer
	m := &Main{Config: cfg, Stdout: &out, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := m.Run(ctx)
	t.Cleanup(func() { m.Close() })
	return m, &out, err
}

func getJSON(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// TestEmbeddedDemo starts the real server on the embedded default with
// --demo, signs in with a printed demo login and reads data. What it
// prints for the person starting it is in Chinese (FIELDSYNC_LANG's
// default).
func TestEmbeddedDemo(t *testing.T) {
	m, out, err := start(t, testConfig(t, "-demo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"admin", "supervisor", "inspector1", "inspector2", "inspector3"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("demo login %s not printed:\n%s", name, out)
		}
	}
	for _, words := range []string{"已载入演示数据：单位", "整改已进行", "演示账号（密码 " + demo.Password + "）", "核查人员", "督办人员", "管理员"} {
		if !strings.Contains(out.String(), words) {
			t.Errorf("the demo summary does not say %q:\n%s", words, out)
		}
	}
	base := "http://" + m.Addr()
	if code, body := getJSON(t, base+"/readyz", ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("readyz: %d %v", code, body)
	}
	body, _ := json.Marshal(map[string]string{"username": "inspector1", "password": demo.Password, "device_id": "0b5e3f7a-1c2d-4e8f-9a6b-5d4c3b2a1f00"})
	res, err := http.Post(base+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	json.NewDecoder(res.Body).Decode(&g)
	res.Body.Close()
	tok, _ := g["access_token"].(string)
	code, tasks := getJSON(t, base+"/v1/tasks", tok)
	if code != 200 || len(tasks["items"].([]any)) < 8 {
		t.Fatalf("inspector1's tasks: %d %v", code, tasks)
	}
	// A second start on the same data loads nothing twice.
	m.Close()
	cfg := m.Config
	_, out2, err := start(t, cfg)
	if err != nil || strings.Contains(out2.String(), "已载入演示数据") {
		t.Fatalf("restart: %v, %q", err, out2)
	}
	// -lang en: the same summary in English.
	m3, out3, err := start(t, testConfig(t, "-demo", "-lang", "en"))
	if err != nil {
		t.Fatal(err)
	}
	m3.Close()
	for _, words := range []string{"units,", "days into its campaign", "Demo logins (password " + demo.Password + ")", "Inspector", "Administrator"} {
		if !strings.Contains(out3.String(), words) || strings.Contains(out3.String(), "演示") {
			t.Errorf("-lang en: the demo summary does not say %q in English:\n%s", words, out3)
		}
	}
}

// TestProductionBackends runs the server on MySQL and MinIO.
func TestProductionBackends(t *testing.T) {
	s3 := testenv.MinIO(t)
	dsn := storagetest.FreshMySQL(t)
	m, _, err := start(t, testConfig(t, "-mysql-dsn", dsn, "-secret", strings.Repeat("s", 40),
		"-s3-endpoint", s3.Endpoint, "-s3-access-key", s3.AccessKey, "-s3-secret-key", s3.SecretKey,
		"-s3-bucket", "fieldsync-main-test"))
	testenv.Require(t, "MySQL and MinIO", err)
	code, body := getJSON(t, "http://"+m.Addr()+"/readyz", "")
	checks, _ := body["checks"].(map[string]any)
	if code != 200 || len(checks) != 2 {
		t.Fatalf("readyz on MySQL+MinIO: %d %v", code, body)
	}
	t.Logf("server ran on %s with blobs on MinIO at %s", m.DB.Dialect(), s3.Endpoint)
}

// TestRefusesUnreachableBackends: a backend the server was told to use
// and cannot reach stops it from starting, with a message naming it.
func TestRefusesUnreachableBackends(t *testing.T) {
	cases := map[string][]string{
		"database": {"-mysql-dsn", "root@tcp(127.0.0.1:1)/none", "-secret", strings.Repeat("s", 40)},
		"S3 store": {"-s3-endpoint", "127.0.0.1:1", "-s3-access-key", "a", "-s3-secret-key", "b"},
		"secret":   {"-mysql-dsn", "root@tcp(127.0.0.1:1)/none"},
	}
	for want, args := range cases {
		_, _, err := start(t, testConfig(t, args...))
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(strings.Fields(want)[0])) {
			t.Errorf("%s unreachable: got %v, want an error naming it", want, err)
		}
	}
}
