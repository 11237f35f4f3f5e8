package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

func (s *sim) initial(ctx context.Context) error {
	if err := s.initialSync(ctx); err != nil {
		return err
	}
	s.perPull("pull.initial", "initial_pull")
	return nil
}

// perPull adds an operation's mean bytes per pull to the figures.
func (s *sim) perPull(op, figure string) {
	ops, _ := s.rec.snapshot()
	for _, r := range ops {
		if r.Name == op && r.Count > 0 {
			s.rep.Figures[figure+"_bytes"] = float64(r.BytesReceived) / float64(r.Count)
			s.rep.Figures[figure+"_gzip_bytes"] = float64(r.WireBytes) / float64(r.Count)
		}
	}
}

// delta measures pulls after an initial sync: with nothing changed,
// after 1% of each inspector's tasks changed, and after 10 changed.
func (s *sim) delta(ctx context.Context) error {
	if err := s.initialSync(ctx); err != nil {
		return err
	}
	s.perPull("pull.initial", "initial_pull")
	pullAll := func(op string, share func(d *device, pr contract.PullReport)) error {
		return s.each(ctx, op, len(s.devices), s.o.Concurrency, func(ctx context.Context, i int) error {
			pr, err := s.pullOp(ctx, s.devices[i], op)
			if err == nil && share != nil {
				share(s.devices[i], pr)
			}
			return err
		})
	}
	if err := pullAll("pull.delta0", nil); err != nil {
		return err
	}
	s.perPull("pull.delta0", "delta0_pull")
	onePct := max(1, int(math.Ceil(float64(len(s.devices[0].tasks))/100)))
	if err := s.changeTasks(ctx, onePct); err != nil {
		return err
	}
	var mu sync.Mutex
	var raw, wire, n float64
	if err := pullAll("pull.delta1pct", func(d *device, pr contract.PullReport) {
		mu.Lock()
		defer mu.Unlock()
		raw += float64(pr.Bytes) / float64(d.initialBytes)
		wire += float64(pr.CompressedBytes) / float64(d.initialWire)
		n++
	}); err != nil {
		return err
	}
	s.rep.Figures["delta_1pct_tasks_changed"] = float64(onePct)
	s.rep.Figures["delta_1pct_share_of_initial"] = raw / n
	s.rep.Figures["delta_1pct_share_of_initial_gzip"] = wire / n
	s.perPull("pull.delta1pct", "delta1pct_pull")
	if err := s.changeTasks(ctx, 10); err != nil {
		return err
	}
	if err := pullAll("pull.delta10", nil); err != nil {
		return err
	}
	s.perPull("pull.delta10", "delta10_pull")
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("1%% of an inspector's %d tasks rounds up to %d changed task(s); "+
		"delta_1pct_share_of_initial is that pull's bytes over the initial pull's, averaged over the devices", len(s.devices[0].tasks), onePct))
	return nil
}

// changeTasks moves the due date of n tasks of each device's inspector,
// as sim-admin through the API.
func (s *sim) changeTasks(ctx context.Context, n int) error {
	return s.each(ctx, fmt.Sprintf("change %d tasks each", n), len(s.devices), s.o.Concurrency, func(ctx context.Context, i int) error {
		d := s.devices[i]
		for k := range min(n, len(d.tasks)) {
			t := &d.tasks[(d.changed+k)%len(d.tasks)]
			due := time.Now().UTC().AddDate(0, 6, 0).Add(time.Duration(d.rng.IntN(1e6)) * time.Second).Truncate(time.Second)
			var out struct{ Version int64 }
			start := time.Now()
			err := s.admin.Do(ctx, "PATCH", "/v1/tasks/"+t.ID, map[string]any{"due_at": due, "version": t.Version}, &out)
			var apiErr *contract.APIError
			if errors.As(err, &apiErr) && apiErr.Code == "version_conflict" {
				// Changed by an earlier run: read the version and try once more.
				if err = s.admin.Do(ctx, "GET", "/v1/tasks/"+t.ID, nil, &out); err == nil {
					err = s.admin.Do(ctx, "PATCH", "/v1/tasks/"+t.ID, map[string]any{"due_at": due, "version": out.Version}, &out)
				}
			}
			s.rec.op("admin.patch_task", start, err)
			if err != nil {
				return fmt.Errorf("change task %s: %w", t.ID, err)
			}
			t.Version = out.Version
		}
		d.changed += n
		return nil
	})
}

// pushes sends batches of each size, Count times per device.
func (s *sim) pushes(ctx context.Context) error {
	if err := s.initialSync(ctx); err != nil {
		return err
	}
	now := time.Now()
	for _, b := range s.o.Batches {
		op := fmt.Sprintf("push.batch%d", b)
		var tally pushed
		start := time.Now()
		err := s.each(ctx, op, len(s.devices)*s.o.Count, s.o.Concurrency, func(ctx context.Context, i int) error {
			d := s.devices[i%len(s.devices)]
			d.mu.Lock()
			defer d.mu.Unlock()
			if err := d.work(b, 0, 0, now); err != nil {
				return err
			}
			return s.pushOp(ctx, d, op, &tally)
		})
		if err != nil && ctx.Err() != nil {
			return err
		}
		s.rep.Figures[op+"_applied"] = float64(tally.applied.Load())
		s.rep.Figures[op+"_rejected"] = float64(tally.rejected.Load())
		s.rep.Figures[op+"_applied_per_second"] = float64(tally.applied.Load()) / time.Since(start).Seconds()
	}
	return nil
}

// sustained runs every device through push + pull once per cycle for the
// whole duration: the open load of phones that sync on their own clocks.
func (s *sim) sustained(ctx context.Context) error {
	if err := s.initialSync(ctx); err != nil {
		return err
	}
	bar := s.bar(int(s.o.Duration.Seconds()), "sustained (s)")
	stopBar := s.tick(bar)
	res := s.cycles(ctx, s.o.Cycle, s.o.Duration, "")
	close(stopBar)
	s.done(bar)
	s.rep.Figures["mutations_applied"] = float64(res.applied)
	s.rep.Figures["mutations_rejected"] = float64(res.rejected)
	s.rep.Figures["mutations_per_second"] = res.rate()
	s.rep.Figures["offered_mutations_per_second"] = float64(len(s.devices)*s.o.Mutations) / s.o.Cycle.Seconds()
	s.rep.Figures["failed_cycles"] = float64(res.failed)
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("mutations_per_second is the applied mutations over the %.1f s from the first slot to the last answer", res.took.Seconds()))
	return ctx.Err()
}

// cycleResult is what one period of cycling devices applied, from its
// first slot (start) to its last answer (start + took).
type cycleResult struct {
	applied, rejected, failed int64
	start                     time.Time
	took                      time.Duration
}

func (r cycleResult) rate() float64 { return float64(r.applied) / r.took.Seconds() }

// cycles runs every device through push + pull once per cycle for
// duration, each from a random point in its first cycle; a device whose
// cycle ran long skips the slots it missed, as a phone would. The pushes
// and pulls are recorded as "push"+suffix and "pull"+suffix.
func (s *sim) cycles(ctx context.Context, cycle, duration time.Duration, suffix string) cycleResult {
	var tally pushed
	var failed atomic.Int64
	start := time.Now()
	end := start.Add(duration)
	var wg sync.WaitGroup
	for _, d := range s.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := start.Add(time.Duration(rand.Int64N(int64(cycle))))
			for k := 0; ; k++ {
				slot := first.Add(time.Duration(k) * cycle)
				if slot.Before(time.Now()) && k > 0 {
					continue // missed: the last cycle ran long
				}
				if slot.After(end) || !sleepUntil(ctx, slot) {
					return
				}
				t0 := time.Now()
				err := d.work(s.o.Mutations, 0, 0, t0)
				if err == nil {
					err = s.pushOp(ctx, d, "push"+suffix, &tally)
				}
				if err == nil {
					_, err = s.pullOp(ctx, d, "pull"+suffix)
				}
				s.rec.op("cycle"+suffix, t0, err)
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return cycleResult{applied: tally.applied.Load(), rejected: tally.rejected.Load(), failed: failed.Load(), start: start, took: time.Since(start)}
}

// ramp offers the sustained load in rising steps (-ramp, mutations/s,
// each for -step) by shortening the devices' cycle, and stops at the first
// step that does not hold: push p99 at or over -target-p99, or fewer
// mutations applied than -held-share of those offered, or a failed cycle.
// The capacity is the highest step that held.
func (s *sim) ramp(ctx context.Context) error {
	if err := s.initialSync(ctx); err != nil {
		return err
	}
	capacity := 0.0
	for i, offered := range s.o.Ramp {
		cycle := time.Duration(float64(len(s.devices)*s.o.Mutations) / float64(offered) * float64(time.Second))
		suffix := fmt.Sprintf("@%d", offered)
		bar := s.bar(int(s.o.Step.Seconds()), fmt.Sprintf("ramp %d/s", offered))
		stopBar := s.tick(bar)
		res := s.cycles(ctx, cycle, s.o.Step, suffix)
		close(stopBar)
		s.done(bar)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p99 := s.rec.p99("push" + suffix)
		held := p99 < s.o.TargetP99 && res.rate() >= s.o.HeldShare*float64(offered) && res.failed == 0
		key := fmt.Sprintf("ramp.step%d", i+1)
		s.rep.Figures[key+"_offered"] = float64(offered)
		s.rep.Figures[key+"_applied_per_second"] = res.rate()
		s.rep.Figures[key+"_push_p99_ms"] = float64(p99.Microseconds()) / 1000
		s.rep.Figures[key+"_failed_cycles"] = float64(res.failed)
		s.rep.Figures[key+"_held"] = b2f(held)
		// When the step ran, for what samples the machine beside it
		// (bench.sh's CPU and lock-wait summaries): from its first slot to
		// its last answer, which comes after the step's duration.
		s.rep.Figures[key+"_started_unix"] = float64(res.start.UnixMilli()) / 1000
		s.rep.Figures[key+"_ended_unix"] = float64(res.start.Add(res.took).UnixMilli()) / 1000
		if !held {
			break
		}
		capacity = float64(offered)
	}
	s.rep.Figures["capacity_mutations_per_second"] = capacity
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("a step holds when its push p99 is under %v, it applied at least %.0f%% of the mutations it offered (over the time from its first slot to its last answer) and no cycle failed; capacity_mutations_per_second is the highest step that held (0: none did)",
		s.o.TargetP99, s.o.HeldShare*100))
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// sleepUntil waits for t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// day is the field day: an initial sync, Count visits of offline work
// per device (each with one photo), then the devices come back online in
// waves, each pushing, uploading its photos and pulling, and at the end
// every device pulls once more.
func (s *sim) day(ctx context.Context) error {
	if err := s.initialSync(ctx); err != nil {
		return err
	}
	now := time.Now()
	for _, d := range s.devices {
		if err := d.work(6*s.o.Count, 1, s.o.Outside, now); err != nil {
			return err
		}
	}
	var tally pushed
	var verified, flagged atomic.Int64
	waves := min(s.o.Waves, len(s.devices))
	size := (len(s.devices) + waves - 1) / waves
	for w := 0; w*size < len(s.devices); w++ {
		wave := s.devices[w*size : min((w+1)*size, len(s.devices))]
		start := time.Now()
		err := s.each(ctx, fmt.Sprintf("wave %d of %d", w+1, waves), len(wave), s.o.Concurrency, func(ctx context.Context, i int) error {
			d := wave[i]
			if err := s.pushOp(ctx, d, "push", &tally); err != nil {
				return nil // counted; the device tries again next time
			}
			for n, p := range d.photos {
				data, err := s.photos.photo(int(d.rng.Uint32())+n, p.lat, p.lng, p.taken)
				if err != nil {
					return err
				}
				t0 := time.Now()
				status, err := d.upload(ctx, p, data)
				s.rec.op("upload", t0, err)
				if status == "verified" {
					verified.Add(1)
				}
				if p.outside {
					flagged.Add(1)
				}
			}
			d.photos = nil
			s.pullOp(ctx, d, "pull")
			return nil
		})
		s.rec.op("wave", start, err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	err := s.each(ctx, "final pull", len(s.devices), s.o.Concurrency, func(ctx context.Context, i int) error {
		_, err := s.pullOp(ctx, s.devices[i], "pull.final")
		return err
	})
	left := 0
	for _, d := range s.devices {
		left += len(d.c.Outbox())
	}
	s.rep.Figures["mutations_applied"] = float64(tally.applied.Load())
	s.rep.Figures["mutations_rejected"] = float64(tally.rejected.Load())
	s.rep.Figures["photos_verified"] = float64(verified.Load())
	s.rep.Figures["photos_taken_outside_geofence"] = float64(flagged.Load())
	s.rep.Figures["outbox_left"] = float64(left)
	return err
}
