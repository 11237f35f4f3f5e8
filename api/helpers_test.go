package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/api/authn"
	"github.com/fieldsync/fieldsync/mobile-contract/contracttest"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/storage/storagetest"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// testSecret signs the tests' tokens and evidence packs; previousSecret
// is the one before a rotation.
var (
	testSecret     = []byte("test-secret-test-secret-test-secret!")
	previousSecret = []byte("previous-secret-previous-secret-previous")
)

// env is one API under test with its fixture.
type env struct {
	t      *testing.T
	srv    *api.Server
	cfg    api.Config
	svc    *models.Service
	sync   *fsync.Engine
	now    time.Time
	tokens map[string]string // role name → access token
	base   string            // URL of a real listener, once one is started
	fx     fixture
}

// cheapHasher is the real argon2id with tiny parameters, so that the many
// logins of the tests stay fast under -race.
var cheapHasher = authn.Argon2id{Time: 1, MemoryK: 64, Threads: 1}

// newEnv starts the API on a fresh database of the dialect with the
// fixture loaded and everyone signed in.
func newEnv(t *testing.T, dialect string) *env {
	t.Helper()
	db := storagetest.MustOpen(t, dialect)
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	e := &env{t: t, now: now, tokens: map[string]string{}}
	e.svc = &models.Service{
		Store:  db,
		Now:    func() time.Time { return e.now },
		NewID:  func() string { return uuid.Must(uuid.NewV7()).String() },
		Hasher: cheapHasher,
		Auth:   models.DefaultAuthPolicy,
	}
	e.sync = fsync.New(fsync.Config{Store: db, Service: e.svc, CursorKey: []byte("test-cursor-key"), Compactor: db})
	e.cfg = api.Config{
		Service: e.svc,
		Sync:    e.sync,
		Tokens:  authn.NewIssuer(testSecret, nil, 15*time.Minute, func() time.Time { return e.now }),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Checks:  map[string]func(context.Context) error{"database": db.Ping},
		// The previous secret's key is listed after a rotation.
		PackKeys: must(pack.KeysFor(testSecret, previousSecret)),
	}
	e.srv = api.New(e.cfg)
	withBlobs(t, e, "local")
	e.fx = loadFixture(t, e.svc, now)
	for _, name := range []string{"admin", "supa", "supb", "leada", "insp1", "insp2"} {
		e.tokens[name] = e.login(name, "password-"+name, uuid.NewString())["access_token"].(string)
	}
	return e
}

// response is one checked API answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

func (r response) code(t *testing.T) string {
	t.Helper()
	c, _ := r.json(t)["code"].(string)
	return c
}

// do sends a request as the named user ("" for anonymous) and validates
// the response against mobile-contract/openapi.yaml.
func (e *env) do(who, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != "" {
		tok, ok := e.tokens[who]
		if !ok {
			tok = who // a raw token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	var res *http.Response
	var err error
	if method == "GET" && strings.HasSuffix(path, "/evidence-pack") {
		// The pack streams over the hijacked connection, which app.Test's
		// in-memory one cannot follow: a real connection can.
		res, err = e.overTCP(req)
	} else {
		res, err = e.srv.App().Test(req, -1)
	}
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	route := path
	if i := strings.IndexByte(route, '?'); i >= 0 {
		route = route[:i]
	}
	if err := contracttest.ValidateResponse(method, path, res.StatusCode, res.Header, b); err != nil {
		e.t.Errorf("%s %s → %d does not match openapi.yaml: %v\n%s", method, route, res.StatusCode, err, b)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// must sends a request and fails the test unless it gets want.
func (e *env) must(want int, who, method, path string, body any) map[string]any {
	e.t.Helper()
	r := e.do(who, method, path, body)
	if r.Status != want {
		e.t.Fatalf("%s %s as %q: status %d, want %d: %s", method, path, who, r.Status, want, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.json(e.t)
}

func (e *env) login(user, password, device string) map[string]any {
	e.t.Helper()
	return e.must(200, "", "POST", "/v1/auth/login", map[string]any{"username": user, "password": password, "device_id": device, "device_name": "test phone", "platform": "android"})
}

// protectedRoutes lists "METHOD /pattern" for every route behind auth.
func (e *env) protectedRoutes() []string {
	public := map[string]bool{"/healthz": true, "/readyz": true, "/v1/auth/login": true, "/v1/auth/refresh": true,
		"/v1/public/progress": true, "/v1/public/items": true, "/v1/public/photos/:id": true, "/v1/evidence-pack/keys": true,
		"/openapi.yaml": true, "/openapi.json": true, "/docs": true, "/docs/redoc.standalone.js": true,
		"/docs/LICENSE-redoc": true, "/docs/redoc.standalone.js.LICENSE.txt": true}
	var out []string
	for _, r := range e.srv.App().GetRoutes(true) {
		if r.Method == "HEAD" || public[r.Path] {
			continue
		}
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// routeOf finds the route pattern a concrete path matches.
func routeOf(e *env, method, path string) string {
	segs := strings.Split(path, "/")
	for _, r := range e.srv.App().GetRoutes(true) {
		ps := strings.Split(r.Path, "/")
		if r.Method != method || len(ps) != len(segs) {
			continue
		}
		ok := true
		for i := range ps {
			if !strings.HasPrefix(ps[i], ":") && ps[i] != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return r.Path
		}
	}
	return path
}

// overTCP sends a request made for app.Test to a real listener.
func (e *env) overTCP(req *http.Request) (*http.Response, error) {
	if e.base == "" {
		e.base = e.listen()
	}
	out, err := http.NewRequest(req.Method, e.base+req.URL.RequestURI(), req.Body)
	if err != nil {
		return nil, err
	}
	out.Header = req.Header.Clone()
	return http.DefaultClient.Do(out)
}

// listen serves the API on a real loopback port and returns its base URL.
func (e *env) listen() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go e.srv.App().Listener(ln)
	e.t.Cleanup(func() { e.srv.App().Shutdown() })
	return "http://" + ln.Addr().String()
}
