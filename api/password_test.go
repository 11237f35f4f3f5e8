package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestChangeOwnPassword: a user changes their own password with the
// current one; their other sessions end, this one stays; the old password
// no longer signs in. An administrator's reset with must_change_password
// is reported by the login answer until the user changes it. Bad input is
// refused with its code and changes nothing.
func TestChangeOwnPassword(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			f := e.fx
			other := e.login("insp1", "password-insp1", uuid.NewString())["access_token"].(string)
			if r := e.do(other, "GET", "/v1/me", nil); r.Status != 200 {
				t.Fatalf("the other session before: %d", r.Status)
			}
			for _, c := range []struct {
				body       map[string]any
				code, fild string
			}{
				{map[string]any{"current_password": "wrong-password", "new_password": "a-new-long-password"}, "current_password_incorrect", "current_password"},
				{map[string]any{"current_password": "password-insp1", "new_password": "short"}, "weak_password", "new_password"},
				{map[string]any{"new_password": "a-new-long-password"}, "required", "current_password"},
			} {
				r := e.do("insp1", "POST", "/v1/me/password", c.body)
				if r.Status != 400 || r.code(t) != c.code || r.json(t)["field"] != c.fild {
					t.Errorf("%v: %d %s", c.body, r.Status, r.Body)
				}
			}
			if r := e.do(other, "GET", "/v1/me", nil); r.Status != 200 {
				t.Fatalf("a refused change ended the other session: %d", r.Status)
			}
			if r := e.do("insp1", "POST", "/v1/me/password", map[string]any{"current_password": "password-insp1", "new_password": "a-new-long-password"}); r.Status != 204 {
				t.Fatalf("change: %d %s", r.Status, r.Body)
			}
			if r := e.do("insp1", "GET", "/v1/me", nil); r.Status != 200 {
				t.Errorf("this session after the change: %d", r.Status)
			}
			if r := e.do(other, "GET", "/v1/me", nil); r.Status != 401 || r.code(t) != "session_revoked" {
				t.Errorf("the other session after the change: %d %s", r.Status, r.Body)
			}
			if r := e.do("", "POST", "/v1/auth/login", map[string]any{"username": "insp1", "password": "password-insp1", "device_id": uuid.NewString()}); r.Status != 401 {
				t.Errorf("the old password signs in: %d", r.Status)
			}
			if g := e.login("insp1", "a-new-long-password", uuid.NewString()); g["must_change_password"] != false {
				t.Errorf("login answer: %v", g)
			}
			if a, _ := e.auditList("action=user.password_change"); len(a) != 1 || a[0]["record_id"] != f.users["insp1"].ID {
				t.Errorf("audit: %v", a)
			}

			// An administrator's reset that asks for a change.
			u := e.must(200, "admin", "GET", "/v1/users/"+f.users["insp2"].ID, nil)
			e.must(200, "admin", "PATCH", "/v1/users/"+f.users["insp2"].ID, map[string]any{"password": "temporary-password",
				"must_change_password": true, "version": u["version"]})
			if u := e.must(200, "admin", "GET", "/v1/users/"+f.users["insp2"].ID, nil); u["must_change_password"] != true {
				t.Errorf("the user after the reset: %v", u)
			}
			g := e.login("insp2", "temporary-password", uuid.NewString())
			if g["must_change_password"] != true {
				t.Fatalf("login after the reset: %v", g)
			}
			tok := g["access_token"].(string)
			// Until the change, the account may only change its password,
			// read /v1/me, refresh and sign out; everything else is a 403
			// with its own code, in the request's language.
			e.tokens["insp2-reset"] = tok
			for _, c := range []struct{ method, path, lang, word string }{
				{"GET", "/v1/items", "zh-CN", "请先修改密码"},
				{"GET", "/v1/tasks", "en", "choose a new password"},
				{"POST", "/v1/sync/push", "", "请先修改密码"},
				{"POST", "/v1/sync/pull", "en-US", "choose a new password"},
			} {
				r := e.send("insp2-reset", c.method, c.path, "application/json", []byte(`{}`), map[string]string{"Accept-Language": c.lang})
				if r.Status != 403 || r.code(t) != "password_change_required" || !strings.Contains(fmt.Sprint(r.json(t)["detail"]), c.word) {
					t.Errorf("%s %s before the change: %d %s", c.method, c.path, r.Status, r.Body)
				}
			}
			if r := e.do(tok, "GET", "/v1/me", nil); r.Status != 200 || r.json(t)["must_change_password"] != true {
				t.Errorf("/v1/me before the change: %d %s", r.Status, r.Body)
			}
			refreshed := e.must(200, "", "POST", "/v1/auth/refresh", map[string]any{"refresh_token": g["refresh_token"]})
			if refreshed["must_change_password"] != true {
				t.Errorf("the refresh answer before the change: %v", refreshed)
			}
			tok = refreshed["access_token"].(string)
			if r := e.do(tok, "GET", "/v1/items", nil); r.Status != 403 || r.code(t) != "password_change_required" {
				t.Errorf("a refreshed token before the change: %d %s", r.Status, r.Body)
			}
			if r := e.do(tok, "POST", "/v1/me/password", map[string]any{"current_password": "temporary-password", "new_password": "my-own-password-2"}); r.Status != 204 {
				t.Fatalf("change after the reset: %d %s", r.Status, r.Body)
			}
			if g := e.login("insp2", "my-own-password-2", uuid.NewString()); g["must_change_password"] != false {
				t.Errorf("login after the change: %v", g)
			}
			if r := e.do(tok, "GET", "/v1/items", nil); r.Status != 200 {
				t.Errorf("after the change the session works again: %d %s", r.Status, r.Body)
			}
			if r := e.do(tok, "GET", "/v1/me", nil); r.Status != 200 || r.json(t)["must_change_password"] != false {
				t.Errorf("/v1/me after the change: %d %s", r.Status, r.Body)
			}
			// Only admins reset others' passwords.
			if r := e.do("supa", "PATCH", "/v1/users/"+f.users["insp2"].ID, map[string]any{"must_change_password": true, "version": 99}); r.Status != 403 {
				t.Errorf("a supervisor resets: %d %s", r.Status, r.Body)
			}
		})
	}
}
