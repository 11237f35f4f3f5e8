package main

import (
	"context"
	"os"
	"slices"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The fault tests run the real fieldsyncd binary on a private MariaDB and
// MinIO, with inspectors' phones (the reference client) syncing and
// uploading all along, and take a backend or the server itself down in
// the middle of their requests. Afterwards every phone syncs once more,
// and the world is checked (finish): no mutation the phones sent is
// lost, rejected or applied twice (the database's notes, verifications,
// task versions, mutation results and audit entries against what each
// phone did), every photo a phone saw verified is in the bucket with its
// SHA-256, each phone holds exactly what a fresh pull gives, every error
// answer was 503 with Retry-After and every attempt without an answer
// fell in an outage of its target, and the server logged no error.

// TestFaultMinIOStopped stops MinIO while photos are being uploaded and
// completed, once cleanly and once by a crash.
func TestFaultMinIOStopped(t *testing.T) {
	w := newFaultWorld(t)
	w.addPhones(6)
	w.work(1, func() {
		w.stopMinIO(syscall.SIGTERM)
		w.afterCycles(2)
		w.stopMinIO(syscall.SIGKILL)
		w.afterCycles(2)
	})
	w.finish()
}

// TestFaultMariaDBRestart crashes MariaDB while pushes are in flight, and
// later shuts it down cleanly, starting it again each time.
func TestFaultMariaDBRestart(t *testing.T) {
	w := newFaultWorld(t)
	w.addPhones(6)
	w.work(4, func() {
		w.restartDB(syscall.SIGKILL)
		w.afterCycles(2)
		w.restartDB(syscall.SIGTERM)
		w.afterCycles(2)
	})
	w.finish()
}

// TestFaultServerKilled kills fieldsyncd while pushes are in flight and
// starts it again on the same port and secret: the phones keep their
// tokens and cursors and resend what was not answered. A push applies its
// batch in one transaction, so a kill leaves each batch applied whole or
// not at all: no client's last mutation id may stop inside a batch.
func TestFaultServerKilled(t *testing.T) {
	w := newFaultWorld(t)
	w.addPhones(8)
	w.work(3, func() {
		for kill := 1; kill <= 3; kill++ {
			if n := w.killServer(); n != 0 {
				t.Errorf("kill %d left %d batches half-applied", kill, n)
			}
			w.afterCycles(1)
		}
	})
	w.finish()
}

// TestFaultLoad is the sustained scenario (every phone cycling a push of
// 10 mutations and a pull, a photo every fifth cycle) with faults injected
// in turn at a steady pace: MariaDB crashed and restarted, MinIO crashed
// and restarted, fieldsyncd killed and restarted. `make test` runs it
// small; `make soak` runs it long and wide with
//
//	FIELDSYNC_SOAK_DEVICES      phones (default 20)
//	FIELDSYNC_SOAK_DURATION     how long the phones work (default 25s)
//	FIELDSYNC_SOAK_FAULT_EVERY  time between faults (default a quarter of the duration)
func TestFaultLoad(t *testing.T) {
	devices := envInt(t, "FIELDSYNC_SOAK_DEVICES", 20)
	duration := envDuration(t, "FIELDSYNC_SOAK_DURATION", 25*time.Second)
	every := envDuration(t, "FIELDSYNC_SOAK_FAULT_EVERY", duration/4)
	w := newFaultWorld(t)
	w.addPhones(devices)
	faults := []func(){
		func() { w.restartDB(syscall.SIGKILL) },
		func() { w.stopMinIO(syscall.SIGKILL) },
		func() { w.killServer() },
	}
	start := time.Now()
	w.work(5, func() {
		for i := 0; start.Add(time.Duration(i+1) * every).Before(start.Add(duration)); i++ {
			time.Sleep(time.Until(start.Add(time.Duration(i+1) * every)))
			faults[i%len(faults)]()
		}
		time.Sleep(time.Until(start.Add(duration)))
	})
	elapsed := time.Since(start)
	var cycles int64
	var lat []time.Duration
	for _, p := range w.phones {
		cycles += p.cycles.Load()
		lat = append(lat, p.latencies...)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		t.Logf("%d phones for %v with faults every %v: %.0f mutations/s; a cycle (push %d + pull, photo included) took p50 %v, p99 %v, max %v",
			devices, elapsed.Round(time.Second), every, float64(cycles*faultBatch)/elapsed.Seconds(), faultBatch,
			lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	}
	w.finish()
}

// work runs every phone (a photo every photoEvery-th cycle, 0 for none)
// while inject takes things down, then lets each phone finish its cycle.
func (w *faultWorld) work(photoEvery int, inject func()) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute+envDuration(w.t, "FIELDSYNC_SOAK_DURATION", 0))
	defer cancel()
	var stop atomic.Bool
	var wg gosync.WaitGroup
	for _, p := range w.phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx, &stop, photoEvery)
		}()
	}
	defer func() { // also when inject fails the test
		stop.Store(true)
		if w.t.Failed() {
			cancel() // a broken world would keep the phones retrying
		}
		wg.Wait()
	}()
	w.afterCycles(1)
	inject()
}

// afterCycles waits until every phone has completed n more cycles: the
// phones have recovered from what came before.
func (w *faultWorld) afterCycles(n int64) {
	w.t.Helper()
	want := make([]int64, len(w.phones))
	for i, p := range w.phones {
		want[i] = p.cycles.Load() + n
	}
	waitUntil(w.t, "every phone to complete a cycle", func() bool {
		for i, p := range w.phones {
			if p.cycles.Load() < want[i] {
				return false
			}
		}
		return true
	})
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a duration such as 10m", name, v)
	}
	return d
}
