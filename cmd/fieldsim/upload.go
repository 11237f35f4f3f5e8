package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// photoJob is one photo of one device, its bytes made before the clock
// starts.
type photoJob struct {
	d    *device
	p    pendingPhoto
	data []byte
}

// upload sends Count photos per device, Concurrency at once, in rounds;
// with MinIO each round of uploads is followed by a round of direct
// PutObjects of the same bytes to the same bucket, so that both see the
// same machine load, and the throughputs are compared.
func (s *sim) upload(ctx context.Context) error {
	if err := s.initialSync(ctx); err != nil {
		return err
	}
	direct, err := openDirect(s.cfg)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, d := range s.devices {
		if err := d.verify(&d.tasks[0], s.o.Count, s.o.Outside, now); err != nil {
			return err
		}
	}
	if err := s.each(ctx, "push the verifications", len(s.devices), s.o.Concurrency, func(ctx context.Context, i int) error {
		return s.pushOp(ctx, s.devices[i], "push", nil)
	}); err != nil {
		return err
	}
	var jobs []photoJob
	for _, d := range s.devices {
		for _, p := range d.photos {
			jobs = append(jobs, photoJob{d: d, p: p})
		}
		d.photos = nil
	}
	if err := s.each(ctx, "generate photos", len(jobs), runtime.NumCPU(), func(_ context.Context, i int) error {
		var err error
		jobs[i].data, err = s.photos.photo(i, jobs[i].p.lat, jobs[i].p.lng, jobs[i].p.taken)
		return err
	}); err != nil {
		return err
	}
	var apiTime, directTime time.Duration
	var apiBytes, directBytes int64
	var verified atomic.Int64
	var peak int64
	bar := s.bar(len(jobs), "upload rounds")
	for r := 0; r*s.o.Concurrency < len(jobs); r++ {
		round := jobs[r*s.o.Concurrency : min((r+1)*s.o.Concurrency, len(jobs))]
		rss := sampleRSS(s.o.ServerPID)
		took := parallel(round, func(j photoJob) {
			t0 := time.Now()
			status, err := s.send(ctx, j)
			s.rec.op("upload", t0, err)
			if status == "verified" {
				verified.Add(1)
			}
		})
		peak = max(peak, rss.end())
		apiTime += took
		for _, j := range round {
			apiBytes += int64(len(j.data))
		}
		if direct.minio != nil {
			keys := make([]string, len(round))
			directTime += parallel(round, func(j photoJob) {
				key := "fieldsim-direct/" + uuid.NewString()
				t0 := time.Now()
				err := direct.put(ctx, key, j.data)
				s.rec.op("direct.put_object", t0, err)
				if err == nil {
					atomic.AddInt64(&directBytes, int64(len(j.data)))
					keys[indexOf(round, j)] = key
				}
			})
			for _, k := range keys {
				if k != "" {
					direct.remove(ctx, k)
				}
			}
		}
		if bar != nil {
			bar.Add(len(round))
		}
		if ctx.Err() != nil {
			break
		}
	}
	s.done(bar)
	mbps := func(b int64, d time.Duration) float64 { return float64(b) / 1e6 / d.Seconds() }
	s.rep.Figures["photos_sent"] = float64(len(jobs))
	s.rep.Figures["photos_verified"] = float64(verified.Load())
	s.rep.Figures["photo_mean_bytes"] = float64(apiBytes) / float64(max(len(jobs), 1))
	s.rep.Figures["api_upload_mb_per_s"] = mbps(apiBytes, apiTime)
	if directTime > 0 {
		s.rep.Figures["direct_put_mb_per_s"] = mbps(directBytes, directTime)
		s.rep.Figures["upload_ratio_api_to_direct"] = mbps(apiBytes, apiTime) / mbps(directBytes, directTime)
	}
	if peak > 0 {
		s.rep.Figures["server_peak_rss_bytes"] = float64(peak)
	}
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("uploads go %s; each is declare + send + complete (the server hashes, reads EXIF, "+
		"makes a thumbnail); the direct comparison is one PutObject per file, in alternating rounds of %d", s.via(), s.o.Concurrency))
	return ctx.Err()
}

func (s *sim) via() string {
	if s.o.Via == "api" {
		return "through the API (PUT /v1/evidence/{id}/content)"
	}
	return "where the server's declaration says (a presigned store URL with MinIO, the API's signed URL with the local store)"
}

// send uploads one photo the configured way.
func (s *sim) send(ctx context.Context, j photoJob) (string, error) {
	if s.o.Via == "api" {
		return j.d.uploadThroughAPI(ctx, s.client.HTTP, s.o.Server, j.p, "photo", "image/jpeg", j.data)
	}
	return j.d.upload(ctx, j.p, j.data)
}

func indexOf(round []photoJob, j photoJob) int {
	for i := range round {
		if round[i].p.id == j.p.id {
			return i
		}
	}
	return -1
}

// parallel runs fn for every job at once and returns the wall time.
func parallel(jobs []photoJob, fn func(photoJob)) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(j)
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// uploadThroughAPI declares a file, streams its bytes through the API
// (PUT /v1/evidence/{id}/content) whatever the store, and completes it.
func (d *device) uploadThroughAPI(ctx context.Context, hc *http.Client, base string, p pendingPhoto, kind, contentType string, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	at := p.taken
	decl := contract.EvidenceDeclaration{ID: p.id, TaskID: p.taskID, Kind: kind, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		ContentType: contentType, CapturedAt: &at, Location: &contract.EvidenceLocation{Lat: p.lat, Lng: p.lng, AccuracyM: 8}}
	if err := d.c.Do(ctx, "POST", "/v1/evidence", decl, nil); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, "PUT", base+"/v1/evidence/"+p.id+"/content", bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+d.c.AccessToken())
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var prob struct{ Code, Detail string }
		json.Unmarshal(body, &prob)
		return "", &contract.APIError{Status: res.StatusCode, Code: prob.Code, Detail: prob.Detail}
	}
	var rec struct{ Status string }
	err = d.c.Do(ctx, "POST", "/v1/evidence/"+p.id+"/complete", nil, &rec)
	return rec.Status, err
}
