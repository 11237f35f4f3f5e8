package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// faultBatch is the mutations a phone pushes per cycle, in one batch: the
// sustained scenario's push of 10.
const faultBatch = 10

// retryPause is how long a phone waits before it starts a sync or an
// upload again that failed for good (the client's own retries spent): an
// app would try again at its next chance.
const retryPause = 250 * time.Millisecond

// faultPhone is one inspector's phone: it cycles through a push of
// faultBatch mutations and a pull, some cycles with a photo, and keeps
// everything it did, to be checked against the server at the end.
type faultPhone struct {
	w                      *faultWorld
	name, password, taskID string
	c                      *contract.Client

	cycles        atomic.Int64 // completed, read by the scenario while the phone runs
	latencies     []time.Duration
	started       bool
	notes         []string          // ids of the notes its mutations add
	verifications []string          // ids of the verifications it records
	photos        map[string]string // evidence id → SHA-256 of the bytes
	verified      map[string]string // evidence id → SHA-256, as completed verified
	rejected      []contract.MutationResult
	restarts      int // syncs or uploads started again after the client gave up
}

// run cycles until stop is set (finishing the cycle under way) or ctx
// ends; every photoEvery-th cycle records a verification with a photo.
func (p *faultPhone) run(ctx context.Context, stop *atomic.Bool, photoEvery int) {
	for !stop.Load() && ctx.Err() == nil {
		start := time.Now()
		p.cycle(ctx, photoEvery > 0 && p.cycles.Load()%int64(photoEvery) == int64(photoEvery)-1)
		p.latencies = append(p.latencies, time.Since(start))
	}
}

func (p *faultPhone) cycle(ctx context.Context, photo bool) {
	type mutation struct {
		name string
		args any
	}
	var muts []mutation
	add := func(name string, args any) { muts = append(muts, mutation{name, args}) }
	var evidenceID string
	if !p.started {
		add(contract.MutTaskStart, contract.TaskArgs{TaskID: p.taskID})
		p.started = true
	}
	if photo {
		evidenceID = uuid.NewString()
		id := uuid.NewString()
		add(contract.MutVerificationRecord, contract.VerificationArgs{ID: id, TaskID: p.taskID, Conclusion: "partially_rectified",
			Notes: "截污管网施工中", Location: contract.Location{Lat: 30.59, Lng: 114.30, AccuracyM: 8}, RecordedAt: time.Now().UTC().Truncate(time.Second),
			EvidenceIDs: []string{evidenceID}})
		p.verifications = append(p.verifications, id)
	}
	for len(muts) < faultBatch {
		id := uuid.NewString()
		add(contract.MutNoteAdd, contract.NoteArgs{ID: id, TaskID: p.taskID, Text: fmt.Sprintf("%s, cycle %d: 现场复查 %d", p.name, p.cycles.Load(), len(muts))})
		p.notes = append(p.notes, id)
	}
	for _, m := range muts {
		if _, err := p.c.Enqueue(m.name, m.args); err != nil {
			p.w.t.Errorf("%s: enqueue: %v", p.name, err)
			return
		}
	}
	if p.sync(ctx) && photo {
		p.upload(ctx, evidenceID)
	}
	p.cycles.Add(1)
}

// sync pushes the outbox and pulls, starting again after each failure
// until it succeeds, ctx ends, or the server refuses for good.
func (p *faultPhone) sync(ctx context.Context) bool {
	for {
		rep, err := p.c.Push(ctx)
		p.rejected = append(p.rejected, rep.Rejected...)
		if err == nil {
			_, err = p.c.Pull(ctx)
		}
		if err == nil {
			return true
		}
		if !p.again(ctx, "sync", err) {
			return false
		}
	}
}

// upload sends a new photo as the evidence named by a verification, until
// the server completes it.
func (p *faultPhone) upload(ctx context.Context, id string) {
	data := faultPhoto(rand.Uint64())
	sum := sha256.Sum256(data)
	p.photos[id] = hex.EncodeToString(sum[:])
	at := time.Now()
	for {
		rec, err := p.c.UploadEvidence(ctx, contract.EvidenceDeclaration{ID: id, TaskID: p.taskID, ContentType: "image/jpeg",
			CapturedAt: &at, Location: &contract.EvidenceLocation{Lat: 30.59, Lng: 114.30, AccuracyM: 8}}, data)
		if err == nil {
			var e struct{ Status string }
			json.Unmarshal(rec, &e)
			if e.Status != "verified" {
				p.w.t.Errorf("%s: photo %s completed %s: %s", p.name, id, e.Status, rec)
				return
			}
			p.verified[id] = p.photos[id]
			return
		}
		if !p.again(ctx, "upload", err) {
			return
		}
	}
}

// again decides after a failed sync or upload: a refusal by fieldsyncd
// that no retry can mend (a problem document, which has a code) fails the
// test; anything else is tried again after a pause, while ctx lasts. That
// includes MinIO's own answers to a presigned upload, such as the 499 it
// gives a request in flight when it shuts down: the app starts the upload
// again, and checkNetwork judges the answer itself.
func (p *faultPhone) again(ctx context.Context, what string, err error) bool {
	var apiErr *contract.APIError
	if errors.As(err, &apiErr) && apiErr.Code != "" && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests {
		p.w.t.Errorf("%s: %s refused: %v", p.name, what, err)
		return false
	}
	if ctx.Err() != nil {
		if !p.w.t.Failed() { // else the test gave up on a broken world
			p.w.t.Errorf("%s: %s still failing at the deadline: %v", p.name, what, err)
		}
		return false
	}
	p.restarts++
	t := time.NewTimer(retryPause)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return true
}

// faultPhoto is a small JPEG of noise, different for every seed, so that
// each upload is a file of its own.
func faultPhoto(seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), 0xff
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	return buf.Bytes()
}
