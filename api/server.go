// Package api is fieldsync's HTTP interface: Fiber handlers that decode a
// request, call the domain service and encode the answer, plus the
// middleware around them (request ids, logs, auth, limits).
package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldsync/fieldsync/api/authn"
	"github.com/fieldsync/fieldsync/api/web"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/models/reporting"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// defaultRetryAfter is what a client is told to wait when a backend is
// down.
const defaultRetryAfter = 5 * time.Second

// Config wires the server.
type Config struct {
	Service *models.Service
	Sync    *fsync.Engine
	Tokens  *authn.Issuer
	// Blobs serves the API-signed URLs of the local blob store; nil when
	// the store signs its own (MinIO) or evidence streams through the API.
	Blobs  SignedBlobs
	Logger *slog.Logger
	// BodyLimit bounds JSON request bodies, in bytes.
	BodyLimit int
	// Checks are the backends /readyz reports, by name.
	Checks map[string]func(context.Context) error
	// Version is reported by /healthz.
	Version string
	// TrustedProxies are the load balancers whose X-Forwarded-For gives
	// the client's address (for login throttling and logs); empty trusts
	// none and uses the connection's address.
	TrustedProxies []string
	// PackKeys sign evidence packs; without a signer the pack routes are
	// not served.
	PackKeys pack.Keys
	// Metrics receives the API's metrics (request latency, upload bytes);
	// nil leaves them unexported.
	Metrics prometheus.Registerer
	// Timeouts bound slow clients; zero fields take DefaultTimeouts.
	Timeouts Timeouts
	// Console serves the web console and the public page at /; its Key
	// must be set (at least 32 bytes) for it to be served. Service,
	// PackKeys, Version and Logger are filled in from this Config.
	Console web.Config
	// CORSOrigins are the browser origins (https://console.example.cn)
	// allowed to call the API from another origin; empty allows none and
	// sends no CORS headers.
	CORSOrigins []string
}

// Server holds the handlers' dependencies.
type Server struct {
	svc      *models.Service
	auth     *auth.Service
	audit    *audit.Service
	items    *items.Service
	evidence *evidence.Service
	accept   *acceptance.Service
	report   *reporting.Service
	sync     *fsync.Engine
	blobs    SignedBlobs
	tokens   *authn.Issuer
	log      *slog.Logger
	checks   map[string]func(context.Context) error
	ver      string
	packs    pack.Keys
	times    Timeouts
	app      *fiber.App
	m        *httpMetrics
}

// New builds the Fiber app with every route.
func New(cfg Config) *Server {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 1 << 20
	}
	s := &Server{svc: cfg.Service, auth: auth.New(cfg.Service), audit: audit.New(cfg.Service), items: items.New(cfg.Service), evidence: evidence.New(cfg.Service), accept: acceptance.New(cfg.Service), report: reporting.New(cfg.Service), sync: cfg.Sync, blobs: cfg.Blobs, tokens: cfg.Tokens, log: cfg.Logger, checks: cfg.Checks, ver: cfg.Version,
		packs: cfg.PackKeys, times: cfg.Timeouts.orDefaults(), m: newHTTPMetrics()}
	if cfg.Metrics != nil {
		s.m.register(cfg.Metrics)
	}
	s.app = fiber.New(fiber.Config{
		AppName:   "fieldsync",
		BodyLimit: cfg.BodyLimit,
		// Large bodies (evidence uploads) reach their handler as a stream;
		// JSON decoding enforces BodyLimit itself.
		StreamRequestBody: true,
		// Behind a load balancer every client would share its address;
		// trusted proxies pass the real one on.
		EnableTrustedProxyCheck: len(cfg.TrustedProxies) > 0,
		TrustedProxies:          cfg.TrustedProxies,
		ProxyHeader:             proxyHeader(cfg.TrustedProxies),
		EnableIPValidation:      true,
		ErrorHandler:            s.errorHandler,
		DisableStartupMessage:   true,
		ReadTimeout:             s.times.Header,
		WriteTimeout:            s.times.Write,
		IdleTimeout:             s.times.Idle,
	})
	s.app.Server().HeaderReceived = s.times.afterHeaders
	s.app.Use(func(c *fiber.Ctx) error { c.Locals(timeoutsKey, s.times); return c.Next() })
	s.app.Use(securityHeaders)
	s.app.Use(dropBadRequestID)
	s.app.Use(requestid.New(requestid.Config{ContextKey: requestIDKey}))
	// The access log wraps recover, so that a panic is logged and
	// measured as the 500 it becomes.
	s.app.Use(s.accessLog)
	s.app.Use(recover.New())
	if len(cfg.CORSOrigins) > 0 {
		s.app.Use(corsFor(cfg.CORSOrigins))
	}
	s.routes()
	if len(cfg.Console.Key) > 0 {
		wc := cfg.Console
		wc.Service, wc.PackKeys, wc.Version, wc.Logger, wc.Reporting = cfg.Service, cfg.PackKeys, cfg.Version, cfg.Logger, s.report
		wc.Catalog = catalog
		console, err := web.New(wc)
		if err != nil {
			panic(err) // the embedded templates are part of the binary
		}
		console.Register(s.app)
	}
	s.m.learnRoutes(s.app)
	return s
}

// App returns the Fiber app (for Listen and for tests).
func (s *Server) App() *fiber.App { return s.app }

func (s *Server) routes() {
	a := s.app
	a.Get("/healthz", s.healthz)
	a.Get("/readyz", s.readyz)
	s.docsRoutes()

	v1 := a.Group("/v1")
	if s.blobs != nil {
		v1.Put("/blobs/:token", s.putBlob)
		v1.Get("/blobs/:token", s.getBlob)
	}
	v1.Post("/auth/login", s.login)
	v1.Post("/auth/refresh", s.refresh)
	v1.Get("/public/progress", s.publicProgress)
	v1.Get("/public/items", s.publicItems)
	v1.Get("/public/photos/:id", s.publicPhoto)
	if s.packs.Signer != nil {
		v1.Get("/evidence-pack/keys", s.packKeys)
	}

	// Authentication is added per route, not to the group, so that an
	// unknown path is a 404 rather than a 401.
	p := authed{v1, s.authenticate}
	p.Post("/auth/logout", s.logout)
	p.Get("/me", s.me)
	p.Post("/me/password", s.changePassword)

	p.Get("/units", list(unitFilter, s.items.ListUnits))
	p.Post("/units", create(s.items.CreateUnit))
	p.Get("/units/:id", get(s.items.GetUnit))
	p.Patch("/units/:id", update(s.items.UpdateUnit))

	p.Get("/users", list(userFilter, s.items.ListUsers))
	p.Post("/users", create(s.items.CreateUser))
	p.Get("/users/:id", get(s.items.GetUser))
	p.Patch("/users/:id", update(s.items.UpdateUser))

	p.Get("/devices", list(func(c *fiber.Ctx) (string, error) { return idQuery(c, "user_id") }, s.auth.ListDevices))
	p.Post("/devices/:id/revoke", s.revokeDevice)

	p.Get("/items", list(s.sortedItemFilter, s.items.ListItems))
	p.Post("/items", create(s.items.CreateItem))
	p.Get("/items/:id", get(s.items.GetItem))
	p.Patch("/items/:id", update(s.items.UpdateItem))
	p.Post("/items/import", s.importItems)
	p.Get("/items/:id/extensions", s.listExtensions)
	p.Post("/items/:id/extensions", s.requestExtension)
	p.Post("/items/:id/extensions/:ext/decision", s.decideExtension)
	p.Get("/ledger.xlsx", s.ledgerXLSX)
	p.Get("/ledger.csv", s.ledgerCSV)
	p.Get("/reports/dispatch", s.dispatch)
	p.Get("/reports/dispatch.xlsx", s.dispatchXLSX)
	if s.packs.Signer != nil {
		p.Get("/items/:id/evidence-pack", s.evidencePack)
	}

	p.Get("/sites", list(siteFilter, s.items.ListSites))
	p.Post("/sites", create(s.items.CreateSite))
	p.Get("/sites/:id", get(s.items.GetSite))
	p.Patch("/sites/:id", update(s.items.UpdateSite))

	p.Get("/templates", list(noFilter, func(ctx context.Context, a models.Actor, _ struct{}, lp models.ListParams) (models.Page[models.ChecklistTemplate], error) {
		return s.items.ListTemplates(ctx, a, lp)
	}))
	p.Post("/templates", create(s.items.CreateTemplate))
	p.Get("/templates/:id", get(s.items.GetTemplate))
	p.Patch("/templates/:id", update(s.items.UpdateTemplate))

	p.Get("/tasks", list(taskFilter, s.items.ListTasks))
	p.Post("/tasks", create(s.items.CreateTask))
	p.Get("/tasks/:id", get(s.items.GetTask))
	p.Patch("/tasks/:id", update(s.items.UpdateTask))
	p.Post("/tasks/:id/assign", s.assignTask)
	p.Post("/tasks/:id/cancel", s.cancelTask)

	p.Post("/evidence", s.createEvidence)
	p.Get("/evidence", list(evidenceFilter, s.evidence.ListEvidence))
	p.Get("/evidence/:id", get(s.evidence.GetEvidence))
	p.Put("/evidence/:id/content", s.uploadEvidence)
	p.Post("/evidence/:id/complete", s.completeEvidence)
	p.Post("/evidence/:id/multipart", s.multipart)
	p.Post("/evidence/:id/multipart/complete", s.finishMultipart)
	p.Get("/evidence/:id/content", s.evidenceBytes(false))
	p.Get("/evidence/:id/thumbnail", s.evidenceBytes(true))
	p.Post("/evidence/:id/public", s.setEvidencePublic)

	s.reviewRoutes(p)

	p.Get("/audit", s.listAudit)

	p.Post("/sync/pull", gzipOnly, compress.New(), s.pull)
	p.Post("/sync/push", s.push)
}

// authed registers routes behind the authentication middleware (a write
// numbers its change rows for sync as it commits, in storage).
type authed struct {
	r    fiber.Router
	auth fiber.Handler
}

func (a authed) Get(path string, h fiber.Handler) { a.r.Get(path, a.auth, h) }
func (a authed) Post(path string, h ...fiber.Handler) {
	a.r.Post(path, append([]fiber.Handler{a.auth}, h...)...)
}
func (a authed) Patch(path string, h fiber.Handler) { a.r.Patch(path, a.auth, h) }
func (a authed) Put(path string, h fiber.Handler)   { a.r.Put(path, a.auth, h) }

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok", "version": s.ver})
}

// readyz reports each backend; any failure makes it 503.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
	defer cancel()
	status, code := "ok", fiber.StatusOK
	checks := map[string]fiber.Map{}
	for name, check := range s.checks {
		if err := check(ctx); err != nil {
			status, code = "unavailable", fiber.StatusServiceUnavailable
			s.log.Warn("readiness check failed", "backend", name, "err", err)
			checks[name] = fiber.Map{"ok": false, "error": "unreachable"}
			continue
		}
		checks[name] = fiber.Map{"ok": true}
	}
	return c.Status(code).JSON(fiber.Map{"status": status, "checks": checks})
}

func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}
