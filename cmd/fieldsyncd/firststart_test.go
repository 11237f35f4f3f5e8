package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/cmd/internal/config"
)

// syncBuffer is a log the server writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFirstStart: a server on an empty database says once in its log, in
// Chinese, that no administrator exists, with the command that creates
// one; that command, run as the log says with the password on stdin,
// creates the administrator (and the city's root unit), who signs in; a
// restart says nothing more.
func TestFirstStart(t *testing.T) {
	args := []string{"-data-dir", t.TempDir(), "-secret", strings.Repeat("first-start-", 3)}
	cfg := testConfig(t, args...)
	m, log := startLogged(t, cfg)
	time.Sleep(1500 * time.Millisecond) // the periodic jobs have run by now
	if n := strings.Count(log.String(), "还没有管理员"); n != 1 {
		t.Fatalf("the log says %d times that no administrator exists:\n%s", n, log)
	}
	if !strings.Contains(log.String(), "fieldctl admin create -username admin -unit CITY") {
		t.Fatalf("the log does not name the command:\n%s", log)
	}

	// The command as the log gives it, with the server's configuration
	// and the password on stdin.
	cmd := exec.Command(binary(t, "fieldctl"), append(append([]string{}, args...), strings.Fields(AdminCommand)[1:]...)...)
	cmd.Stdin = strings.NewReader("first-admin-password\n")
	cmd.Env = append(os.Environ(), "FIELDSYNC_LOG_LEVEL=warn")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "已创建管理员 admin：") {
		t.Fatalf("%s: %v\n%s", AdminCommand, err, out)
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": "first-admin-password", "device_id": "7f1d0c2e-8a51-4c3e-9f77-2b6a1d9e0c11"})
	res, err := http.Post("http://"+m.Addr()+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var login map[string]any
	json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	if res.StatusCode != 200 || login["access_token"] == nil {
		t.Fatalf("the new administrator signs in: %d %v", res.StatusCode, login)
	}
	code, me := getJSON(t, "http://"+m.Addr()+"/v1/me", login["access_token"].(string))
	if code != 200 || me["role"] != "admin" {
		t.Fatalf("/v1/me: %d %v", code, me)
	}
	m.Close()

	m, log = startLogged(t, cfg)
	defer m.Close()
	if strings.Contains(log.String(), "还没有管理员") {
		t.Fatalf("a server with an administrator says there is none:\n%s", log)
	}
}

// TestFirstStartInEnglish: with -lang en the same warning is in English.
func TestFirstStartInEnglish(t *testing.T) {
	m, log := startLogged(t, testConfig(t, "-data-dir", t.TempDir(), "-secret", strings.Repeat("first-start-", 3), "-lang", "en"))
	defer m.Close()
	if !strings.Contains(log.String(), "no administrator exists: create one on this host") || strings.Contains(log.String(), "还没有管理员") {
		t.Fatalf("the warning with -lang en:\n%s", log.String())
	}
}

// startLogged runs a server of cfg whose log goes to the returned buffer.
func startLogged(t *testing.T, cfg config.Config) (*Main, *syncBuffer) {
	t.Helper()
	var log syncBuffer
	m := &Main{Config: cfg, Stdout: io.Discard, Log: slog.New(slog.NewTextHandler(&log, nil))}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return m, &log
}
