// Package web is the supervisors' and unit leads' console and the public
// disclosure page: server-rendered html/template pages with a little
// progressive JavaScript, served by fieldsyncd itself. Templates, styles
// and scripts are embedded; nothing is fetched from the internet.
//
// The console reads and writes only through the capability services
// (auth, items, evidence, acceptance, reporting) as the signed-in user:
// what a page shows and what a form may change is decided by the same
// service methods, with the same authorization rules, as the JSON API. A browser signs in with the same accounts and throttling
// (auth.Login) and holds a session cookie instead of a bearer token.
package web

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/models/reporting"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DefaultIdle is how long a console session may sit unused before the
// browser must sign in again.
const DefaultIdle = 30 * time.Minute

// DefaultPackLimit bounds a pack uploaded to the pack-check page: one
// evidence file may be as large (models.DefaultEvidencePolicy.MaxSize).
const DefaultPackLimit = 512 << 20

// Config wires the console.
type Config struct {
	Service *models.Service
	// Key signs session cookies and CSRF tokens; derive it from the
	// server secret (authn.DeriveKey(secret, "web-console")). Every
	// server behind a load balancer must use the same.
	Key []byte
	// PackKeys sign evidence packs and verify uploaded ones.
	PackKeys pack.Keys
	Version  string
	Logger   *slog.Logger
	// Idle is the session's idle expiry; zero is DefaultIdle.
	Idle time.Duration
	// PackLimit bounds, in bytes, the upload the pack-check page takes;
	// zero is DefaultPackLimit. A larger pack is checked on the host
	// with fieldctl verify-pack.
	PackLimit int64
	// Tiles is a map tile URL template ({z}, {x}, {y}); empty draws the
	// sites' shapes alone, which works offline. TilesGCJ02 says the tiles
	// are in the GCJ-02 datum (AMap, Tencent), so the WGS-84 overlays
	// are shifted onto them.
	Tiles      string
	TilesGCJ02 bool
	// Reporting is the API's reporting service, shared so that the public
	// progress is counted once per process; nil makes one.
	Reporting *reporting.Service
	// Catalog is the API's message catalog, shared so that the locale
	// files are parsed once per process; nil builds one.
	Catalog *i18n.Catalog
}

// Console serves the pages.
type Console struct {
	cfg      Config
	svc      *models.Service
	auth     *auth.Service
	items    *items.Service
	evidence *evidence.Service
	accept   *acceptance.Service
	audit    *audit.Service
	report   *reporting.Service
	cat      *i18n.Catalog
	pages    map[string]*template.Template
	log      *slog.Logger
	idle     time.Duration
	csp      string
	sessKey  []byte
}

// New parses the embedded templates.
func New(cfg Config) (*Console, error) {
	if len(cfg.Key) < 32 {
		return nil, errors.New("web: the console needs a key of at least 32 bytes")
	}
	cat := cfg.Catalog
	if cat == nil {
		var err error
		if cat, err = i18n.New(); err != nil {
			return nil, err
		}
	}
	w := &Console{cfg: cfg, svc: cfg.Service, auth: auth.New(cfg.Service), items: items.New(cfg.Service), evidence: evidence.New(cfg.Service),
		accept: acceptance.New(cfg.Service), audit: audit.New(cfg.Service), report: cfg.Reporting, cat: cat, pages: map[string]*template.Template{}, log: cfg.Logger, idle: cfg.Idle, sessKey: cfg.Key}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.report == nil {
		w.report = reporting.New(cfg.Service)
	}
	if w.idle <= 0 {
		w.idle = DefaultIdle
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		w.pages[base] = t
	}
	img := "'self' data:"
	if cfg.Tiles != "" {
		img += " " + tileOrigin(cfg.Tiles)
	}
	w.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img +
		"; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return w, nil
}

// tileOrigin is the scheme and host of a tile URL template, for the
// Content-Security-Policy.
func tileOrigin(tmpl string) string {
	scheme, rest, ok := strings.Cut(tmpl, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	host = strings.NewReplacer("{s}", "*").Replace(host)
	return scheme + "://" + host
}

// Register adds the console's routes to app. The JSON API lives under
// /v1 and is untouched; unknown pages answer the console's 404 page to
// browsers only (a client that does not ask for HTML keeps the API's
// problem document).
func (w *Console) Register(app *fiber.App) {
	sub, _ := fs.Sub(staticFS, "static")
	app.Get("/static/:name", w.static(sub))
	app.Get("/", w.page(w.dashboard))
	app.Get("/login", w.open(w.loginForm))
	app.Post("/login", w.open(csrf(w.login)))
	app.Post("/logout", w.page(csrf(w.logout)))
	app.Post("/lang", w.open(csrf(w.setLang)))
	app.Get("/public", w.open(w.public))
	app.Get("/ledger", w.page(w.ledger))
	app.Get("/ledger.xlsx", w.page(w.ledgerFile("xlsx")))
	app.Get("/ledger.csv", w.page(w.ledgerFile("csv")))
	app.Get("/review", w.page(w.reviewQueue))
	app.Get("/items/:id", w.page(w.item))
	app.Post("/items/:id/decide", w.page(csrf(w.decide)))
	app.Get("/items/:id/submit", w.page(w.submitForm))
	app.Post("/items/:id/submit", w.page(csrf(w.submit)))
	app.Get("/items/:id/evidence-pack", w.page(w.packDownload))
	app.Get("/evidence/:id/thumb", w.page(w.evidenceImage(true)))
	app.Get("/evidence/:id/full", w.page(w.evidenceImage(false)))
	app.Get("/pack-verify", w.page(w.packVerifyForm))
	// The size is checked before the CSRF token is read: reading the
	// token parses the multipart body, which spools the file to disk.
	app.Post("/pack-verify", w.page(w.packSize(csrf(w.packVerify))))
	app.Get("/dispatch", w.page(w.dispatch))
	app.Get("/dispatch.xlsx", w.page(w.dispatchFile))
	app.Get("/password", w.page(w.passwordForm))
	app.Post("/password", w.page(csrf(w.changePassword)))
	app.Get("/admin/units", w.page(admin(w.units)))
	app.Post("/admin/units", w.page(csrf(admin(w.createUnit))))
	app.Get("/admin/users", w.page(admin(w.users)))
	app.Post("/admin/users", w.page(csrf(admin(w.createUser))))
	app.Post("/admin/users/:id", w.page(csrf(admin(w.changeUser))))
	app.Get("/admin/devices", w.page(admin(w.devices)))
	app.Post("/admin/devices/:id/revoke", w.page(csrf(admin(w.revokeDevice))))
	app.Get("/admin/import", w.page(manager(w.importForm)))
	app.Post("/admin/import", w.page(csrf(manager(w.importUpload))))
	app.Post("/admin/import/confirm", w.page(csrf(manager(w.importConfirm))))
	app.Get("/admin/audit", w.page(admin(w.auditLog)))
	app.Use(func(c *fiber.Ctx) error {
		if c.Method() == fiber.MethodGet && !strings.HasPrefix(c.Path(), "/v1/") && strings.Contains(c.Get(fiber.HeaderAccept), "text/html") {
			return w.open(func(c *fiber.Ctx, r *req) error { return notFound() })(c)
		}
		return c.Next()
	})
}

func (w *Console) static(sub fs.FS) fiber.Handler {
	return func(c *fiber.Ctx) error {
		name := c.Params("name")
		b, err := fs.ReadFile(sub, name)
		if err != nil || strings.Contains(name, "/") {
			return c.Status(http.StatusNotFound).SendString("not found")
		}
		switch {
		case strings.HasSuffix(name, ".css"):
			c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
		case strings.HasSuffix(name, ".js"):
			c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
		case strings.HasSuffix(name, ".svg"):
			c.Set(fiber.HeaderContentType, "image/svg+xml")
		default:
			c.Set(fiber.HeaderContentType, "application/octet-stream")
		}
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		// Embedded in the binary: they change only with a new version,
		// and the layout names them with the version.
		c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
		return c.Send(b)
	}
}

// notFound is the error every page gives for a record the user may not
// see or that does not exist: the service answers both the same way.
func notFound() error { return models.Errorf(models.CodeNotFound, "not found") }

// statusOf is the HTTP status of a domain error, by its kind, as the JSON
// API answers it.
func statusOf(err error) int {
	if e := models.AsError(err); e != nil {
		return e.Code.Kind().HTTPStatus()
	}
	return http.StatusInternalServerError
}
