package api_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

func TestAuth(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Run("RefreshRotationAndReuse", func(t *testing.T) { testRefresh(t, newEnv(t, dialect)) })
			t.Run("LogoutAndRevoke", func(t *testing.T) { testRevoke(t, newEnv(t, dialect)) })
			t.Run("BadTokens", func(t *testing.T) { testBadTokens(t, newEnv(t, dialect)) })
			t.Run("LoginFailures", func(t *testing.T) { testLoginFailures(t, newEnv(t, dialect)) })
		})
	}
}

func wantProblem(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.code(t) != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.code(t), status, code, r.Body)
	}
}

func testRefresh(t *testing.T, e *env) {
	g := e.login("insp1", "password-insp1", uuid.NewString())
	if g["token_type"] != "Bearer" || g["user"].(map[string]any)["role"] != "inspector" {
		t.Fatalf("login response: %v", g)
	}
	first := g["refresh_token"].(string)
	g2 := e.must(200, "", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": first})
	second := g2["refresh_token"].(string)
	if second == first {
		t.Fatal("refresh returned the same refresh token")
	}
	e.must(200, g2["access_token"].(string), "GET", "/v1/me", nil)
	// Presented again within the grace window (the device lost the answer
	// and retries): the same child refresh token, not a second one, so
	// the session cannot fork; an access token for the same session.
	e.now = e.now.Add(auth.RefreshRetryGrace - time.Second)
	retry := e.must(200, "", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": first})
	if retry["refresh_token"] != second {
		t.Fatalf("a retry within the grace window got another refresh token: a forked session")
	}
	e.must(200, retry["access_token"].(string), "GET", "/v1/me", nil)
	e.must(200, g2["access_token"].(string), "GET", "/v1/me", nil)
	// The spent token again later: someone copied it. The whole session
	// ends, audited.
	e.now = e.now.Add(2 * time.Second)
	wantProblem(t, e.do("", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": first}), 401, "refresh_token_reused")
	wantProblem(t, e.do(retry["access_token"].(string), "GET", "/v1/me", nil), 401, "session_revoked")
	wantProblem(t, e.do(g2["access_token"].(string), "GET", "/v1/me", nil), 401, "session_revoked")
	wantProblem(t, e.do("", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": second}), 401, "session_revoked")
	e.auditOne("action=auth.refresh_reused")
	// A spent child presented by a thief after the device refreshed on:
	// the parent's grace does not cover the child's own reuse.
	g4 := e.login("insp1", "password-insp1", uuid.NewString())
	c1 := e.must(200, "", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": g4["refresh_token"]})
	e.now = e.now.Add(time.Minute)
	e.must(200, "", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": c1["refresh_token"]})
	e.now = e.now.Add(time.Minute)
	wantProblem(t, e.do("", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": c1["refresh_token"]}), 401, "refresh_token_reused")
	wantProblem(t, e.do("", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": "not-a-token"}), 401, "refresh_token_invalid")
	wantProblem(t, e.do("", "POST", "/v1/auth/refresh", map[string]any{}), 400, "required")
	// An expired refresh token.
	g3 := e.login("insp1", "password-insp1", uuid.NewString())
	e.now = e.now.Add(models.DefaultAuthPolicy.RefreshTTL + time.Minute)
	wantProblem(t, e.do("", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": g3["refresh_token"]}), 401, "refresh_token_invalid")
}

func testRevoke(t *testing.T, e *env) {
	dev := uuid.NewString()
	g := e.login("insp1", "password-insp1", dev)
	tok := g["access_token"].(string)
	e.must(200, tok, "GET", "/v1/me", nil)
	// A second login on the same device ends the first session.
	g2 := e.login("insp1", "password-insp1", dev)
	wantProblem(t, e.do(tok, "GET", "/v1/me", nil), 401, "session_revoked")
	tok = g2["access_token"].(string)
	// Another user cannot take over the device id.
	wantProblem(t, e.do("", "POST", "/v1/auth/login", map[string]any{"username": "insp2", "password": "password-insp2", "device_id": dev}), 409, "device_owned_by_other_user")
	// The admin revokes the lost phone: its token fails at once, and it
	// cannot sign in again.
	d := e.must(200, "admin", "POST", "/v1/devices/"+dev+"/revoke", nil)
	if d["revoked_at"] == nil {
		t.Fatalf("revoked device has no revoked_at: %v", d)
	}
	wantProblem(t, e.do(tok, "GET", "/v1/me", nil), 401, "device_revoked")
	wantProblem(t, e.do("", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": g2["refresh_token"]}), 401, "device_revoked")
	wantProblem(t, e.do("", "POST", "/v1/auth/login", map[string]any{"username": "insp1", "password": "password-insp1", "device_id": dev}), 401, "device_revoked")
	wantProblem(t, e.do("admin", "POST", "/v1/devices/"+uuid.NewString()+"/revoke", nil), 404, "not_found")
	// Logout ends the session.
	tok = e.login("insp1", "password-insp1", uuid.NewString())["access_token"].(string)
	e.must(204, tok, "POST", "/v1/auth/logout", nil)
	wantProblem(t, e.do(tok, "GET", "/v1/me", nil), 401, "session_revoked")
	// Disabling an account ends its sessions too.
	u := e.must(200, "admin", "GET", "/v1/users/"+e.fx.users["insp2"].ID, nil)
	e.must(200, "admin", "PATCH", "/v1/users/"+e.fx.users["insp2"].ID, map[string]any{"disabled": true, "version": u["version"]})
	wantProblem(t, e.do("insp2", "GET", "/v1/me", nil), 401, "session_revoked")
	wantProblem(t, e.do("", "POST", "/v1/auth/login", map[string]any{"username": "insp2", "password": "password-insp2", "device_id": uuid.NewString()}), 403, "account_disabled")
}

func testBadTokens(t *testing.T, e *env) {
	good := e.tokens["insp1"]
	parts := strings.Split(good, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	algNone := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), `"inspector"`, `"admin"`, 1))) + "." + parts[2]
	otherKey := authn.NewIssuer([]byte("another-secret-another-secret-another"), nil, time.Hour, func() time.Time { return e.now })
	forged, _ := otherKey.Issue(auth.Grant{User: e.fx.users["insp1"], Session: models.Session{ID: uuid.NewString()}})
	// The right key under a key id the server does not know.
	var c jwt.MapClaims
	jwt.NewParser().ParseUnverified(good, &c)
	wrongKid := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	wrongKid.Header["kid"] = "00000000"
	wrongKidTok, _ := wrongKid.SignedString(keys.Derive(testSecret, "access-token"))
	// HS512 with the right key: the algorithm is pinned.
	otherAlg := jwt.NewWithClaims(jwt.SigningMethodHS512, c)
	otherAlg.Header["kid"] = mustHeader(t, good, "kid")
	otherAlgTok, _ := otherAlg.SignedString(keys.Derive(testSecret, "access-token"))
	for name, tok := range map[string]string{
		"alg none": algNone, "tampered claims": tampered, "another key": forged, "wrong kid": wrongKidTok,
		"HS512": otherAlgTok, "garbage": "abc.def.ghi",
	} {
		r := e.do(tok, "GET", "/v1/me", nil)
		if r.Status != 401 || r.code(t) != "token_invalid" {
			t.Errorf("%s: got %d %q, want 401 token_invalid", name, r.Status, r.code(t))
		}
	}
	wantProblem(t, e.do("", "GET", "/v1/me", nil), 401, "unauthenticated")
	e.now = e.now.Add(16 * time.Minute)
	wantProblem(t, e.do(good, "GET", "/v1/me", nil), 401, "token_expired")
}

func mustHeader(t *testing.T, tok, name string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Header[name].(string)
}

func testLoginFailures(t *testing.T, e *env) {
	dev := uuid.NewString()
	wrong := map[string]any{"username": "supa", "password": "wrong-password", "device_id": dev}
	wantProblem(t, e.do("", "POST", "/v1/auth/login", map[string]any{"username": "nobody", "password": "whatever-pw", "device_id": dev}), 401, "bad_credentials")
	for i := 0; i < models.DefaultAuthPolicy.MaxFailuresPerUser; i++ {
		wantProblem(t, e.do("", "POST", "/v1/auth/login", wrong), 401, "bad_credentials")
	}
	// Throttled now, even with the right password.
	r := e.do("", "POST", "/v1/auth/login", map[string]any{"username": "supa", "password": "password-supa", "device_id": dev})
	wantProblem(t, r, 429, "login_throttled")
	if r.Header.Get("Retry-After") == "" {
		t.Error("throttled login has no Retry-After")
	}
	// Other users are not affected; after the window
	// the user can sign in again.
	e.login("supb", "password-supb", uuid.NewString())
	e.now = e.now.Add(models.DefaultAuthPolicy.FailureWindow + time.Second)
	e.login("supa", "password-supa", dev)
	wantProblem(t, e.do("", "POST", "/v1/auth/login", map[string]any{"username": "supa", "password": "password-supa", "device_id": "not-a-uuid"}), 400, "invalid_id")
}

// TestPruneLoginAttempts: the janitor deletes the attempts older than the
// throttle's window and keeps the ones it still counts, so that a user
// throttled now stays throttled.
func TestPruneLoginAttempts(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			ctx := context.Background()
			attempts := func() int64 {
				var n int64
				err := e.svc.Store.Read(ctx, func(tx models.Tx) error {
					var err error
					n, err = tx.Count(&models.LoginAttempt{}, nil)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			wrong := map[string]any{"username": "supa", "password": "wrong-password", "device_id": uuid.NewString()}
			for range models.DefaultAuthPolicy.MaxFailuresPerUser + 1 {
				e.do("", "POST", "/v1/auth/login", wrong)
			}
			e.login("supb", "password-supb", uuid.NewString())
			before := attempts()
			if before < int64(models.DefaultAuthPolicy.MaxFailuresPerUser+2) {
				t.Fatalf("%d login attempts recorded", before)
			}
			if n, err := auth.New(e.svc).PruneLoginAttempts(ctx, e.now.Add(models.DefaultAuthPolicy.FailureWindow-time.Second)); err != nil || n != 0 {
				t.Fatalf("pruned %d attempts still in the window (%v)", n, err)
			}
			wantProblem(t, e.do("", "POST", "/v1/auth/login", map[string]any{"username": "supa", "password": "password-supa", "device_id": uuid.NewString()}), 429, "login_throttled")
			// The throttled attempt just made is in the table too.
			if n, err := auth.New(e.svc).PruneLoginAttempts(ctx, e.now.Add(models.DefaultAuthPolicy.FailureWindow+time.Second)); err != nil || n != before+1 {
				t.Fatalf("pruned %d of %d attempts past the window (%v)", n, before+1, err)
			}
			if n := attempts(); n != 0 {
				t.Fatalf("%d attempts left", n)
			}
		})
	}
}

// TestThrottleBehindProxy: behind a trusted load balancer, failed logins
// are counted per client address from X-Forwarded-For, so one client's
// guessing does not lock out the others.
func TestThrottleBehindProxy(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	e.cfg.TrustedProxies = []string{"0.0.0.0"} // app.Test's remote address
	e.srv = api.New(e.cfg)
	e.svc.Auth.MaxFailuresPerAddress = 3
	login := func(from, user, pw string) response {
		req := httptest.NewRequest("POST", "/v1/auth/login", strings.NewReader(`{"username":"`+user+`","password":"`+pw+`","device_id":"`+uuid.NewString()+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", from+", 10.9.9.9")
		res, err := e.srv.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return response{Status: res.StatusCode, Header: res.Header, Body: b}
	}
	for _, u := range []string{"insp1", "insp2", "supa", "supb"} {
		login("203.0.113.7", u, "wrong-password")
	}
	wantProblem(t, login("203.0.113.7", "leada", "password-leada"), 429, "login_throttled")
	if r := login("198.51.100.4", "leada", "password-leada"); r.Status != 200 {
		t.Fatalf("another client behind the same proxy was throttled: %d %s", r.Status, r.Body)
	}
}

// TestConcurrentLogins: phones that come online together sign in at once,
// each on a new device; none may fail (on MySQL they deadlocked on the
// sessions index, and every failure counted against their address). A
// login counts as failed until it succeeds, so that parallel guesses are
// throttled: 30 at once stay within the limits of 5 per user and 30 per
// address.
func TestConcurrentLogins(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			base := e.listen()
			users := []string{"insp1", "insp2", "supa", "supb", "leada", "admin"}
			var wg sync.WaitGroup
			codes := make([]int, 30)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					u := users[i%len(users)]
					body := `{"username":"` + u + `","password":"password-` + u + `","device_id":"` + uuid.NewString() + `"}`
					res, err := http.Post(base+"/v1/auth/login", "application/json", strings.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					codes[i] = res.StatusCode
				}()
			}
			wg.Wait()
			for i, c := range codes {
				if c != 200 {
					t.Errorf("login %d: status %d", i, c)
				}
			}
		})
	}
}
