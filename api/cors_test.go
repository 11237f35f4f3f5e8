package api_test

import (
	"net/http/httptest"
	"testing"

	"github.com/fieldsync/fieldsync/api"
)

// TestCORS: with FIELDSYNC_CORS_ORIGINS set, a preflight from an allowed
// origin is allowed and one from another origin is not; a real request
// from an allowed origin carries the header too. Without the setting, no
// CORS header is sent at all.
func TestCORS(t *testing.T) {
	e := newEnv(t, "sqlite")
	preflight := func(srv *api.Server, origin string) (int, string) {
		t.Helper()
		req := httptest.NewRequest("OPTIONS", "/v1/sync/pull", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		res, err := srv.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, res.Header.Get("Access-Control-Allow-Origin")
	}
	if _, allow := preflight(e.srv, "https://console.example.cn"); allow != "" {
		t.Errorf("without CORS origins a preflight was allowed: %q", allow)
	}

	cfg := e.cfg
	cfg.CORSOrigins = []string{"https://console.example.cn", "http://localhost:5173"}
	srv := api.New(cfg)
	if st, allow := preflight(srv, "https://console.example.cn"); st != 204 || allow != "https://console.example.cn" {
		t.Errorf("preflight from an allowed origin: %d, Access-Control-Allow-Origin %q", st, allow)
	}
	if _, allow := preflight(srv, "http://localhost:5173"); allow != "http://localhost:5173" {
		t.Errorf("preflight from the second allowed origin: Access-Control-Allow-Origin %q", allow)
	}
	for _, other := range []string{"https://evil.example.com", "https://console.example.cn.evil.com", "http://console.example.cn"} {
		if _, allow := preflight(srv, other); allow != "" {
			t.Errorf("preflight from %s was allowed: %q", other, allow)
		}
	}
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set("Origin", "https://console.example.cn")
	res, err := srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://console.example.cn" {
		t.Errorf("GET /healthz from an allowed origin: %d, Access-Control-Allow-Origin %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
}
