package main

import (
	"net/http"
	"syscall"
	"time"
)

// down takes target down with stop, waits until the phones have felt it
// (felt reports so), brings it back with start and records the outage.
func (w *faultWorld) down(target string, stop func() error, felt func() bool, start func() error) {
	w.t.Helper()
	o := outage{target: target, from: time.Now()}
	if err := stop(); err != nil {
		w.t.Fatalf("stopping %s: %v", target, err)
	}
	waitUntil(w.t, "the phones to meet the "+target+" outage", felt)
	if err := start(); err != nil {
		w.t.Fatalf("starting %s again: %v", target, err)
	}
	o.to = time.Now()
	w.mu.Lock()
	w.outages = append(w.outages, o)
	w.mu.Unlock()
	w.t.Logf("%s was down for %v", target, o.to.Sub(o.from).Round(time.Millisecond))
}

// restartDB crashes (SIGKILL) or stops (SIGTERM) MariaDB while pushes are
// in flight, and starts it again once the server has refused a request
// for it. (Not necessarily a push: a phone whose outbox is empty pulls or
// uploads, and pushes again only once that succeeds.)
func (w *faultWorld) restartDB(sig syscall.Signal) {
	waitUntil(w.t, "pushes in flight", func() bool { return w.net.inFlight(opPush) > 0 })
	refused := w.net.refusals(http.StatusServiceUnavailable)
	w.down(targetDB, func() error { return w.db.Stop(sig) },
		func() bool { return w.net.refusals(http.StatusServiceUnavailable) > refused },
		w.db.Start)
}

// stopMinIO stops MinIO while completions or uploads are in flight, and
// starts it again once the server has refused a request for it or an
// upload found MinIO gone.
func (w *faultWorld) stopMinIO(sig syscall.Signal) {
	waitUntil(w.t, "completions or uploads in flight", func() bool { return w.net.inFlight(opComplete)+w.net.inFlight(opUpload) > 0 })
	felt := func() int64 { return w.net.refusals(http.StatusServiceUnavailable) + w.net.count(opUpload, 0) }
	before := felt()
	w.down(targetMinIO, func() error { return w.s3.Stop(sig) }, func() bool { return felt() > before }, w.s3.Start)
}

// killServer kills fieldsyncd (SIGKILL: no shutdown, requests cut off)
// while pushes are in flight, and starts it again on the same port. It
// returns how many phones' batches the kill left half-applied: a batch is
// faultBatch mutations, so a client whose last applied id is not a
// multiple of faultBatch stopped inside one.
func (w *faultWorld) killServer() int {
	waitUntil(w.t, "pushes in flight", func() bool { return w.net.inFlight(opPush) > 0 })
	cut := 0
	w.down(targetServer, func() error {
		if err := w.server.Stop(syscall.SIGKILL); err != nil {
			return err
		}
		cut = w.cutBatches()
		return nil
	}, func() bool { return true }, w.server.Start)
	return cut
}

// cutBatches counts the sync clients whose last mutation id is inside a
// batch.
func (w *faultWorld) cutBatches() int {
	db := w.openDB()
	defer db.Close()
	var n int64
	if err := db.Gorm().Raw("SELECT COUNT(*) FROM sync_clients WHERE last_mutation_id % ? <> 0", faultBatch).Scan(&n).Error; err != nil {
		w.t.Fatal(err)
	}
	return int(n)
}
