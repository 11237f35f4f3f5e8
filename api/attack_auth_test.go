package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/api/authn"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/keys"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestAttackAuth adds to TestAuth's token attacks (alg none, another key,
// unknown kid, HS512, tampered and expired tokens, refresh reuse): tokens
// that were good once, tokens signed with the right key but wrong in what
// they say, and password guessing spread over usernames.
func TestAttackAuth(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Run("EndedSessions", func(t *testing.T) { testEndedSessions(t, newEnv(t, dialect)) })
			t.Run("StalePrivileges", func(t *testing.T) { testStalePrivileges(t, newEnv(t, dialect)) })
			t.Run("SignedButWrong", func(t *testing.T) { testSignedButWrong(t, newEnv(t, dialect)) })
			t.Run("GuessingPerAddress", func(t *testing.T) { testGuessingPerAddress(t, newEnv(t, dialect)) })
		})
	}
}

// testEndedSessions: the access and refresh tokens of a session that
// ended (logout, a revoked device, a disabled account, a password reset)
// are refused, and refreshing creates nothing.
func testEndedSessions(t *testing.T, e *env) {
	insp := e.fx.users["insp2"]
	grant := func() (access, refresh string) {
		g := e.login("insp2", "password-insp2", uuid.NewString())
		return g["access_token"].(string), g["refresh_token"].(string)
	}
	refreshes := func(what, refresh string, status int, code string) {
		t.Helper()
		before := e.snapshot(t, "")
		wantProblem(t, e.do("", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": refresh}), status, code)
		unchanged(t, what, before, e.snapshot(t, ""))
	}

	access, refresh := grant()
	e.must(204, access, "POST", "/v1/auth/logout", nil)
	wantProblem(t, e.do(access, "GET", "/v1/me", nil), 401, "session_revoked")
	refreshes("refresh after logout", refresh, 401, "session_revoked")

	dev := uuid.NewString()
	g := e.login("insp2", "password-insp2", dev)
	e.must(200, "admin", "POST", "/v1/devices/"+dev+"/revoke", nil)
	for _, path := range []string{"/v1/me", "/v1/tasks"} {
		wantProblem(t, e.do(g["access_token"].(string), "GET", path, nil), 401, "device_revoked")
	}
	wantProblem(t, e.do(g["access_token"].(string), "POST", "/v1/sync/pull", map[string]any{"client_id": uuid.NewString(), "cursor": nil, "schema_version": 1}), 401, "device_revoked")
	refreshes("refresh of a revoked device", g["refresh_token"].(string), 401, "device_revoked")

	access, refresh = grant()
	u := e.must(200, "admin", "GET", "/v1/users/"+insp.ID, nil)
	e.must(200, "admin", "PATCH", "/v1/users/"+insp.ID, map[string]any{"password": "a-new-long-password", "version": u["version"]})
	wantProblem(t, e.do(access, "GET", "/v1/me", nil), 401, "session_revoked")
	refreshes("refresh after a password reset", refresh, 401, "session_revoked")

	g = e.login("insp2", "a-new-long-password", uuid.NewString())
	u = e.must(200, "admin", "GET", "/v1/users/"+insp.ID, nil)
	e.must(200, "admin", "PATCH", "/v1/users/"+insp.ID, map[string]any{"disabled": true, "version": u["version"]})
	wantProblem(t, e.do(g["access_token"].(string), "GET", "/v1/me", nil), 401, "session_revoked")
	refreshes("refresh of a disabled account", g["refresh_token"].(string), 401, "session_revoked")
}

// testStalePrivileges: a token carries who signed in, not what they may
// do; a demoted supervisor's token loses the supervisor's reach at once,
// and one moved to another unit sees the new unit's records only.
func testStalePrivileges(t *testing.T, e *env) {
	sup := e.fx.users["supb"]
	itemB := "/v1/items/" + e.fx.itemB.ID
	e.must(200, "supb", "GET", itemB, nil)
	u := e.must(200, "admin", "GET", "/v1/users/"+sup.ID, nil)
	e.must(200, "admin", "PATCH", "/v1/users/"+sup.ID, map[string]any{"unit_id": e.fx.countyA.ID, "version": u["version"]})
	wantProblem(t, e.do("supb", "GET", itemB, nil), 404, "not_found")
	e.must(200, "supb", "GET", "/v1/items/"+e.fx.itemA.ID, nil)
	u = e.must(200, "admin", "GET", "/v1/users/"+sup.ID, nil)
	e.must(200, "admin", "PATCH", "/v1/users/"+sup.ID, map[string]any{"role": "inspector", "version": u["version"]})
	wantProblem(t, e.do("supb", "GET", "/v1/items/"+e.fx.itemA.ID, nil), 404, "not_found")
	wantProblem(t, e.do("supb", "POST", "/v1/items", map[string]any{"code": "X-1", "title": "t", "source": "s", "category": "c",
		"target": "t", "measures": "m", "responsible_unit_id": e.fx.countyA.ID, "first_responsible": "p", "deadline": e.now.AddDate(0, 1, 0)}), 403, "forbidden")
}

// testSignedButWrong: tokens signed with the server's own key (as if it
// had leaked, or by a bug) are still refused when they name a session of
// another user, carry no expiry or another issuer, or come from a secret
// that has been rotated out.
func testSignedButWrong(t *testing.T, e *env) {
	key := keys.Derive(testSecret, "access-token")
	kid := mustHeader(t, e.tokens["insp1"], "kid")
	var session jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(e.tokens["insp1"], &session); err != nil {
		t.Fatal(err)
	}
	sign := func(change func(jwt.MapClaims)) string {
		c := jwt.MapClaims{}
		for k, v := range session {
			c[k] = v
		}
		change(c)
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for name, tok := range map[string]string{
		"another user's id on insp1's session": sign(func(c jwt.MapClaims) { c["sub"] = e.fx.users["admin"].ID }),
		"no expiry":                            sign(func(c jwt.MapClaims) { delete(c, "exp") }),
		"another issuer":                       sign(func(c jwt.MapClaims) { c["iss"] = "not-fieldsync" }),
		"a session that does not exist":        sign(func(c jwt.MapClaims) { c["sid"] = uuid.NewString() }),
	} {
		r := e.do(tok, "GET", "/v1/me", nil)
		if r.Status != 401 || (r.code(t) != "token_invalid" && r.code(t) != "session_revoked") {
			t.Errorf("%s: got %d %q, want 401 token_invalid or session_revoked", name, r.Status, r.code(t))
		}
	}
	// A token of the previous secret works while the server lists it,
	// and not once the rotation is over.
	g := e.login("insp1", "password-insp1", uuid.NewString())
	var claims jwt.MapClaims
	jwt.NewParser().ParseUnverified(g["access_token"].(string), &claims)
	old := authn.NewIssuer(previousSecret, nil, 15*time.Minute, func() time.Time { return e.now })
	prev, err := old.Issue(auth.Grant{User: e.fx.users["insp1"], Session: models.Session{ID: claims["sid"].(string), DeviceID: claims["did"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	rotating := e.cfg
	rotating.Tokens = authn.NewIssuer(testSecret, previousSecret, 15*time.Minute, func() time.Time { return e.now })
	e.srv = api.New(rotating)
	e.must(200, prev, "GET", "/v1/me", nil)
	e.srv = api.New(e.cfg)
	wantProblem(t, e.do(prev, "GET", "/v1/me", nil), 401, "token_invalid")
}

// testGuessingPerAddress: one client guessing passwords across many
// usernames, known and unknown, is throttled by its address before any
// one username reaches its own limit; a right password from there is
// refused too, and the throttled login opens no session. An unknown
// username is throttled like a known one, so that 429 tells nothing about
// which accounts exist.
func testGuessingPerAddress(t *testing.T, e *env) {
	e.svc.Auth.MaxFailuresPerAddress = 6
	names := []string{"insp1", "nobody", "insp2", "ghost", "supa", "leada"}
	for i := 0; i < e.svc.Auth.MaxFailuresPerAddress; i++ {
		wantProblem(t, e.do("", "POST", "/v1/auth/login", map[string]any{"username": names[i%len(names)], "password": fmt.Sprintf("guess-%d", i),
			"device_id": uuid.NewString()}), 401, "bad_credentials")
	}
	before := e.snapshot(t, "")
	r := e.do("", "POST", "/v1/auth/login", map[string]any{"username": "supb", "password": "password-supb", "device_id": uuid.NewString()})
	wantProblem(t, r, 429, "login_throttled")
	if r.Header.Get("Retry-After") == "" {
		t.Error("a throttled login has no Retry-After")
	}
	unchanged(t, "a throttled login", before, e.snapshot(t, ""))
	// After the window the address may try again.
	e.now = e.now.Add(e.svc.Auth.FailureWindow + time.Second)
	e.login("supb", "password-supb", uuid.NewString())

	e.svc.Auth.MaxFailuresPerAddress = 1000
	for _, name := range []string{"supa", "nobody"} {
		for i := 0; i < e.svc.Auth.MaxFailuresPerUser; i++ {
			e.do("", "POST", "/v1/auth/login", map[string]any{"username": name, "password": "wrong-password", "device_id": uuid.NewString()})
		}
		wantProblem(t, e.do("", "POST", "/v1/auth/login", map[string]any{"username": name, "password": "wrong-password", "device_id": uuid.NewString()}), 429, "login_throttled")
	}
}
