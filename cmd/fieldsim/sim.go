package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/fieldsync/fieldsync/cmd/internal/config"
	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// sim is one run: the devices, what they share, and what is measured.
type sim struct {
	o      options
	cfg    config.Config
	rec    *recorder
	meter  *meter
	client contract.Config // what every device's client is built from
	photos *photoSource
	stderr io.Writer
	// tty says whether to draw progress bars.
	tty     bool
	devices []*device
	admin   *contract.Client
	rep     *Report
}

func newSim(o options, cfg config.Config, stdout, stderr io.Writer) (*sim, error) {
	rec := newRecorder()
	m, err := newMeter(rec, o.Servers, max(o.Concurrency, 64))
	if err != nil {
		return nil, err
	}
	// A photo of about PhotoMB: generated JPEGs take about 0.62 bytes per
	// pixel at quality 90 with the noise they carry.
	px := o.PhotoMB * 1e6 / 0.62
	w := int(math.Sqrt(px * 4 / 3))
	photos, err := loadPhotos(o.Photos, w, w*3/4)
	if err != nil {
		return nil, err
	}
	f, ok := stdout.(*os.File)
	return &sim{o: o, cfg: cfg, rec: rec, meter: m, photos: photos, stderr: stderr, tty: ok && term.IsTerminal(int(f.Fd())),
		client: contract.Config{HTTP: m.client(), Retry: contract.RetryPolicy{Attempts: 3, Base: 200 * time.Millisecond, Max: 2 * time.Second, Jitter: 0.5}},
	}, nil
}

func (s *sim) run(ctx context.Context) (*Report, error) {
	s.rep = &Report{Scenario: s.o.Scenario, Server: strings.Join(s.o.Servers, ","), Started: time.Now().UTC(), Devices: s.o.Devices, Figures: map[string]float64{}}
	err := s.scenario(ctx)
	return s.finish(s.rep), err
}

func (s *sim) scenario(ctx context.Context) error {
	if s.o.Setup {
		bar := s.bar(0, "set-up")
		rep, err := setup(ctx, s.cfg, s.o.Spec, slog.New(slog.NewTextHandler(io.Discard, nil)), func(what string, done, total int) {
			if bar != nil {
				bar.ChangeMax(total)
				bar.Describe("set-up: " + what)
				bar.Set(done)
			}
		})
		s.done(bar)
		s.rep.Setup = &rep
		if err != nil {
			return fmt.Errorf("set-up: %w", err)
		}
	}
	if s.o.Scenario == "setup" {
		return nil
	}
	if err := s.login(ctx); err != nil {
		return err
	}
	switch s.o.Scenario {
	case "initial":
		return s.initial(ctx)
	case "delta":
		return s.delta(ctx)
	case "push":
		return s.pushes(ctx)
	case "sustained":
		return s.sustained(ctx)
	case "ramp":
		return s.ramp(ctx)
	case "upload":
		return s.upload(ctx)
	case "pack":
		return s.pack(ctx)
	}
	return s.day(ctx)
}

// login signs in every device, and sim-admin for the scenarios that
// change or export records.
func (s *sim) login(ctx context.Context) error {
	for i := range s.o.Devices {
		s.devices = append(s.devices, newDevice(s.o.Servers[i%len(s.o.Servers)], &s.client, inspectorName(i), uint64(i)+1))
	}
	if s.o.Scenario == "delta" || s.o.Scenario == "pack" {
		s.admin = newDevice(s.o.Server, &s.client, simAdmin, 0).c
		if err := s.admin.Login(ctx, simAdmin, s.o.Spec.Password); err != nil {
			return fmt.Errorf("sign in as %s: %w", simAdmin, err)
		}
	}
	// The server counts a login as failed until it succeeds and throttles
	// an address past 30 failures in 15 minutes: every device signs in
	// from this one address, so no more than a few at once.
	return s.each(ctx, "sign in", len(s.devices), min(s.o.Concurrency, 8), func(ctx context.Context, i int) error {
		d := s.devices[i]
		start := time.Now()
		err := d.c.Login(ctx, d.user, s.o.Spec.Password)
		s.rec.op("login", start, err)
		if err != nil {
			return fmt.Errorf("sign in as %s: %w", d.user, err)
		}
		return nil
	})
}

// each runs fn for 0..n-1, conc at a time, with a progress bar; it waits
// for every call and returns the first error.
func (s *sim) each(ctx context.Context, what string, n, conc int, fn func(ctx context.Context, i int) error) error {
	bar := s.bar(n, what)
	defer s.done(bar)
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
				if bar != nil {
					bar.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return cmpErr(first, ctx.Err())
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// tick advances bar once a second until the returned channel is closed.
func (s *sim) tick(bar *progressbar.ProgressBar) chan struct{} {
	stop := make(chan struct{})
	go func() {
		for t := time.NewTicker(time.Second); ; {
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
				if bar != nil {
					bar.Add(1)
				}
			}
		}
	}()
	return stop
}

// bar returns a progress bar on stderr when stdout is a terminal, else nil.
func (s *sim) bar(n int, what string) *progressbar.ProgressBar {
	if !s.tty {
		return nil
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(s.stderr), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish())
}

func (s *sim) done(bar *progressbar.ProgressBar) {
	if bar != nil {
		bar.Finish()
	}
}

// pullOp runs one device's Pull as operation op.
func (s *sim) pullOp(ctx context.Context, d *device, op string) (contract.PullReport, error) {
	start := time.Now()
	pr, err := d.c.Pull(ctx)
	s.rec.op(op, start, err)
	s.rec.bytes(op, int64(pr.Bytes), int64(pr.CompressedBytes))
	return pr, err
}

// pushed counts the mutations the server applied and rejected.
type pushed struct{ applied, rejected atomic.Int64 }

// pushOp runs one device's Push as operation op.
func (s *sim) pushOp(ctx context.Context, d *device, op string, tally *pushed) error {
	start := time.Now()
	pr, err := d.c.Push(ctx)
	s.rec.op(op, start, err)
	if tally != nil {
		tally.applied.Add(int64(pr.Applied))
		tally.rejected.Add(int64(len(pr.Rejected)))
	}
	return err
}

// initialSync pulls every device from scratch and reads what it got.
func (s *sim) initialSync(ctx context.Context) error {
	return s.each(ctx, "initial pull", len(s.devices), s.o.Concurrency, func(ctx context.Context, i int) error {
		d := s.devices[i]
		pr, err := s.pullOp(ctx, d, "pull.initial")
		if err != nil {
			return fmt.Errorf("%s: initial pull: %w", d.user, err)
		}
		d.initialBytes, d.initialWire = pr.Bytes, pr.CompressedBytes
		return d.learn()
	})
}
