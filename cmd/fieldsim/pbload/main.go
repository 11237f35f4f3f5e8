// Command pbload writes records into a PocketBase collection from
// concurrent workers and reports the records written per second: the
// PocketBase side of cmd/fieldsim/pocketbase.sh, which runs it beside
// fieldsim's push scenario against fieldsyncd on the same machine, the same
// embedded SQLite and the same concurrency and batch size. PocketBase is a
// benchmark peer only; nothing here imports it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pbload:", err)
		os.Exit(1)
	}
}

// report is what a run prints, as JSON.
type report struct {
	Workers          int     `json:"workers"`
	Batch            int     `json:"batch"`
	Records          int64   `json:"records"`
	Failed           int64   `json:"failed_requests"`
	Seconds          float64 `json:"seconds"`
	RecordsPerSecond float64 `json:"records_per_second"`
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pbload", flag.ContinueOnError)
	server := fs.String("server", "http://127.0.0.1:8090", "PocketBase's URL")
	collection := fs.String("collection", "observations", "collection to create records in (its create rule must let anyone create)")
	workers := fs.Int("workers", 32, "concurrent writers")
	batch := fs.Int("batch", 1, "records a request creates: 1 posts a record, more use /api/batch (enabled in the settings)")
	requests := fs.Int("requests", 100, "requests each worker sends")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers < 1 || *batch < 1 || *requests < 1 {
		return errors.New("-workers, -batch and -requests must be at least 1")
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *workers}}
	url := *server + "/api/collections/" + *collection + "/records"
	var records, failed atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range *requests {
				if err := send(context.Background(), client, *server, url, *collection, *batch, w, r); err != nil {
					failed.Add(1)
					firstErr.Do(func() { fmt.Fprintln(os.Stderr, "pbload: first failure:", err) })
					continue
				}
				records.Add(int64(*batch))
			}
		}()
	}
	wg.Wait()
	took := time.Since(start).Seconds()
	err := json.NewEncoder(out).Encode(report{Workers: *workers, Batch: *batch, Records: records.Load(), Failed: failed.Load(),
		Seconds: took, RecordsPerSecond: float64(records.Load()) / took})
	if err == nil && failed.Load() > 0 {
		err = fmt.Errorf("%d of %d requests failed", failed.Load(), *workers**requests)
	}
	return err
}

// record is one observation, about the size of a fieldsync progress note.
func record(w, r, i int) map[string]any {
	return map[string]any{"task_id": fmt.Sprintf("task-%05d", w), "note": fmt.Sprintf("现场检查记录 %d-%d-%d：排口无异常，已拍照。", w, r, i),
		"lat": 30.5 + float64(w)/1000, "lng": 114.3 + float64(r)/1000}
}

func send(ctx context.Context, c *http.Client, server, url, collection string, batch, w, r int) error {
	var body any
	target := url
	if batch == 1 {
		body = record(w, r, 0)
	} else {
		reqs := make([]map[string]any, batch)
		for i := range reqs {
			reqs[i] = map[string]any{"method": "POST", "url": "/api/collections/" + collection + "/records", "body": record(w, r, i)}
		}
		body, target = map[string]any{"requests": reqs}, server+"/api/batch"
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", target, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("%s: %d %s", target, res.StatusCode, msg)
	}
	return nil
}
