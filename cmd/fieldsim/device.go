package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/cmd/internal/exifjpeg"
	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// device is one simulated phone: the reference client with its own
// store, signed in as one inspector, and what it does offline.
type device struct {
	// mu keeps the device to one thing at a time where a scenario hands
	// its work to a pool.
	mu   sync.Mutex
	c    *contract.Client
	user string
	rng  *rand.Rand

	tasks []fieldTask
	sites map[string][2]float64 // site id → lat, lng
	// step is the position in the visit routine (see next), visit the
	// task it is at.
	step, visit int
	// changed is how many of its tasks the delta scenario changed so far.
	changed int
	// initialBytes and initialWire are the size of the initial pull,
	// decompressed and on the wire.
	initialBytes, initialWire int
	// photos waits for upload: declared by a verification, bytes not sent.
	photos []pendingPhoto
}

type fieldTask struct {
	ID, SiteID, Status string
	Version            int64
}

// pendingPhoto is a photo a verification named, taken at a position.
type pendingPhoto struct {
	id, taskID string
	lat, lng   float64
	taken      time.Time
	outside    bool
}

func newDevice(base string, hc *contract.Config, user string, seed uint64) *device {
	cfg := *hc
	cfg.BaseURL, cfg.DeviceID, cfg.DeviceName = base, uuid.NewString(), "fieldsim "+user
	cfg.Store = contract.NewMemoryStore()
	return &device{c: contract.New(cfg), user: user, rng: rand.New(rand.NewPCG(seed, 1)), sites: map[string][2]float64{}}
}

// learn reads the tasks and sites the device has synced.
func (d *device) learn() error {
	d.tasks = d.tasks[:0]
	for id, raw := range d.c.Records("tasks") {
		var t struct {
			SiteID  string `json:"site_id"`
			Status  string `json:"status"`
			Version int64  `json:"version"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("task %s: %w", id, err)
		}
		d.tasks = append(d.tasks, fieldTask{ID: id, SiteID: t.SiteID, Status: t.Status, Version: t.Version})
	}
	slices.SortFunc(d.tasks, func(a, b fieldTask) int { return cmp.Compare(a.ID, b.ID) })
	for id, raw := range d.c.Records("sites") {
		var s struct{ Lat, Lng float64 }
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("site %s: %w", id, err)
		}
		d.sites[id] = [2]float64{s.Lat, s.Lng}
	}
	if len(d.tasks) == 0 {
		return fmt.Errorf("%s has no tasks after syncing; is the data set there?", d.user)
	}
	return nil
}

// work enqueues n mutations of field work, as an inspector records it
// offline. A visit to a task is: start it (the first time), answer the
// checklist, record the verification (naming the visit's photos), add a
// note; then on to the next task. Tasks are never completed, so the
// routine can go round them for as long as a run lasts. photos is how
// many photos each verification names; outside is the share of them
// taken outside the site's geofence.
func (d *device) work(n, photos int, outside float64, now time.Time) error {
	for range n {
		t := &d.tasks[d.visit%len(d.tasks)]
		var err error
		switch d.step {
		case 0:
			if t.Status == "assigned" {
				_, err = d.c.Enqueue(contract.MutTaskStart, contract.TaskArgs{TaskID: t.ID})
				t.Status = "in_progress"
				break
			}
			d.step++
			fallthrough
		case 1:
			err = d.answer(t, "q1", d.rng.IntN(2) == 0)
		case 2:
			err = d.answer(t, "q2", float64(d.rng.IntN(5000))/100)
		case 3:
			err = d.answer(t, "q3", "排口已封堵，周边无积水")
		case 4:
			err = d.verify(t, photos, outside, now)
		case 5:
			_, err = d.c.Enqueue(contract.MutNoteAdd, contract.NoteArgs{ID: uuid.NewString(), TaskID: t.ID, Text: "复查时间另行通知"})
		}
		if err != nil {
			return err
		}
		if d.step = (d.step + 1) % 6; d.step == 0 {
			d.visit++
		}
	}
	return nil
}

func (d *device) answer(t *fieldTask, q string, v any) error {
	raw, err := json.Marshal(v)
	if err == nil {
		_, err = d.c.Enqueue(contract.MutChecklistAnswer, contract.AnswerArgs{ID: uuid.NewString(), TaskID: t.ID, QuestionID: q, Value: raw})
	}
	return err
}

// verify records a verification at the task's site; its photos are
// taken within 30 m of the site, or 300–800 m away when outside.
func (d *device) verify(t *fieldTask, photos int, outside float64, now time.Time) error {
	site := d.sites[t.SiteID]
	lat, lng := exifjpeg.OffsetMetres(site[0], site[1], d.rng.Float64()*40-20, d.rng.Float64()*40-20)
	var ids []string
	for range photos {
		p := pendingPhoto{id: uuid.NewString(), taskID: t.ID, lat: lat, lng: lng, taken: now}
		if d.rng.Float64() < outside {
			p.outside = true
			p.lat, p.lng = exifjpeg.OffsetMetres(site[0], site[1], 300+d.rng.Float64()*500, 300)
		}
		d.photos = append(d.photos, p)
		ids = append(ids, p.id)
	}
	_, err := d.c.Enqueue(contract.MutVerificationRecord, contract.VerificationArgs{ID: uuid.NewString(), TaskID: t.ID,
		Conclusion: "rectified", Notes: "排口已封堵，现场无异味", Location: contract.Location{Lat: lat, Lng: lng, AccuracyM: 8},
		RecordedAt: now, EvidenceIDs: ids})
	return err
}

// upload sends one pending photo the way the phone does (declare, send
// the bytes where the server says, complete) and returns its status.
func (d *device) upload(ctx context.Context, p pendingPhoto, data []byte) (string, error) {
	at := p.taken
	rec, err := d.c.UploadEvidence(ctx, contract.EvidenceDeclaration{ID: p.id, TaskID: p.taskID, ContentType: "image/jpeg",
		CapturedAt: &at, Location: &contract.EvidenceLocation{Lat: p.lat, Lng: p.lng, AccuracyM: 8}}, data)
	if err != nil {
		return "", err
	}
	var e struct{ Status string }
	if err := json.Unmarshal(rec, &e); err != nil {
		return "", err
	}
	return e.Status, nil
}
