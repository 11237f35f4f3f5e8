// Package config is the one configuration of fieldsync's commands: every
// setting is a flag and a FIELDSYNC_* environment variable (the flag wins),
// listed once in the options table below.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	// The zone database inside the binary: the distroless image has none
	// to rely on.
	_ "time/tzdata"

	"golang.org/x/text/language"

	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// Config is everything the server and the admin CLI need.
type Config struct {
	Addr        string
	MetricsAddr string
	DataDir     string
	MySQLDSN    string
	DBMaxConns  int
	// SyncConcurrency is how many pulls and pushes run at once.
	SyncConcurrency int
	S3Endpoint      string
	S3Bucket        string
	S3Region        string
	S3AccessKey     string
	S3SecretKey     string
	S3TLS           bool
	// S3PublicEndpoint is where devices reach the store; presigned URLs
	// name it. Empty: S3Endpoint.
	S3PublicEndpoint string
	// UploadsViaAPI sends evidence bytes through the API instead of
	// presigned URLs, for a store that devices cannot reach.
	UploadsViaAPI bool
	// CORSOrigins are the browser origins allowed to call the API
	// (comma-separated); empty allows none.
	CORSOrigins    string
	Secret         string
	SecretPrevious string
	AccessTTL      time.Duration
	RefreshTTL     time.Duration
	BodyLimit      int
	LogLevel       string
	LogFormat      string
	Demo           bool
	StampEvery     time.Duration
	SyncRetention  time.Duration
	PublicURL      string
	AbandonAfter   time.Duration
	TrustedProxies string
	// PublicCoordDecimals is how precisely the public disclosure shows
	// site coordinates.
	PublicCoordDecimals int
	TimeZone            string
	EscalateAfter       time.Duration
	// Lang is the language of fieldctl's messages and of what fieldsyncd
	// prints for a person (its -demo summary, the warning that no
	// administrator exists): zh-CN or en. The API and the console choose
	// per request.
	Lang string
	// MapTiles is the console map's tile URL template ({z}, {x}, {y});
	// empty draws the sites alone, offline. MapTilesDatum is wgs84 or
	// gcj02 (the datum the tiles are drawn in).
	MapTiles      string
	MapTilesDatum string
	// PprofAddr serves net/http/pprof for profiling; empty (the default)
	// serves nothing.
	PprofAddr string
	// ConsoleIdle ends a web console session after this long without a
	// request; PackCheckLimit bounds the console's pack-check upload.
	ConsoleIdle    time.Duration
	PackCheckLimit int
}

// option is one row of the table: flag name, environment variable,
// default, help, and whether the value is a secret (never printed).
type option struct {
	flag, env, def, help string
	secret               bool
	set                  func(c *Config, v string) error
	// boolean options are switches: -demo needs no value.
	boolean bool
}

func str(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

func integer(dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		*dst(c) = n
		return err
	}
}

func boolean(dst func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		*dst(c) = b
		return err
	}
}

func duration(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		*dst(c) = d
		return err
	}
}

var options = []option{
	{"addr", "FIELDSYNC_ADDR", ":8080", "address to listen on", false, str(func(c *Config) *string { return &c.Addr }), false},
	{"metrics-addr", "FIELDSYNC_METRICS_ADDR", "", "address of a listener of its own for Prometheus metrics (GET /metrics), e.g. 10.0.0.5:9464; keep it off the address the load balancer publishes. Empty serves no metrics", false, str(func(c *Config) *string { return &c.MetricsAddr }), false},
	{"data-dir", "FIELDSYNC_DATA_DIR", "./data", "directory of the embedded SQLite database, local blob store and generated secret", false, str(func(c *Config) *string { return &c.DataDir }), false},
	{"mysql-dsn", "FIELDSYNC_MYSQL_DSN", "", "MySQL/MariaDB DSN (user:pass@tcp(host:3306)/db); empty uses SQLite in the data dir", true, str(func(c *Config) *string { return &c.MySQLDSN }), false},
	{"db-max-conns", "FIELDSYNC_DB_MAX_CONNS", "32", "MySQL connection pool size", false, integer(func(c *Config) *int { return &c.DBMaxConns }), false},
	{"sync-concurrency", "FIELDSYNC_SYNC_CONCURRENCY", strconv.Itoa(fsync.DefaultLimits.Concurrent), "pulls and pushes the server runs at once; more wait their turn, so that a push holding the change log's counter is not slowed by many others (BENCHMARKS.md, fix 30)", false, integer(func(c *Config) *int { return &c.SyncConcurrency }), false},
	{"s3-endpoint", "FIELDSYNC_S3_ENDPOINT", "", "MinIO/S3 endpoint host:port; empty uses the local blob store in the data dir", false, str(func(c *Config) *string { return &c.S3Endpoint }), false},
	{"s3-bucket", "FIELDSYNC_S3_BUCKET", "fieldsync", "bucket for evidence (created if missing)", false, str(func(c *Config) *string { return &c.S3Bucket }), false},
	{"s3-region", "FIELDSYNC_S3_REGION", "us-east-1", "S3 region", false, str(func(c *Config) *string { return &c.S3Region }), false},
	{"s3-access-key", "FIELDSYNC_S3_ACCESS_KEY", "", "S3 access key", true, str(func(c *Config) *string { return &c.S3AccessKey }), false},
	{"s3-secret-key", "FIELDSYNC_S3_SECRET_KEY", "", "S3 secret key", true, str(func(c *Config) *string { return &c.S3SecretKey }), false},
	{"s3-tls", "FIELDSYNC_S3_TLS", "false", "use HTTPS for the S3 endpoint", false, boolean(func(c *Config) *bool { return &c.S3TLS }), true},
	{"s3-public-endpoint", "FIELDSYNC_S3_PUBLIC_ENDPOINT", "", "where phones reach the S3 store, e.g. https://files.example.cn (a TLS proxy that keeps the Host header, see docs/operations.md); presigned URLs name it. Empty: the S3 endpoint itself", false, str(func(c *Config) *string { return &c.S3PublicEndpoint }), false},
	{"uploads-via-api", "FIELDSYNC_UPLOADS_VIA_API", "false", "send evidence bytes through the API (upload and download) instead of presigned URLs to the S3 store, when phones cannot reach the store", false, boolean(func(c *Config) *bool { return &c.UploadsViaAPI }), true},
	{"cors-origins", "FIELDSYNC_CORS_ORIGINS", "", "comma-separated browser origins (https://console.example.cn) allowed to call the API from another origin; empty allows none", false, str(func(c *Config) *string { return &c.CORSOrigins }), false},
	{"secret", "FIELDSYNC_SECRET", "", "server secret (at least 32 characters) from which token, cursor and URL keys are derived; required with MySQL, generated into the data dir otherwise", true, str(func(c *Config) *string { return &c.Secret }), false},
	{"secret-previous", "FIELDSYNC_SECRET_PREVIOUS", "", "the secret before the last rotation; tokens signed with it stay valid until they expire", true, str(func(c *Config) *string { return &c.SecretPrevious }), false},
	{"access-ttl", "FIELDSYNC_ACCESS_TTL", "15m", "lifetime of access tokens", false, duration(func(c *Config) *time.Duration { return &c.AccessTTL }), false},
	{"refresh-ttl", "FIELDSYNC_REFRESH_TTL", "720h", "lifetime of an unused refresh token (an idle session)", false, duration(func(c *Config) *time.Duration { return &c.RefreshTTL }), false},
	{"body-limit", "FIELDSYNC_BODY_LIMIT", "1048576", "largest JSON request body, in bytes", false, integer(func(c *Config) *int { return &c.BodyLimit }), false},
	{"log-level", "FIELDSYNC_LOG_LEVEL", "info", "debug, info, warn or error", false, str(func(c *Config) *string { return &c.LogLevel }), false},
	{"log-format", "FIELDSYNC_LOG_FORMAT", "text", "text or json", false, str(func(c *Config) *string { return &c.LogFormat }), false},
	{"stamp-every", "FIELDSYNC_STAMP_EVERY", "200ms", "how often the sequencer numbers change rows committed unnumbered (by an older server during a rolling upgrade; writes number their own as they commit), and the audit log is chained", false, duration(func(c *Config) *time.Duration { return &c.StampEvery }), false},
	{"sync-retention", "FIELDSYNC_SYNC_RETENTION", "2160h", "how long removes stay in the change log; a device that has not synced for longer resets (default 90 days)", false, duration(func(c *Config) *time.Duration { return &c.SyncRetention }), false},
	{"public-url", "FIELDSYNC_PUBLIC_URL", "", "URL at which devices reach this server (for signed upload URLs of the local blob store); empty: http:// and the listening address", false, str(func(c *Config) *string { return &c.PublicURL }), false},
	{"abandoned-upload-after", "FIELDSYNC_ABANDONED_UPLOAD_AFTER", "72h", "after how long the janitor deletes the bytes of uploads that were never completed (the records stay pending)", false, duration(func(c *Config) *time.Duration { return &c.AbandonAfter }), false},
	{"trusted-proxies", "FIELDSYNC_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs of load balancers whose X-Forwarded-For names the client (login throttling per address)", false, str(func(c *Config) *string { return &c.TrustedProxies }), false},
	{"public-coord-decimals", "FIELDSYNC_PUBLIC_COORD_DECIMALS", "2", "decimals to which the unauthenticated public disclosure rounds site coordinates, 0 to 6 (2 ≈ 1 km)", false, integer(func(c *Config) *int { return &c.PublicCoordDecimals }), false},
	{"time-zone", "FIELDSYNC_TIME_ZONE", "Asia/Shanghai", "IANA time zone of the ledger's and reports' dates: a deadline imported as a date alone ends at midnight there, and dispatch periods start there", false, str(func(c *Config) *string { return &c.TimeZone }), false},
	{"lang", "FIELDSYNC_LANG", "zh-CN", "language of fieldctl's messages, of fieldsyncd's -demo summary and of its start-up warning that no administrator exists: zh-CN (Chinese) or en (English); the API and console choose the language per request", false, str(func(c *Config) *string { return &c.Lang }), false},
	{"escalate-after", "FIELDSYNC_ESCALATE_AFTER", "720h", "an item overdue at least this long, and not escalated within this long, goes up one supervision level (daily → special → key), checked hourly; 0 disables", false, duration(func(c *Config) *time.Duration { return &c.EscalateAfter }), false},
	{"map-tiles", "FIELDSYNC_MAP_TILES", "", "tile URL template of the web console's maps, e.g. https://t0.tianditu.gov.cn/vec_w/wmts?...&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY; empty draws the sites alone, which works offline", false, str(func(c *Config) *string { return &c.MapTiles }), false},
	{"map-tiles-datum", "FIELDSYNC_MAP_TILES_DATUM", "wgs84", "datum of the map tiles: wgs84 (Tianditu, OpenStreetMap) or gcj02 (AMap, Tencent), to which the console shifts its WGS-84 overlays", false, str(func(c *Config) *string { return &c.MapTilesDatum }), false},
	{"console-idle", "FIELDSYNC_CONSOLE_IDLE", "30m", "the web console signs a browser out after this long without a request (1m to 24h)", false, duration(func(c *Config) *time.Duration { return &c.ConsoleIdle }), false},
	{"pack-check-limit", "FIELDSYNC_PACK_CHECK_LIMIT", "536870912", "largest evidence pack, in bytes, the web console's pack-check page (证据包校验) takes; a larger one is checked with fieldctl verify-pack", false, integer(func(c *Config) *int { return &c.PackCheckLimit }), false},
	{"pprof-addr", "FIELDSYNC_PPROF_ADDR", "", "loopback address (127.0.0.1:6060) on which to serve Go's pprof profiles, for profiling under load; empty serves none", false, str(func(c *Config) *string { return &c.PprofAddr }), false},
	{"demo", "FIELDSYNC_DEMO", "false", "load the demo data set into an empty database and print the demo logins", false, boolean(func(c *Config) *bool { return &c.Demo }), true},
}

// FlagValue returns the value given to the configuration flag name among
// the flags at the start of args (before the command), as Load reads
// them: a switch such as -demo takes no value, every other flag takes
// the next argument unless written -flag=value. For what must be known
// when Load fails (fieldctl's -lang, to say why in the language asked
// for).
func FlagValue(args []string, name string) (string, bool) {
	var (
		val   string
		found bool
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		flagName, v, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !hasVal && !isSwitch(flagName) && i+1 < len(args) {
			i++
			v = args[i]
		}
		if flagName == name {
			val, found = v, true
		}
	}
	return val, found
}

// isSwitch reports whether the option named flag is a boolean switch.
func isSwitch(flag string) bool {
	for _, o := range options {
		if o.flag == flag {
			return o.boolean
		}
	}
	return false
}

// Load reads the configuration from args and the environment, and returns
// the arguments that follow the flags.
func Load(name string, args []string, getenv func(string) string, out io.Writer) (Config, []string, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	values := make([]*string, len(options))
	for i, o := range options {
		def := o.def
		if v := getenv(o.env); v != "" {
			def = v
		}
		shown := def
		if o.secret && shown != "" {
			shown = "***"
		}
		values[i] = &def
		usage := fmt.Sprintf("%s (env %s, default %q)", o.help, o.env, shown)
		set := func(v string) error { *values[i] = v; return nil }
		if o.boolean {
			fs.BoolFunc(o.flag, usage, set)
		} else {
			fs.Func(o.flag, usage, set)
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage of %s:\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	for i, o := range options {
		if err := o.set(&c, *values[i]); err != nil {
			return c, nil, fmt.Errorf("-%s / %s: %v", o.flag, o.env, err)
		}
	}
	return c, fs.Args(), c.validate()
}

func (c *Config) validate() error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return errors.New("log format must be text or json")
	}
	if c.SyncRetention < time.Hour {
		return errors.New("the sync retention must be at least an hour")
	}
	if c.StampEvery <= 0 {
		return errors.New("the stamp interval must be positive")
	}
	if _, err := ParseLang(c.Lang); err != nil {
		return err
	}
	if c.SyncConcurrency < 1 {
		return fmt.Errorf("FIELDSYNC_SYNC_CONCURRENCY %d must be at least 1", c.SyncConcurrency)
	}
	if c.AccessTTL <= 0 || c.RefreshTTL <= c.AccessTTL {
		return errors.New("token lifetimes must be positive, the refresh one longer than the access one")
	}
	if c.PublicCoordDecimals < 0 || c.PublicCoordDecimals > models.MaxCoordDecimals {
		return fmt.Errorf("FIELDSYNC_PUBLIC_COORD_DECIMALS must be 0 to %d", models.MaxCoordDecimals)
	}
	if c.MapTilesDatum != "wgs84" && c.MapTilesDatum != "gcj02" {
		return fmt.Errorf("FIELDSYNC_MAP_TILES_DATUM %q is not wgs84 or gcj02", c.MapTilesDatum)
	}
	if c.MapTiles != "" && !strings.HasPrefix(c.MapTiles, "https://") && !strings.HasPrefix(c.MapTiles, "http://") {
		return fmt.Errorf("FIELDSYNC_MAP_TILES %q is not an http(s) URL template", c.MapTiles)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" {
		return fmt.Errorf("FIELDSYNC_TIME_ZONE %q is not a time zone (e.g. Asia/Shanghai, UTC)", c.TimeZone)
	}
	if c.ConsoleIdle < time.Minute || c.ConsoleIdle > 24*time.Hour {
		return fmt.Errorf("FIELDSYNC_CONSOLE_IDLE %v must be between 1m and 24h", c.ConsoleIdle)
	}
	if c.PackCheckLimit < 1<<20 {
		return fmt.Errorf("FIELDSYNC_PACK_CHECK_LIMIT %d must be at least 1048576 (1 MB)", c.PackCheckLimit)
	}
	if c.EscalateAfter < 0 {
		return errors.New("FIELDSYNC_ESCALATE_AFTER must not be negative (0 disables escalation)")
	}
	if c.MetricsAddr != "" && c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") { // port 0: each picks its own
		return errors.New("FIELDSYNC_METRICS_ADDR must differ from FIELDSYNC_ADDR: metrics are served on a listener of their own")
	}
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return errors.New("FIELDSYNC_PPROF_ADDR must be a loopback address such as 127.0.0.1:6060: profiles reveal the server's memory")
		}
	}
	if c.S3Endpoint != "" && (c.S3AccessKey == "" || c.S3SecretKey == "") {
		return errors.New("FIELDSYNC_S3_ACCESS_KEY and FIELDSYNC_S3_SECRET_KEY are required with FIELDSYNC_S3_ENDPOINT")
	}
	if c.S3PublicEndpoint != "" && c.S3Endpoint == "" {
		return errors.New("FIELDSYNC_S3_PUBLIC_ENDPOINT needs FIELDSYNC_S3_ENDPOINT: the local blob store's URLs name FIELDSYNC_PUBLIC_URL")
	}
	for _, o := range c.Origins() {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("FIELDSYNC_CORS_ORIGINS: %q is not an origin such as https://console.example.cn (scheme and host, no path; * is not allowed)", o)
		}
	}
	return nil
}

// Markdown renders the options table for the README.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| variable | flag | default | meaning |\n| --- | --- | --- | --- |\n")
	for _, o := range options {
		fmt.Fprintf(&b, "| `%s` | `-%s` | `%s` | %s |\n", o.env, o.flag, o.def, o.help)
	}
	return b.String()
}

// Zone is the configured time zone; validated by Load, so UTC only for a
// Config made by hand without one.
func (c Config) Zone() *time.Location {
	if loc, err := time.LoadLocation(c.TimeZone); err == nil && c.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// Language is the language Lang names (validated by Load).
func (c Config) Language() language.Tag {
	l, _ := ParseLang(c.Lang)
	return l
}

// ParseLang reads a -lang / FIELDSYNC_LANG value: zh-CN (or zh, zh-Hans,
// …) or en (or en-US, …); empty is Chinese.
func ParseLang(s string) (language.Tag, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); {
	case v == "" || v == "zh" || strings.HasPrefix(v, "zh-") || strings.HasPrefix(v, "zh_"):
		return i18n.Default, nil
	case v == "en" || strings.HasPrefix(v, "en-") || strings.HasPrefix(v, "en_"):
		return language.English, nil
	}
	return i18n.Default, fmt.Errorf("-lang / FIELDSYNC_LANG %q: 只支持 zh-CN（中文）或 en（英文）/ only zh-CN (Chinese) or en (English)", s)
}

// SQLitePath is where the embedded database lives.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "fieldsync.db") }

// BlobDir is where the local blob store keeps objects.
func (c Config) BlobDir() string { return filepath.Join(c.DataDir, "blobs") }

// MinSecretLen is the shortest accepted server secret.
const MinSecretLen = 32

// Secrets returns the current and previous server secrets. With MySQL the
// secret must be configured, because every server process must share it;
// the embedded default generates one into the data dir on first start.
func (c Config) Secrets() (current, previous []byte, err error) {
	if c.SecretPrevious != "" {
		previous = []byte(c.SecretPrevious)
	}
	if c.Secret != "" {
		if len(c.Secret) < MinSecretLen {
			return nil, nil, fmt.Errorf("FIELDSYNC_SECRET must be at least %d characters", MinSecretLen)
		}
		return []byte(c.Secret), previous, nil
	}
	if c.MySQLDSN != "" {
		return nil, nil, errors.New("FIELDSYNC_SECRET is required with MySQL: every fieldsyncd process must share it")
	}
	path := c.secretPath()
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= MinSecretLen {
		return b, previous, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, nil, err
	}
	secret := []byte(hex.EncodeToString(raw))
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		return nil, nil, err
	}
	return secret, previous, nil
}

// secretPath is where the embedded default keeps its generated secret.
func (c Config) secretPath() string { return filepath.Join(c.DataDir, "secret") }

// ExistingSecrets returns the secrets as Secrets does, but never generates
// one: a tool that checks what a server signed needs that server's
// secret, and a fresh one would verify nothing.
func (c Config) ExistingSecrets() (current, previous []byte, err error) {
	if c.Secret == "" && c.MySQLDSN == "" {
		if _, err := os.Stat(c.secretPath()); err != nil {
			return nil, nil, fmt.Errorf("no server secret: set FIELDSYNC_SECRET or point -data-dir at the server's data (%w)", err)
		}
	}
	return c.Secrets()
}

// SyncEngine builds the sync engine; the cursor keys may be nil for
// maintenance commands, which issue no cursors.
func (c Config) SyncEngine(db *storage.DB, svc *models.Service, cursorKey, previousKey []byte, log *slog.Logger) *fsync.Engine {
	e := fsync.New(fsync.Config{Store: db, Service: svc, CursorKey: cursorKey, PreviousCursorKey: previousKey, Logger: log, Compactor: db,
		Limits: fsync.Limits{Concurrent: c.SyncConcurrency}})
	e.Retention = c.SyncRetention
	return e
}

// Proxies lists the trusted proxies.
func (c Config) Proxies() []string {
	var out []string
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Origins lists CORSOrigins' origins, empty when none is set.
func (c Config) Origins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
