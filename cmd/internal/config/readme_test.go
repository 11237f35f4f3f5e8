package config

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestREADMEListsEveryOption keeps the README's configuration table equal
// to the options table.
func TestREADMEListsEveryOption(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), Markdown()) {
		t.Fatalf("README.md's configuration table is out of date; it must contain:\n%s", Markdown())
	}
}

func TestLoad(t *testing.T) {
	env := map[string]string{"FIELDSYNC_ADDR": ":9999", "FIELDSYNC_S3_TLS": "true", "FIELDSYNC_S3_ENDPOINT": "minio:9000",
		"FIELDSYNC_S3_ACCESS_KEY": "a", "FIELDSYNC_S3_SECRET_KEY": "very-secret"}
	var out strings.Builder
	c, rest, err := Load("x", []string{"-addr", ":7777", "migrate"}, func(k string) string { return env[k] }, &out)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":7777" || !c.S3TLS || c.S3Endpoint != "minio:9000" || len(rest) != 1 || rest[0] != "migrate" {
		t.Fatalf("flags must win over the environment: %+v %v", c, rest)
	}
	if _, _, err := Load("x", []string{"-h"}, func(k string) string { return env[k] }, &out); err == nil {
		t.Fatal("-h must stop")
	}
	if strings.Contains(out.String(), "very-secret") {
		t.Fatal("help printed a secret")
	}
	bad := map[string]string{"FIELDSYNC_ACCESS_TTL": "soon"}
	if _, _, err := Load("x", nil, func(k string) string { return bad[k] }, &out); err == nil || !strings.Contains(err.Error(), "FIELDSYNC_ACCESS_TTL") {
		t.Fatalf("a bad duration must name its variable: %v", err)
	}
	for v, ok := range map[string]bool{"0": true, "6": true, "-1": false, "7": false} {
		c, _, err := Load("x", []string{"-public-coord-decimals", v}, func(string) string { return "" }, &out)
		if (err == nil) != ok || ok && strconv.Itoa(c.PublicCoordDecimals) != v {
			t.Errorf("public coordinate decimals %s: %d, %v", v, c.PublicCoordDecimals, err)
		}
	}
	for v, ok := range map[string]bool{"1": true, "8": true, "64": true, "0": false, "-2": false, "many": false} {
		c, _, err := Load("x", []string{"-sync-concurrency", v}, func(string) string { return "" }, &out)
		if (err == nil) != ok || ok && strconv.Itoa(c.SyncConcurrency) != v {
			t.Errorf("sync concurrency %s: %d, %v", v, c.SyncConcurrency, err)
		}
	}
	for v, want := range map[string]string{"": "zh-CN", "zh": "zh-CN", "zh-Hans": "zh-CN", "en": "en", "en-US": "en", "fr": "", "english": ""} {
		c, _, err := Load("x", []string{"-lang", v}, func(string) string { return "" }, &out)
		if want == "" {
			if err == nil || !strings.Contains(err.Error(), "FIELDSYNC_LANG") {
				t.Errorf("-lang %q must be refused naming FIELDSYNC_LANG: %v", v, err)
			}
		} else if err != nil || c.Language().String() != want {
			t.Errorf("-lang %q: %v, %v; want %s", v, c.Language(), err, want)
		}
	}
	// CORS origins are scheme and host, nothing more; none by default.
	if c, _, err := Load("x", nil, func(string) string { return "" }, &out); err != nil || len(c.Origins()) != 0 {
		t.Errorf("CORS origins by default: %v, %v; want none", c.Origins(), err)
	}
	for v, ok := range map[string]bool{"https://console.example.cn": true, "https://a.example.cn, http://localhost:5173": true,
		"*": false, "console.example.cn": false, "https://console.example.cn/": false, "https://x.cn/app": false, "ftp://x.cn": false} {
		c, _, err := Load("x", []string{"-cors-origins", v}, func(string) string { return "" }, &out)
		if (err == nil) != ok {
			t.Errorf("CORS origins %q: %v", v, err)
		} else if ok && len(c.Origins()) != strings.Count(v, ",")+1 {
			t.Errorf("CORS origins %q: %v", v, c.Origins())
		}
	}
	if _, _, err := Load("x", []string{"-s3-public-endpoint", "https://files.example.cn"}, func(string) string { return "" }, &out); err == nil {
		t.Error("a public S3 endpoint without an S3 endpoint must be refused")
	}
	// Profiles show the server's memory: never on an address others reach.
	for addr, ok := range map[string]bool{"127.0.0.1:6060": true, "localhost:0": true, "[::1]:6060": true, ":6060": false, "0.0.0.0:6060": false, "10.1.2.3:6060": false, "127.0.0.1": false} {
		if _, _, err := Load("x", []string{"-pprof-addr", addr}, func(string) string { return "" }, &out); (err == nil) != ok {
			t.Errorf("pprof address %q: %v", addr, err)
		}
	}
}

func TestSecrets(t *testing.T) {
	c := Config{DataDir: t.TempDir()}
	a, _, err := c.Secrets()
	if err != nil || len(a) < MinSecretLen {
		t.Fatalf("generated secret %q: %v", a, err)
	}
	b, _, _ := c.Secrets()
	if string(a) != string(b) {
		t.Fatal("the generated secret must persist across starts")
	}
	c.MySQLDSN = "root@tcp(x)/db"
	if _, _, err := c.Secrets(); err == nil {
		t.Fatal("MySQL without FIELDSYNC_SECRET must be refused")
	}
	c.Secret = "short"
	if _, _, err := c.Secrets(); err == nil {
		t.Fatal("a short secret must be refused")
	}
}

func TestLoadDeadlines(t *testing.T) {
	var out strings.Builder
	c, _, err := Load("x", nil, func(string) string { return "" }, &out)
	if err != nil || c.Zone().String() != "Asia/Shanghai" || c.EscalateAfter != 720*time.Hour {
		t.Fatalf("defaults: %v %v %v", c.Zone(), c.EscalateAfter, err)
	}
	if svc := c.Service(nil, nil); svc.Deadlines.Zone.String() != "Asia/Shanghai" || svc.Deadlines.EscalateAfter != 720*time.Hour {
		t.Fatalf("the service gets %+v", svc.Deadlines)
	}
	for _, args := range [][]string{{"-time-zone", "Mars/Olympus"}, {"-time-zone", ""}, {"-escalate-after", "-1h"}} {
		if _, _, err := Load("x", args, func(string) string { return "" }, &out); err == nil {
			t.Errorf("%v must be refused", args)
		}
	}
	if c, _, err := Load("x", []string{"-escalate-after", "0", "-time-zone", "UTC"}, func(string) string { return "" }, &out); err != nil || c.EscalateAfter != 0 || c.Zone() != time.UTC {
		t.Errorf("escalation off in UTC: %v %v %v", c.EscalateAfter, c.Zone(), err)
	}
}

// TestMetricsAddrApart: metrics are never served on the API's listener.
func TestMetricsAddrApart(t *testing.T) {
	var out strings.Builder
	if _, _, err := Load("x", []string{"-addr", ":8080", "-metrics-addr", ":8080"}, func(string) string { return "" }, &out); err == nil ||
		!strings.Contains(err.Error(), "FIELDSYNC_METRICS_ADDR") {
		t.Fatalf("the same address for both: %v", err)
	}
	c, _, err := Load("x", []string{"-metrics-addr", "127.0.0.1:9464"}, func(string) string { return "" }, &out)
	if err != nil || c.MetricsAddr != "127.0.0.1:9464" {
		t.Fatalf("a metrics address of its own: %+v %v", c.MetricsAddr, err)
	}
}

// TestMapTiles: the console's tile template must be a web URL and its
// datum one the console can convert to.
func TestMapTiles(t *testing.T) {
	var out strings.Builder
	c, _, err := Load("x", []string{"-map-tiles", "https://tiles.example/{z}/{x}/{y}.png", "-map-tiles-datum", "gcj02"}, func(string) string { return "" }, &out)
	if err != nil || c.MapTiles == "" || c.MapTilesDatum != "gcj02" {
		t.Fatalf("tiles: %+v %v", c, err)
	}
	for _, args := range [][]string{{"-map-tiles-datum", "bd09"}, {"-map-tiles", "javascript:alert(1)"}, {"-map-tiles", "/tiles/{z}"}} {
		if _, _, err := Load("x", args, func(string) string { return "" }, &out); err == nil {
			t.Errorf("%v must be refused", args)
		}
	}
}

// TestConsoleSettings: the console's idle expiry and its pack-check
// upload limit are settings with defaults, and out-of-range values are
// refused with the variable's name.
func TestConsoleSettings(t *testing.T) {
	var out strings.Builder
	c, _, err := Load("x", nil, func(string) string { return "" }, &out)
	if err != nil || c.ConsoleIdle != 30*time.Minute || c.PackCheckLimit != 512<<20 {
		t.Fatalf("defaults: idle %v, pack limit %d, %v", c.ConsoleIdle, c.PackCheckLimit, err)
	}
	env := map[string]string{"FIELDSYNC_CONSOLE_IDLE": "2h", "FIELDSYNC_PACK_CHECK_LIMIT": "2097152"}
	c, _, err = Load("x", nil, func(k string) string { return env[k] }, &out)
	if err != nil || c.ConsoleIdle != 2*time.Hour || c.PackCheckLimit != 2<<20 {
		t.Fatalf("from the environment: idle %v, pack limit %d, %v", c.ConsoleIdle, c.PackCheckLimit, err)
	}
	if c, _, err = Load("x", []string{"-console-idle", "10m"}, func(k string) string { return env[k] }, &out); err != nil || c.ConsoleIdle != 10*time.Minute {
		t.Fatalf("the flag must win: idle %v, %v", c.ConsoleIdle, err)
	}
	for _, args := range [][]string{
		{"-console-idle", "soon"}, {"-console-idle", "30s"}, {"-console-idle", "25h"}, {"-console-idle", "-5m"},
		{"-pack-check-limit", "1000"}, {"-pack-check-limit", "big"},
	} {
		_, _, err := Load("x", args, func(string) string { return "" }, &out)
		name := map[string]string{"-console-idle": "FIELDSYNC_CONSOLE_IDLE", "-pack-check-limit": "FIELDSYNC_PACK_CHECK_LIMIT"}[args[0]]
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: %v, want an error naming %s", args, err, name)
		}
	}
}
