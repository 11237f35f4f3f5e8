package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fieldsync/fieldsync/cmd/internal/demo"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/storage"
)

// TestServerChainsAudit: the server's chainer runs with it and chains once
// more when it stops, so that a sign-in just before shutdown is in the
// verified chain once the server is gone. The ticker is set to an hour, so
// that only the chaining at shutdown can have done it.
func TestServerChainsAudit(t *testing.T) {
	cfg := testConfig(t, "-demo", "-stamp-every", "1h")
	m, _, err := start(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": demo.Password, "device_id": "0b5e3f7a-1c2d-4e8f-9a6b-5d4c3b2a1f01"})
	res, err := http.Post("http://"+m.Addr()+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("login: %d", res.StatusCode)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(context.Background(), storage.Config{SQLitePath: cfg.SQLitePath()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := audit.New(&models.Service{Store: db})
	rep, err := svc.VerifyAudit(context.Background())
	if err != nil || !rep.OK || rep.Unchained != 0 || rep.Checked == 0 {
		t.Fatalf("after shutdown: %+v %v", rep, err)
	}
	page, err := svc.ListAudit(context.Background(), models.Actor{Role: models.RoleAdmin}, audit.Filter{Action: models.AuditLogin}, audit.Params{})
	// The demo's accounts signed in during its campaign, from their own
	// devices; this test's sign-in is the one from its device.
	var mine []models.AuditEntry
	for _, e := range page.Items {
		if e.DeviceID == "0b5e3f7a-1c2d-4e8f-9a6b-5d4c3b2a1f01" {
			mine = append(mine, e)
		}
	}
	if err != nil || len(mine) != 1 || mine[0].ActorName != "admin" {
		t.Fatalf("the sign-in before shutdown: %+v %v", page.Items, err)
	}
	t.Logf("%d entries chained by the server at shutdown (demo data and one sign-in), head %s", rep.Checked, rep.Head)
}
