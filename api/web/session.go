package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/models"
)

// Cookie names. The session cookie holds the session id, the user and
// the time of the last request, signed; nothing else is kept in the
// browser. The device cookie names the browser as a device, so that a
// new sign-in from it ends its previous session as on a phone.
const (
	cookieSession = "fs_session"
	cookieDevice  = "fs_device"
	cookiePre     = "fs_pre"
	cookieLang    = "fs_lang"
	csrfField     = "_csrf"
	csrfHeader    = "X-CSRF-Token"
)

// req is what a page handler gets beside the Fiber context: the signed-in
// user (zero on public pages), the language and the CSRF token for its
// forms.
type req struct {
	Actor models.Actor
	L     *i18n.Localizer
	CSRF  string
	// Name is the user's display name, for the header.
	Name string
}

type handler func(*fiber.Ctx, *req) error

// open wraps a page anyone may see; a signed-in user is still recognised.
func (w *Console) open(h handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r := w.request(c)
		if a, ok := w.session(c); ok {
			r.Actor = a
			r.CSRF = w.token("csrf|" + a.SessionID)
		}
		return w.run(c, r, h)
	}
}

// page wraps a page that needs a signed-in user; without one a browser is
// sent to the sign-in page and back afterwards.
func (w *Console) page(h handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r := w.request(c)
		a, ok := w.session(c)
		if !ok {
			if c.Method() != fiber.MethodGet {
				return w.run(c, r, func(*fiber.Ctx, *req) error {
					return models.Errorf(models.CodeUnauthenticated, "sign in again")
				})
			}
			return c.Redirect("/login?next="+urlQueryEscape(c.OriginalURL()), http.StatusSeeOther)
		}
		r.Actor, r.CSRF = a, w.token("csrf|"+a.SessionID)
		return w.run(c, r, func(c *fiber.Ctx, r *req) error {
			if stopped, err := w.mustChange(c, r); stopped {
				return err
			}
			return h(c, r)
		})
	}
}

func (w *Console) run(c *fiber.Ctx, r *req, h handler) error {
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	c.Set("Content-Security-Policy", w.csp)
	if err := h(c, r); err != nil {
		return w.errorPage(c, r, err)
	}
	return nil
}

// request picks the language: the user's saved choice (a cookie), else
// Chinese. The browser's Accept-Language is not consulted: the console
// is for Chinese staff, many on browsers installed in English, and a
// page that changes language by machine confuses more than it helps.
func (w *Console) request(c *fiber.Ctx) *req {
	lang := i18n.Default
	if v := c.Cookies(cookieLang); v != "" {
		lang = i18n.Match(v)
	}
	r := &req{L: w.cat.In(lang)}
	// A visitor without a session gets a pre-session cookie, so that the
	// sign-in and language forms carry a CSRF token too.
	pre := c.Cookies(cookiePre)
	if len(pre) != 43 {
		pre = randomToken()
		w.setCookie(c, cookiePre, pre, 0)
	}
	r.CSRF = w.token("pre|" + pre)
	return r
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// token is an HMAC of what it binds (a session, a pre-session cookie).
func (w *Console) token(binding string) string {
	m := hmac.New(sha256.New, w.sessKey)
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// setCookie sets an HttpOnly, SameSite=Lax cookie for the whole site,
// Secure when the request came over TLS. maxAge 0 makes it last for the
// browser's session; negative deletes it.
func (w *Console) setCookie(c *fiber.Ctx, name, value string, maxAge int) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: c.Protocol() == "https", MaxAge: maxAge}
	if maxAge < 0 {
		ck.Expires = time.Unix(1, 0)
	}
	c.Cookie(ck)
}

// session reads and checks the session cookie: its signature, its idle
// time, and the session itself through the service (revoked sessions,
// revoked devices and disabled accounts end at once, as for the API). A
// good cookie is renewed with the time of this request.
func (w *Console) session(c *fiber.Ctx) (models.Actor, bool) {
	v := c.Cookies(cookieSession)
	body, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(w.token("session|"+body))) {
		return models.Actor{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return models.Actor{}, false
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 {
		return models.Actor{}, false
	}
	last, err := strconv.ParseInt(parts[2], 10, 64)
	now := w.svc.Now()
	if err != nil || now.Sub(time.Unix(last, 0)) > w.idle {
		w.setCookie(c, cookieSession, "", -1)
		return models.Actor{}, false
	}
	a, err := w.auth.Authenticate(c.UserContext(), parts[0])
	if err != nil || a.UserID != parts[1] {
		w.setCookie(c, cookieSession, "", -1)
		return models.Actor{}, false
	}
	w.startSession(c, a.SessionID, a.UserID)
	c.Locals("actor", a) // the access log names the user
	return a, true
}

func (w *Console) startSession(c *fiber.Ctx, sessionID, userID string) {
	body := base64.RawURLEncoding.EncodeToString([]byte(sessionID + "|" + userID + "|" + strconv.FormatInt(w.svc.Now().Unix(), 10)))
	w.setCookie(c, cookieSession, body+"."+w.token("session|"+body), 0)
}

// errCSRF is a state-changing request without this session's token: a
// 403 with a message of its own.
var errCSRF = errors.New("the form's CSRF token is missing or wrong")

// csrf refuses a state-changing request whose form field or header does
// not carry the token of this session (or, before sign-in, of this
// browser's pre-session cookie), then runs h.
func csrf(h handler) handler {
	return func(c *fiber.Ctx, r *req) error {
		got := c.Get(csrfHeader)
		if got == "" {
			got = c.FormValue(csrfField)
		}
		if got == "" || !hmac.Equal([]byte(got), []byte(r.CSRF)) {
			return errCSRF
		}
		return h(c, r)
	}
}

// deviceID is the browser's device id for username. A device belongs to
// the first account that signs in on it, so a browser shared by several
// people holds one device per account: the cookie names the account it
// was made for, and another account signing in gets a new device.
func (w *Console) deviceID(c *fiber.Ctx, username string) string {
	id, mac, _ := strings.Cut(c.Cookies(cookieDevice), ".")
	if models.ValidID(id) && hmac.Equal([]byte(mac), []byte(w.token("device|"+id+"|"+username))) {
		return id
	}
	id = uuid.NewString()
	w.setCookie(c, cookieDevice, id+"."+w.token("device|"+id+"|"+username), 400*24*3600)
	return id
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
