// Command fieldsyncd is the fieldsync API server. With no configuration it
// runs on the embedded default: SQLite and a local blob directory under
// ./data. See the README for the settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/api/authn"
	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/api/web"
	"github.com/fieldsync/fieldsync/cmd/internal/config"
	"github.com/fieldsync/fieldsync/cmd/internal/demo"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/keys"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/storage"
	"github.com/fieldsync/fieldsync/storage/blob"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cfg, rest, err := config.Load("fieldsyncd", os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected arguments %q", rest)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldsyncd:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Config: cfg, Stdout: os.Stdout, Log: cfg.Logger(os.Stderr)}
	if err := m.Run(ctx); err != nil {
		m.Log.Error("fieldsyncd cannot start", "err", err)
		m.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	m.Log.Info("shutting down")
	if err := m.Close(); err != nil {
		m.Log.Error("shutdown", "err", err)
		os.Exit(1)
	}
}

// Main is the server process: Run starts it, Close stops it. End-to-end
// tests run it in-process on port 0.
type Main struct {
	Config config.Config
	Stdout io.Writer
	Log    *slog.Logger

	DB     *storage.DB
	Blobs  models.BlobStore
	Server *api.Server
	ln     net.Listener
	done   chan error
	// Metrics is what /metrics reports; it is served on its own listener
	// when FIELDSYNC_METRICS_ADDR is set.
	Metrics     *prometheus.Registry
	metricsLn   net.Listener
	metricsSrv  *http.Server
	metricsDone chan error

	stopEngine func()
	engineDone chan struct{}
	pprof      *http.Server
}

// Run opens the backends, refusing to start when one is unreachable,
// migrates, loads the demo data when asked, and starts serving.
func (m *Main) Run(ctx context.Context) error {
	current, previous, err := m.Config.Secrets()
	if err != nil {
		return err
	}
	packKeys, err := pack.KeysFor(current, previous)
	if err != nil {
		return err
	}
	if m.DB, err = m.Config.OpenStore(ctx, m.Log); err != nil {
		return err
	}
	blobs, where, err := m.Config.OpenBlobs(ctx)
	if err != nil {
		return err
	}
	m.Blobs = blobs
	svc := m.Config.Service(m.DB, m.Blobs)
	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return err
	}
	var (
		signed api.SignedBlobs
		local  *blob.LocalPresigner
	)
	switch b := m.Blobs.(type) {
	case *blob.MinIOStore:
		if !m.Config.UploadsViaAPI {
			svc.Presign = b // devices upload to MinIO directly
		}
	case *blob.LocalStore:
		base := strings.TrimSuffix(m.Config.PublicURL, "/")
		if base == "" {
			base = "http://" + m.ln.Addr().String()
		}
		local = &blob.LocalPresigner{Store: b, BaseURL: base, Key: keys.Derive(current, "blob-url"), Now: time.Now}
		svc.Presign, signed = local, local
	}
	// What the operator reads at start-up is in the configured language.
	say := i18n.MustNew().In(m.Config.Language())
	if m.Config.Demo {
		if err := m.loadDemo(ctx, svc, say); err != nil {
			return err
		}
	}
	if err := m.sayIfNoAdmin(ctx, svc, say); err != nil {
		return err
	}
	var previousCursorKey []byte
	if len(previous) > 0 {
		previousCursorKey = keys.Derive(previous, "sync-cursor")
	}
	engine := m.Config.SyncEngine(m.DB, svc, keys.Derive(current, "sync-cursor"), previousCursorKey, m.Log)
	if _, err := engine.Epoch(ctx); err != nil {
		return err
	}
	// A registry of the process's own, not the global default, so that
	// in-process tests can run several servers.
	m.Metrics = prometheus.NewRegistry()
	m.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m.DB.PoolCollector(),
		newAuditCollector(audit.New(svc)))
	if err := engine.RegisterMetrics(m.Metrics); err != nil {
		return err
	}
	if m.Config.MetricsAddr != "" {
		if m.metricsLn, err = net.Listen("tcp", m.Config.MetricsAddr); err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
	}
	bg, cancel := context.WithCancel(context.Background())
	chained := make(chan struct{})
	m.engineDone = make(chan struct{})
	escalatorDone, backfilled, janitorDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	// The escalator, the phash backfill, the janitor and the audit chainer
	// write to the database: Close waits for them before closing the pool.
	m.stopEngine = func() {
		cancel()
		<-m.engineDone
		<-escalatorDone
		<-backfilled
		<-janitorDone
		<-chained
	}
	go func() {
		defer close(m.engineDone)
		engine.Run(bg, m.Config.StampEvery, time.Hour)
	}()
	go func() {
		defer close(janitorDone)
		m.janitor(bg, svc, local)
	}()
	go func() {
		defer close(escalatorDone)
		m.escalator(bg, svc)
	}()
	go func() {
		defer close(backfilled)
		m.backfillPHashes(bg, svc)
	}()
	go func() {
		defer close(chained)
		m.chainAudit(bg, svc)
	}()
	m.Server = api.New(api.Config{
		Service:        svc,
		Sync:           engine,
		Blobs:          signed,
		TrustedProxies: m.Config.Proxies(),
		CORSOrigins:    m.Config.Origins(),
		Tokens:         authn.NewIssuer(current, previous, m.Config.AccessTTL, time.Now),
		Logger:         m.Log,
		BodyLimit:      m.Config.BodyLimit,
		Checks:         map[string]func(context.Context) error{"database": m.DB.Ping, "blobs": m.Blobs.Ping},
		Version:        version,
		PackKeys:       packKeys,
		Metrics:        m.Metrics,
		Console: web.Config{Key: keys.Derive(current, "web-console"), Tiles: m.Config.MapTiles,
			TilesGCJ02: m.Config.MapTilesDatum == "gcj02", Idle: m.Config.ConsoleIdle, PackLimit: int64(m.Config.PackCheckLimit)},
	})
	if err := m.servePprof(); err != nil {
		return err
	}
	m.done = make(chan error, 1)
	go func() { m.done <- m.Server.App().Listener(m.ln) }()
	if m.metricsLn != nil {
		m.metricsSrv = &http.Server{Handler: api.MetricsHandler(m.Metrics, m.Log), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		m.metricsDone = make(chan error, 1)
		go func() { m.metricsDone <- m.metricsSrv.Serve(m.metricsLn) }()
		m.Log.Info("fieldsyncd serving metrics", "addr", m.metricsLn.Addr().String())
	}
	m.Log.Info("fieldsyncd serving", "addr", m.ln.Addr().String(), "database", m.DB.Dialect(), "blobs", where, "version", version)
	return nil
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// MetricsAddr is the address of the metrics listener, "" when there is
// none.
func (m *Main) MetricsAddr() string {
	if m.metricsLn == nil {
		return ""
	}
	return m.metricsLn.Addr().String()
}

// Close stops serving, waiting for requests in flight, and closes the
// backends. Calling it again does nothing.
func (m *Main) Close() error {
	var errs []error
	if m.done != nil {
		errs = append(errs, m.Server.App().ShutdownWithTimeout(30*time.Second))
		// Closing the listener too ends a Serve that had not started yet
		// when Shutdown ran, which Shutdown alone would miss.
		m.ln.Close()
		if err := <-m.done; err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		m.done = nil
	} else if m.ln != nil {
		m.ln.Close() // start-up failed before serving
	}
	m.ln = nil
	if m.metricsDone != nil {
		// Metrics are served until the API has drained, so that a
		// shutdown can be watched.
		errs = append(errs, m.metricsSrv.Shutdown(context.Background()))
		if err := <-m.metricsDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.metricsDone = nil
	} else if m.metricsLn != nil {
		m.metricsLn.Close() // start-up failed before serving
	}
	m.metricsLn = nil
	if m.pprof != nil {
		m.pprof.Close()
		m.pprof = nil
	}
	if m.stopEngine != nil {
		m.stopEngine()
		m.stopEngine = nil
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
		m.DB = nil
	}
	return errors.Join(errs...)
}

// servePprof serves Go's profiles on the configured loopback address,
// apart from the API (no route of the API ever exposes them), so that a
// CPU profile can be taken while the server is under load.
func (m *Main) servePprof() error {
	if m.Config.PprofAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.Config.PprofAddr)
	if err != nil {
		return fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.pprof = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go m.pprof.Serve(ln)
	m.Log.Info("serving pprof profiles", "addr", ln.Addr().String())
	return nil
}

// AdminCommand is the command that creates the first administrator, as
// the log names it when there is none.
const AdminCommand = "fieldctl admin create -username admin -unit CITY -unit-name 某某市人民政府"

// sayIfNoAdmin logs, once at start-up and in the configured language,
// that no administrator exists and the command that creates one on the
// server host (with the server's configuration: the same flags or
// FIELDSYNC_* variables).
func (m *Main) sayIfNoAdmin(ctx context.Context, svc *models.Service, say *i18n.Localizer) error {
	ok, err := items.New(svc).AdminExists(ctx)
	if err != nil || ok {
		return err
	}
	m.Log.Warn(say.T("cli.server.no_admin", nil), "command", AdminCommand)
	return nil
}

// loadDemo fills an empty database with the demo data set and prints the
// demo logins. On a database that already has users it loads nothing.
func (m *Main) loadDemo(ctx context.Context, svc *models.Service, say *i18n.Localizer) error {
	var n int64
	if err := m.DB.Tx(ctx, func(tx models.Tx) error {
		var err error
		n, err = tx.Count(&models.User{}, nil)
		return err
	}); err != nil {
		return err
	}
	if n > 0 {
		m.Log.Info("demo: the database already has users; not loading the demo data set")
		return nil
	}
	sum, err := demo.Load(ctx, svc, time.Now())
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	fmt.Fprintln(m.Stdout, say.T("cli.seed.done", map[string]any{"Units": sum.Units, "Users": sum.Users, "Items": sum.Items,
		"Sites": sum.Sites, "Templates": sum.Templates, "Tasks": sum.Tasks, "Photos": sum.Photos}))
	fmt.Fprintln(m.Stdout, say.T("cli.demo.campaign", map[string]any{"Days": demo.CampaignDays}))
	fmt.Fprintln(m.Stdout, say.T("cli.demo.logins", map[string]any{"Password": demo.Password}))
	for _, l := range sum.Logins {
		fmt.Fprintf(m.Stdout, "  %-12s %s\n", l.Username, say.T("web.role."+l.Role, nil))
	}
	return nil
}

// every runs job every interval until ctx ends; a failure is logged and
// the next tick tries again.
func (m *Main) every(ctx context.Context, interval time.Duration, what string, job func(context.Context) error) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := job(ctx); err != nil && ctx.Err() == nil {
			m.Log.Warn(what+" failed", "err", err)
		}
	}
}

// chainAudit chains the audit log every StampEvery until ctx ends, and
// once more then, so that what the last requests wrote is chained before
// the database closes. Every server runs one; they take turns on the
// chain head's row lock, so any one of them keeps the chain current.
func (m *Main) chainAudit(ctx context.Context, core *models.Service) {
	svc := audit.New(core)
	m.every(ctx, m.Config.StampEvery, "audit: chaining the audit log", func(ctx context.Context) error {
		_, err := svc.ChainAudit(ctx)
		return err
	})
	final, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := svc.ChainAudit(final); err != nil {
		m.Log.Warn("audit: chaining at shutdown failed; the next start chains the rest", "err", err)
	}
}

// janitor deletes, every hour until ctx ends, the bytes of abandoned
// uploads and the login attempts the throttle no longer reads.
func (m *Main) janitor(ctx context.Context, core *models.Service, local *blob.LocalPresigner) {
	svc, logins := evidence.New(core), auth.New(core)
	m.every(ctx, time.Hour, "janitor", func(ctx context.Context) error {
		cutoff := time.Now().Add(-m.Config.AbandonAfter)
		n, err := svc.CleanAbandonedUploads(ctx, cutoff)
		if err == nil && local != nil {
			var parts int
			parts, err = local.AbortStale(ctx, cutoff)
			n += parts
		}
		if n > 0 {
			m.Log.Info("janitor: cleaned abandoned uploads", "count", n)
		}
		_, perr := logins.PruneLoginAttempts(ctx, time.Now())
		return errors.Join(err, perr)
	})
}

// backfillPHashes adds to the near-duplicate index, at start and then
// hourly, the verified photos missing from it (evidence.BackfillPHashes:
// those verified before the index existed); once all are in, a run is one
// query.
func (m *Main) backfillPHashes(ctx context.Context, core *models.Service) {
	svc := evidence.New(core)
	run := func(ctx context.Context) error {
		n, err := svc.BackfillPHashes(ctx, func(id string, err error) {
			m.Log.Warn("phash backfill: photo left out of the near-duplicate index", "evidence", id, "err", err)
		})
		if n > 0 {
			m.Log.Info("phash backfill: photos added to the near-duplicate index", "count", n)
		}
		return err
	}
	if err := run(ctx); err != nil && ctx.Err() == nil {
		m.Log.Warn("phash backfill failed; it runs again in an hour", "err", err)
	}
	m.every(ctx, time.Hour, "phash backfill", run)
}

// escalator raises the supervision level of long-overdue items every hour
// until ctx ends; every server runs it, and the version check on each
// item keeps two of them from raising one item twice.
func (m *Main) escalator(ctx context.Context, svc *models.Service) {
	if svc.Deadlines.EscalateAfter <= 0 {
		return
	}
	m.every(ctx, time.Hour, "escalation", func(ctx context.Context) error {
		n, err := items.New(svc).EscalateOverdue(ctx, time.Now())
		if n > 0 {
			m.Log.Info("escalated overdue items", "count", n)
		}
		return err
	})
}
