// Command fieldsim simulates inspectors' phones against a running
// fieldsync server and measures it: a load generator built on the
// reference client in mobile-contract. Run "fieldsim -h" for what it does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fieldsync/fieldsync/cmd/internal/config"
)

const help = `fieldsim simulates the phones of field inspectors against a running fieldsync
server and measures how it holds up: a load generator that is a real HTTP
client of the API, built on the reference client in mobile-contract/.

usage: fieldsim [flags] [-- server configuration flags]

What a run does:
  1. Set-up (unless -setup=false): creates, or finds from an earlier run, a
     simulated city of -inspectors inspectors, -items items, -sites sites and
     -tasks tasks (tasks/inspectors each) in the server's database. fieldsim
     opens that database itself, as fieldctl does, and creates the records
     through the same domain service as the API (the API would need a round
     trip and a token per record; this builds 50,000 tasks in minutes). It
     reads the server's configuration: FIELDSYNC_* variables, or the server's
     flags after "--" (e.g. -- -mysql-dsn 'root@tcp(127.0.0.1:3306)/fs').
     A second run with the same sizes creates nothing. The accounts are
     sim-admin and sim-i00001 … with the password -password: point fieldsim
     at a test server only, never at a production database.
  2. Signs in -devices phones, one per inspector (sim-i00001 …), each with a
     new device id and its own local store.
  3. Runs the scenario, every request loop bounded by -count, -duration and
     -timeout, and prints throughput, latency percentiles (p50/p90/p99/max)
     and bytes per operation and per HTTP route, and errors by code. With
     -json the report is one JSON document on stdout. On a terminal a
     progress bar shows on stderr.

Scenarios (-scenario):
  setup      only the set-up (step 1), with no server: the data set, and
             with -history N the inspectors' past notes until the change
             log holds N rows, written as pushed notes are (the growth runs
             of bench.sh measure the server at 1, 3 and 10 million)
  initial    every device pulls from scratch (its 50 tasks and the items,
             sites and checklists they need): latency and bytes before and
             after gzip
  delta      after an initial sync: a pull with no change; a pull after 1%
             of the inspector's tasks changed (at least one; the bytes as a
             share of the initial pull); a pull after 10 changed tasks (the
             changes are made as sim-admin through the API)
  push       pushes of -batches mutations (default 1,10,100), -count times
             each per device
  sustained  every device cycles push(-mutations) + pull once per -cycle
             (1000 devices, 10 mutations, 5s: 2,000 mutations/s offered) for
             -duration: mutations/s applied and p99
  ramp       the sustained cycle offered in rising steps (-ramp, mutations/s,
             each for -step) until one does not hold: push p99 at or over
             -target-p99, under -held-share of the offered mutations applied,
             or a failed cycle; reports capacity_mutations_per_second, the
             highest step that held, and each step's figures
  upload     -count photos per device through the server's upload flow,
             -concurrency at once, in rounds: declare, send the bytes (to
             the declaration's target, or with -via api through PUT
             /v1/evidence/{id}/content), complete (the server's analysis),
             each step timed; with MinIO each round is followed by a direct
             PutObject of the same bytes to the same bucket, and the
             throughputs compared
  pack       uploads -pack-mb of documents to one item (once; a later run
             reuses them), exports its evidence pack -count times, and reads
             the same objects straight from the store in alternating rounds
  day        the day in the field: initial sync, offline work with photos,
             reconnection in -waves waves (push, upload, pull), a final pull

Photos are generated JPEGs with EXIF GPS and time, inside the task's site
geofence or, for the -outside share, 300–800 m away; -photos DIR sends the
JPEGs of a directory instead. -server-pid samples the server's resident
memory while uploads and exports run. Only loopback servers are accepted.

Examples:
  # the embedded server, a small city, the whole day
  fieldsyncd -data-dir /tmp/fs &
  fieldsim -inspectors 20 -tasks 1000 -sites 200 -items 50 -devices 20 -- -data-dir /tmp/fs

  # MariaDB + MinIO: 1000 devices for a minute
  export FIELDSYNC_MYSQL_DSN='root@tcp(127.0.0.1:3306)/fieldsim' FIELDSYNC_SECRET=...
  fieldsim -scenario sustained -devices 1000 -duration 60s -json > sustained.json

  # 16 concurrent 10 MB photos, with the server's memory
  fieldsim -scenario upload -devices 16 -count 1 -photo-mb 10 -concurrency 16 -server-pid $(pidof fieldsyncd)

Flags:
`

// options are fieldsim's own flags.
type options struct {
	// Server is the first of Servers: the one the admin, the pack export
	// and the uploads through the API use.
	Server string
	// Servers are the -server addresses; devices are spread over them in
	// turn (device i talks to Servers[i % len]), as a round-robin load
	// balancer in front of several server processes would.
	Servers     []string
	Scenario    string
	Spec        spec
	Setup       bool
	Devices     int
	Concurrency int
	Duration    time.Duration
	Cycle       time.Duration
	Mutations   int
	Ramp        []int
	Step        time.Duration
	TargetP99   time.Duration
	HeldShare   float64
	Batches     []int
	Count       int
	Waves       int
	Photos      string
	PhotoMB     float64
	Outside     float64
	Via         string
	PackMB      int
	DocMB       int
	ServerPID   int
	Timeout     time.Duration
	JSON        bool
}

var scenarios = []string{"setup", "initial", "delta", "push", "sustained", "ramp", "upload", "pack", "day"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldsim:", err)
		os.Exit(1)
	}
}

// parse reads fieldsim's flags; the arguments after "--" are the
// server's configuration.
func parse(args []string, stderr io.Writer) (options, []string, error) {
	var o options
	fs := flag.NewFlagSet("fieldsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, help); fs.PrintDefaults() }
	fs.StringVar(&o.Server, "server", "http://127.0.0.1:8080", "`URL` of the fieldsync server (loopback only); several, comma-separated, spread the devices over server processes sharing one database")
	fs.StringVar(&o.Scenario, "scenario", "day", "what to run: "+strings.Join(scenarios, ", "))
	fs.IntVar(&o.Spec.Inspectors, "inspectors", 1000, "inspectors in the data set")
	fs.IntVar(&o.Spec.Tasks, "tasks", 50000, "tasks in the data set, spread evenly over the inspectors")
	fs.IntVar(&o.Spec.Sites, "sites", 10000, "sites in the data set")
	fs.IntVar(&o.Spec.Items, "items", 2000, "rectification items in the data set")
	fs.IntVar(&o.Spec.History, "history", 0, "set-up: add the inspectors' past notes until the change log holds this many rows (the growth runs)")
	fs.StringVar(&o.Spec.Password, "password", "fieldsim-password", "password of the simulated accounts")
	fs.BoolVar(&o.Setup, "setup", true, "create or reuse the data set in the server's database before the run")
	fs.IntVar(&o.Devices, "devices", 100, "phones to simulate, one per inspector")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "requests at once in the phases that are not paced by -cycle (logins, initial pulls, uploads)")
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, "how long the sustained scenario runs")
	fs.DurationVar(&o.Cycle, "cycle", 5*time.Second, "sustained: how often each device pushes and pulls")
	fs.IntVar(&o.Mutations, "mutations", 10, "sustained: mutations per push (a day records 6 per visit)")
	ramp := fs.String("ramp", "500,1000,1500,2000,2500,3000,4000", "ramp: offered mutations/s of each step, rising, comma-separated")
	fs.DurationVar(&o.Step, "step", 30*time.Second, "ramp: how long each step runs")
	fs.DurationVar(&o.TargetP99, "target-p99", 250*time.Millisecond, "ramp: a step holds while its push p99 stays under this")
	fs.Float64Var(&o.HeldShare, "held-share", 0.95, "ramp: a step holds while it applies at least this share of the mutations it offers")
	batches := fs.String("batches", "1,10,100", "push: batch sizes, comma-separated (1 to 100)")
	fs.IntVar(&o.Count, "count", 3, "repeats: pushes per batch size and device, photos per device, pack exports, visits per device in a day")
	fs.IntVar(&o.Waves, "waves", 4, "day: devices come back online in this many waves (at most one per device)")
	fs.StringVar(&o.Photos, "photos", "", "`DIR` of JPEGs to upload instead of generated photos")
	fs.Float64Var(&o.PhotoMB, "photo-mb", 0.5, "size of a generated photo, in MB (about)")
	fs.Float64Var(&o.Outside, "outside", 0.1, "share of photos taken outside the site's geofence")
	fs.StringVar(&o.Via, "via", "target", "upload: send the bytes to the declaration's target (target) or always through PUT /v1/evidence/{id}/content (api)")
	fs.IntVar(&o.PackMB, "pack-mb", 256, "pack: MiB of documents in the exported item")
	fs.IntVar(&o.DocMB, "doc-mb", 64, "pack: MiB per document")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "`PID` of the server, to sample its resident memory (same machine)")
	fs.DurationVar(&o.Timeout, "timeout", 15*time.Minute, "bound on the whole run")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	var rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	if fs.NArg() > 0 {
		return o, nil, fmt.Errorf("unexpected arguments %q (server configuration goes after --)", fs.Args())
	}
	var err error
	if o.Batches, err = intList(*batches); err != nil {
		return o, nil, fmt.Errorf("-batches: %w", err)
	}
	if o.Ramp, err = rampSteps(*ramp); err != nil {
		return o, nil, fmt.Errorf("-ramp: %w", err)
	}
	o.Servers = strings.Split(o.Server, ",")
	o.Server = o.Servers[0]
	return o, rest, o.validate()
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 100 {
			return nil, fmt.Errorf("%q: want numbers from 1 to 100", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// rampSteps reads -ramp: positive rates, each above the last.
func rampSteps(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("%q: want rising mutations/s above 0, e.g. 500,1000,2000", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func (o *options) validate() error {
	sp := o.Spec
	switch {
	case !slices.Contains(scenarios, o.Scenario):
		return fmt.Errorf("-scenario %q: want one of %s", o.Scenario, strings.Join(scenarios, ", "))
	case sp.Inspectors < 1 || sp.Items < 1 || sp.Sites < 1 || sp.Tasks < sp.Inspectors:
		return errors.New("the data set needs at least one inspector, item and site, and a task per inspector")
	case sp.History < 0 || sp.History > 100_000_000:
		return errors.New("-history: want 0 to 100000000 change rows")
	case o.Scenario == "setup" && !o.Setup:
		return errors.New("-scenario setup builds the data set: it cannot run with -setup=false")
	case o.Devices < 1 || o.Devices > sp.Inspectors:
		return fmt.Errorf("-devices %d: want 1 to -inspectors (%d)", o.Devices, sp.Inspectors)
	case o.Concurrency < 1 || o.Concurrency > 1000:
		return errors.New("-concurrency: want 1 to 1000")
	case o.Count < 1 || o.Count > 10000:
		return errors.New("-count: want 1 to 10000")
	case o.Duration <= 0 || o.Duration > 24*time.Hour || o.Timeout <= 0:
		return errors.New("-duration and -timeout must be positive (-duration at most 24h)")
	case o.Cycle <= 0:
		return errors.New("-cycle must be positive")
	case o.Step <= 0 || o.Step > 24*time.Hour || o.TargetP99 <= 0:
		return errors.New("-step (at most 24h) and -target-p99 must be positive")
	case o.HeldShare <= 0 || o.HeldShare > 1:
		return errors.New("-held-share: want a share above 0, at most 1")
	case o.Mutations < 1 || o.Mutations > 100:
		return errors.New("-mutations: want 1 to 100")
	case o.Waves < 1 || o.Waves > 1000:
		return errors.New("-waves: want 1 to 1000")
	case o.Via != "target" && o.Via != "api":
		return errors.New("-via: want target or api")
	case o.Outside < 0 || o.Outside > 1:
		return errors.New("-outside: want a share from 0 to 1")
	case o.PhotoMB <= 0 || o.PhotoMB > 100 || o.PackMB < 1 || o.DocMB < 1 || o.DocMB > 512:
		return errors.New("-photo-mb (0–100), -pack-mb (≥1) and -doc-mb (1–512) must be sizes")
	}
	for _, s := range o.Servers {
		if err := loopback(s); err != nil {
			return err
		}
	}
	return nil
}

// loopback refuses any server that is not on this machine: a load
// generator must never be pointed at someone else's host.
func loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-server %q: want a URL like http://127.0.0.1:8080", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-server %q: fieldsim only targets loopback addresses (127.0.0.0/8, ::1, localhost)", raw)
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, rest, err := parse(args, stderr)
	if err != nil {
		return err
	}
	cfg, extra, err := config.Load("fieldsim -- (server configuration)", rest, getenv, stderr)
	if err != nil {
		return err
	}
	if len(extra) > 0 {
		return fmt.Errorf("unexpected server arguments %q", extra)
	}
	if cfg.S3Endpoint != "" {
		if err := loopback("http://" + cfg.S3Endpoint); err != nil {
			return fmt.Errorf("the S3 endpoint: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	s, err := newSim(o, cfg, stdout, stderr)
	if err != nil {
		return err
	}
	rep, err := s.run(ctx)
	if rep != nil {
		if o.JSON {
			if werr := rep.writeJSON(stdout); werr != nil {
				return werr
			}
		} else {
			rep.writeText(stdout)
		}
	}
	return err
}
