package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// TestServedSpec: /openapi.yaml is mobile-contract/openapi.yaml byte for
// byte, /openapi.json the same document, and /docs a page whose renderer
// is served from the binary (the vendored Redoc, checksum as in
// apidocs/README.md) with its licence. No token is needed.
func TestServedSpec(t *testing.T) {
	e := newEnv(t, "sqlite")
	file, err := os.ReadFile("../mobile-contract/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(file, contract.OpenAPIYAML()) {
		t.Fatal("the embedded document differs from mobile-contract/openapi.yaml")
	}

	r := e.do("", "GET", "/openapi.yaml", nil)
	if r.Status != 200 || string(r.Body) != string(file) || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET /openapi.yaml: %d %s, %d bytes; want 200 and the file (%d bytes)", r.Status, r.Header.Get("Content-Type"), len(r.Body), len(file))
	}

	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(file, &fromYAML); err != nil {
		t.Fatal(err)
	}
	r = e.do("", "GET", "/openapi.json", nil)
	if r.Status != 200 {
		t.Fatalf("GET /openapi.json: %d", r.Status)
	}
	if err := json.Unmarshal(r.Body, &fromJSON); err != nil {
		t.Fatalf("GET /openapi.json is not JSON: %v", err)
	}
	// Round-trip the YAML through JSON so that numbers compare alike.
	b, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, want) {
		t.Error("/openapi.json is not the same document as openapi.yaml")
	}
	if !strings.HasPrefix(string(r.Body), `{"openapi":"3.0.3","info":{"title":`) {
		t.Errorf("/openapi.json does not keep the document's order: %.80s", r.Body)
	}

	page := e.do("", "GET", "/docs", nil)
	if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: %d %s", page.Status, page.Header.Get("Content-Type"))
	}
	for _, ref := range []string{`spec-url="/openapi.json"`, `src="/docs/redoc.standalone.js"`} {
		if !strings.Contains(string(page.Body), ref) {
			t.Errorf("/docs lacks %s", ref)
		}
	}
	if strings.Contains(string(page.Body), "http://") || strings.Contains(string(page.Body), "https://") {
		t.Error("/docs names another host; it must work offline")
	}
	js := e.do("", "GET", "/docs/redoc.standalone.js", nil)
	sum := sha256.Sum256(js.Body)
	if js.Status != 200 || hex.EncodeToString(sum[:]) != "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b" {
		t.Errorf("GET /docs/redoc.standalone.js: %d, sha256 %x; want the vendored Redoc 2.5.4", js.Status, sum)
	}
	lic := e.do("", "GET", "/docs/LICENSE-redoc", nil)
	if lic.Status != 200 || !strings.Contains(string(lic.Body), "The MIT License") {
		t.Errorf("GET /docs/LICENSE-redoc: %d %.40s", lic.Status, lic.Body)
	}
	if r := e.do("", "GET", "/docs/redoc.standalone.js.LICENSE.txt", nil); r.Status != 200 {
		t.Errorf("GET /docs/redoc.standalone.js.LICENSE.txt: %d", r.Status)
	}
}
