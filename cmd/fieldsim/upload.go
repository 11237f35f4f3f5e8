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
	"strings"
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
	// Each round goes through the three steps of the flow one after the
	// other, every photo of the round at once, so that the bytes' transfer
	// is timed apart from the server's analysis at completion.
	var sendTime, flowTime, directTime time.Duration
	var apiBytes, directBytes int64
	var verified atomic.Int64
	var peak int64
	bar := s.bar(len(jobs), "upload rounds")
	for r := 0; r*s.o.Concurrency < len(jobs); r++ {
		round := jobs[r*s.o.Concurrency : min((r+1)*s.o.Concurrency, len(jobs))]
		rss := sampleRSS(s.o.ServerPID)
		targets := make([]contract.UploadTarget, len(round))
		failed := make([]bool, len(round))
		step := func(op string, fn func(i int, j photoJob) error) time.Duration {
			return parallel(round, func(i int, j photoJob) {
				if failed[i] {
					return
				}
				t0 := time.Now()
				err := fn(i, j)
				s.rec.op(op, t0, err)
				failed[i] = err != nil
			})
		}
		took := step("upload.declare", func(i int, j photoJob) (err error) {
			targets[i], err = j.d.declare(ctx, j.p, "photo", "image/jpeg", j.data)
			return err
		})
		send := step("upload.send", func(i int, j photoJob) error {
			return j.d.send(ctx, s.client.HTTP, s.o.Server, targets[i], s.o.Via == "api", j.p.id, j.data)
		})
		took += send + step("upload.complete", func(_ int, j photoJob) error {
			var rec struct{ Status string }
			err := j.d.c.Do(ctx, "POST", "/v1/evidence/"+j.p.id+"/complete", nil, &rec)
			if rec.Status == "verified" {
				verified.Add(1)
			}
			return err
		})
		peak = max(peak, rss.end())
		sendTime += send
		flowTime += took
		for _, j := range round {
			apiBytes += int64(len(j.data))
		}
		if direct.minio != nil {
			keys := make([]string, len(round))
			directTime += parallel(round, func(i int, j photoJob) {
				key := "fieldsim-direct/" + uuid.NewString()
				t0 := time.Now()
				err := direct.put(ctx, key, j.data)
				s.rec.op("direct.put_object", t0, err)
				if err == nil {
					atomic.AddInt64(&directBytes, int64(len(j.data)))
					keys[i] = key
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
	s.rep.Figures["send_mb_per_s"] = mbps(apiBytes, sendTime)
	s.rep.Figures["flow_mb_per_s"] = mbps(apiBytes, flowTime)
	if directTime > 0 {
		s.rep.Figures["direct_put_mb_per_s"] = mbps(directBytes, directTime)
		s.rep.Figures["send_ratio_to_direct"] = mbps(apiBytes, sendTime) / mbps(directBytes, directTime)
		s.rep.Figures["flow_ratio_to_direct"] = mbps(apiBytes, flowTime) / mbps(directBytes, directTime)
	}
	if peak > 0 {
		s.rep.Figures["server_peak_rss_bytes"] = float64(peak)
	}
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("the bytes go %s; send_mb_per_s times that step alone, flow_mb_per_s the whole "+
		"declare + send + complete (the server hashes the file, reads EXIF, makes a thumbnail); the direct comparison is one "+
		"PutObject per file to the same bucket, in alternating rounds of %d", s.via(), s.o.Concurrency))
	return ctx.Err()
}

func (s *sim) via() string {
	if s.o.Via == "api" {
		return "through the API (PUT /v1/evidence/{id}/content)"
	}
	return "where the server's declaration says (a presigned store URL with MinIO, the API's signed URL with the local store)"
}

// parallel runs fn for every job at once and returns the wall time.
func parallel(jobs []photoJob, fn func(int, photoJob)) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i, j)
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// declare sends a file's declaration and returns where its bytes go.
func (d *device) declare(ctx context.Context, p pendingPhoto, kind, contentType string, data []byte) (contract.UploadTarget, error) {
	sum := sha256.Sum256(data)
	at := p.taken
	decl := contract.EvidenceDeclaration{ID: p.id, TaskID: p.taskID, Kind: kind, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		ContentType: contentType, CapturedAt: &at, Location: &contract.EvidenceLocation{Lat: p.lat, Lng: p.lng, AccuracyM: 8}}
	var created struct {
		Upload contract.UploadTarget `json:"upload"`
	}
	err := d.c.Do(ctx, "POST", "/v1/evidence", decl, &created)
	return created.Upload, err
}

// send puts a file's bytes to the declaration's target, or through the
// API (PUT /v1/evidence/{id}/content) when viaAPI.
func (d *device) send(ctx context.Context, hc *http.Client, base string, to contract.UploadTarget, viaAPI bool, id string, data []byte) error {
	method, url, headers, auth := to.Method, to.URL, to.Headers, false
	if viaAPI {
		method, url, headers = "PUT", "/v1/evidence/"+id+"/content", nil
	}
	if strings.HasPrefix(url, "/") {
		url, auth = base+url, true
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	// The target's headers are signed: they win over the default type.
	req.Header.Set("Content-Type", "application/octet-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+d.c.AccessToken())
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	res.Body.Close()
	if res.StatusCode >= 300 {
		var prob struct{ Code, Detail string }
		json.Unmarshal(body, &prob)
		return &contract.APIError{Status: res.StatusCode, Code: prob.Code, Detail: prob.Detail}
	}
	return nil
}
