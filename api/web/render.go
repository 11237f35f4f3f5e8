package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
)

// view is what every template gets: the request (user, language, CSRF
// token), the page's own data, and methods for words, dates and labels.
type view struct {
	*req
	w     *Console
	Title string
	// Nav names the menu entry to mark as current.
	Nav     string
	Data    any
	Flash   string
	Version string
	// words remembers the messages this page has rendered: a gallery
	// asks for the same labels once per photo.
	words map[string]string
}

// render writes a page with the layout.
func (w *Console) render(c *fiber.Ctx, r *req, status int, name, title, nav string, data any) error {
	t := w.pages[name]
	if t == nil {
		return fmt.Errorf("web: no template %s", name)
	}
	v := &view{req: r, w: w, Title: title, Nav: nav, Data: data, Version: w.cfg.Version}
	if f := c.Query("done"); f != "" && validFlash(f) {
		v.Flash = r.L.T("web.done."+f, nil)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Status(status).Send(buf.Bytes())
}

func validFlash(f string) bool {
	switch f {
	case "accepted", "rejected", "submitted", "signed_out", "password_changed", "unit_created", "user_created",
		"user_disable", "user_enable", "user_force", "device_revoked":
		return true
	}
	return false
}

// errorPage shows what went wrong in Chinese (or the user's language)
// and what to do about it.
func (w *Console) errorPage(c *fiber.Ctx, r *req, err error) error {
	status := statusOf(err)
	code := string(models.ErrorCode(err))
	if errors.Is(err, errCSRF) {
		status, code = http.StatusForbidden, "csrf"
	}
	if status == http.StatusInternalServerError {
		w.log.Error("console: page failed", "path", c.Path(), "err", err)
		code = "internal"
	}
	if status == http.StatusUnauthorized {
		code = "unauthenticated"
	}
	if e := models.AsError(err); e != nil && e.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	msg := r.L.T("web.err."+code, nil)
	if msg == "web.err."+code {
		// A code without a sentence of its own: say what failed, with the
		// code's message from the catalog (as the API's detail), and what
		// to do.
		detail := ""
		if e := models.AsError(err); e != nil {
			detail = r.L.Detail(string(e.Code), e.Field, e.Args, e.Message)
		}
		msg = r.L.T("web.err.other", map[string]any{"Code": code, "Detail": detail})
	}
	data := map[string]any{"Status": status, "Code": code, "Message": msg, "Back": c.Get(fiber.HeaderReferer) != ""}
	if code == string(models.CodeEvidenceChanged) {
		data["Reload"] = strings.TrimSuffix(c.Path(), "/decide")
	}
	return w.render(c, r, status, "error", r.L.T("web.err.title", nil), "", data)
}

// T is the message id in the user's language.
func (v *view) T(id string) string {
	if w, ok := v.words[id]; ok {
		return w
	}
	w := v.L.T(id, nil)
	if v.words == nil {
		v.words = map[string]string{}
	}
	v.words[id] = w
	return w
}

// Tf is the message id with named values: Tf "id" "Name" value ...
func (v *view) Tf(id string, kv ...any) string {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return v.L.T(id, m)
}

// Label is the word for an enumerated value (a status, a level, a flag
// code...) in the user's language; an unknown value shows as itself.
func (v *view) Label(kind, value string) string {
	id := "web." + kind + "." + value
	if s := v.T(id); s != id {
		return s
	}
	return value
}

// Time and Date show a time in the server's time zone
// (FIELDSYNC_TIME_ZONE).
func (v *view) Time(t any) string { return v.w.format(t, "2006-01-02 15:04") }
func (v *view) Date(t any) string { return v.w.format(t, "2006-01-02") }

// LastDay is the day before an exclusive end (a report period's end is
// the first moment after it).
func (v *view) LastDay(t time.Time) string { return v.w.format(t.Add(-time.Second), "2006-01-02") }

func (w *Console) format(t any, layout string) string {
	var tt time.Time
	switch x := t.(type) {
	case time.Time:
		tt = x
	case *time.Time:
		if x == nil {
			return "—"
		}
		tt = *x
	default:
		return "—"
	}
	if tt.IsZero() {
		return "—"
	}
	return tt.In(w.svc.Deadlines.Location()).Format(layout)
}

// FlagValue is a flag's measured value with its unit, in words the
// reader weighs at a glance: metres, then hours or days for times.
func (v *view) FlagValue(value float64, unit string) string {
	n := func(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }
	word := func(id string) string { return v.L.T("web.unit."+id, nil) }
	switch unit {
	case "m":
		return n(value, 0) + " " + word("m")
	case "bits":
		return n(value, 0) + " " + word("bits")
	case "s":
		value /= 3600
		if value < 1 {
			return n(value*3600, 0) + " " + word("s")
		}
		fallthrough
	case "h":
		if value >= 48 {
			return n(value/24, 0) + " " + word("d")
		}
		return n(value, 1) + " " + word("h")
	}
	return n(value, 1)
}

// Zone names the time zone the page's times are in.
func (v *view) Zone() string { return v.w.svc.Deadlines.Location().String() }

// CanDecide and CanSubmit say which forms to offer; the service decides
// again when they are sent.
func (v *view) CanDecide() bool {
	return v.Actor.Role == models.RoleAdmin || v.Actor.Role == models.RoleSupervisor
}

// IsAdmin and CanImport say which of the administrators' pages the menu
// offers (models.Actor.IsAdmin, CanManage); each page checks again.
func (v *view) IsAdmin() bool   { return v.Actor.IsAdmin() }
func (v *view) CanImport() bool { return v.Actor.CanManage() }
func (v *view) CanSubmit() bool { return v.Actor.Role != models.RoleInspector && v.Actor.Role != "" }
func (v *view) SignedIn() bool  { return v.Actor.UserID != "" }
func (v *view) IsZH() bool      { return v.L.IsZH() }

var funcs = template.FuncMap{
	"pct": func(a, b int) string {
		if b == 0 {
			return "0%"
		}
		return strconv.FormatFloat(float64(a)*100/float64(b), 'f', 1, 64) + "%"
	},
	"num": func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	"coord": func(f float64) string {
		return strconv.FormatFloat(f, 'f', 6, 64)
	},
	"deref": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return strconv.FormatFloat(*p, 'f', 6, 64)
	},
	"add": func(a, b int) int { return a + b },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"join": strings.Join,
}
