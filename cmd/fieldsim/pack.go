package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// pack exports the evidence pack of an item holding PackMB of documents
// Count times, each export followed by reading the same objects straight
// from the store, and compares the throughputs.
func (s *sim) pack(ctx context.Context) error {
	direct, err := openDirect(s.cfg)
	if err != nil {
		return err
	}
	d := s.devices[0]
	item, task, err := s.packItem(ctx, d)
	if err != nil {
		return err
	}
	keys, total, err := s.packDocuments(ctx, d, item, task)
	if err != nil {
		return err
	}
	var exportTime, readTime time.Duration
	var exported, read, peak int64
	bar := s.bar(s.o.Count, "export and read")
	for range s.o.Count {
		rss := sampleRSS(s.o.ServerPID)
		t0 := time.Now()
		n, err := s.export(ctx, item)
		s.rec.op("pack.export", t0, err)
		peak = max(peak, rss.end())
		if err != nil {
			return fmt.Errorf("export the pack: %w", err)
		}
		exportTime += time.Since(t0)
		exported += n
		t0 = time.Now()
		for _, k := range keys {
			n, err := direct.read(ctx, k)
			if err != nil {
				return fmt.Errorf("read %s from the store: %w", k, err)
			}
			read += n
		}
		s.rec.op("pack.raw_read", t0, nil)
		readTime += time.Since(t0)
		if bar != nil {
			bar.Add(1)
		}
	}
	s.done(bar)
	mibps := func(b int64, d time.Duration) float64 { return float64(b) / (1 << 20) / d.Seconds() }
	s.rep.Figures["pack_documents_bytes"] = float64(total)
	s.rep.Figures["pack_zip_bytes"] = float64(exported / int64(s.o.Count))
	s.rep.Figures["export_mib_per_s"] = mibps(exported, exportTime)
	s.rep.Figures["raw_read_mib_per_s"] = mibps(read, readTime)
	s.rep.Figures["export_ratio_to_raw_read"] = mibps(exported, exportTime) / mibps(read, readTime)
	if peak > 0 {
		s.rep.Figures["server_peak_rss_bytes"] = float64(peak)
	}
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("raw reads: the pack's %d objects one after another with %s, after each export", len(keys), direct.name()))
	return nil
}

// packItem finds the item of the pack scenario's size, or creates it
// with one task for the first device's inspector.
func (s *sim) packItem(ctx context.Context, d *device) (item, task string, err error) {
	if _, err := s.pullOp(ctx, d, "pull.initial"); err != nil {
		return "", "", err
	}
	if err := d.learn(); err != nil {
		return "", "", err
	}
	category := fmt.Sprintf("fieldsim-pack-%dmib", s.o.PackMB)
	var items struct {
		Items []struct{ ID string } `json:"items"`
	}
	if err := s.admin.Do(ctx, "GET", "/v1/items?limit=1&category="+url.QueryEscape(category), nil, &items); err != nil {
		return "", "", err
	}
	if len(items.Items) > 0 {
		item = items.Items[0].ID
	} else {
		var made struct{ ID string }
		err := s.admin.Do(ctx, "POST", "/v1/items", map[string]any{"code": fmt.Sprintf("SIMPACK-%d", s.o.PackMB),
			"title": "fieldsim evidence pack", "source": "fieldsim", "category": category, "target": "a large pack",
			"measures": "documents", "responsible_unit_id": d.c.User().UnitID, "first_responsible": "fieldsim",
			"deadline": time.Now().AddDate(1, 0, 0)}, &made)
		if err != nil {
			return "", "", fmt.Errorf("create the pack's item: %w", err)
		}
		item = made.ID
	}
	var tasks struct {
		Items []struct{ ID string } `json:"items"`
	}
	if err := s.admin.Do(ctx, "GET", "/v1/tasks?limit=1&item_id="+item, nil, &tasks); err != nil {
		return "", "", err
	}
	if len(tasks.Items) > 0 {
		return item, tasks.Items[0].ID, nil
	}
	var tmpl string
	for id := range d.c.Records("templates") {
		tmpl = id
	}
	var made struct{ ID string }
	err = s.admin.Do(ctx, "POST", "/v1/tasks", map[string]any{"item_id": item, "site_id": d.tasks[0].SiteID, "kind": "progress_check",
		"template_id": tmpl, "window_start": time.Now().Add(-time.Hour), "due_at": time.Now().AddDate(0, 6, 0),
		"assignee_id": d.c.User().ID, "instructions": "fieldsim pack"}, &made)
	if err != nil {
		return "", "", fmt.Errorf("create the pack's task: %w", err)
	}
	return item, made.ID, nil
}

// packDocuments uploads documents to the task until the item holds
// PackMB of them, and returns the object keys of all of them.
func (s *sim) packDocuments(ctx context.Context, d *device, item, task string) ([]string, int64, error) {
	var keys []string
	var total int64
	for page := ""; ; {
		var ev struct {
			Items []struct {
				ID, Status string
				Size       int64
			} `json:"items"`
			Next string `json:"next_page_token"`
		}
		path := "/v1/evidence?limit=500&item_id=" + item
		if page != "" {
			path += "&page_token=" + url.QueryEscape(page)
		}
		if err := s.admin.Do(ctx, "GET", path, nil, &ev); err != nil {
			return nil, 0, err
		}
		for _, e := range ev.Items {
			if e.Status == "verified" {
				keys = append(keys, "evidence/"+e.ID)
				total += e.Size
			}
		}
		if page = ev.Next; page == "" {
			break
		}
	}
	want := int64(s.o.PackMB) << 20
	for n := len(keys); total < want; n++ {
		size := min(want-total, int64(s.o.DocMB)<<20)
		id := uuid.NewString()
		t0 := time.Now()
		rec, err := d.c.UploadEvidence(ctx, contract.EvidenceDeclaration{ID: id, TaskID: task, Kind: "document",
			ContentType: "application/pdf"}, documentOf(n, int(size)))
		s.rec.op("pack.upload_document", t0, err)
		if err != nil {
			return nil, 0, fmt.Errorf("upload a document for the pack: %w", err)
		}
		var e struct{ Status string }
		if decodeErr := json.Unmarshal(rec, &e); decodeErr != nil || e.Status != "verified" {
			return nil, 0, fmt.Errorf("the pack's document %s is %q: %s", id, e.Status, rec)
		}
		keys = append(keys, "evidence/"+id)
		total += size
	}
	return keys, total, nil
}

// export downloads the item's evidence pack as sim-admin and returns its
// size.
func (s *sim) export(ctx context.Context, item string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.o.Server+"/v1/items/"+item+"/evidence-pack", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.admin.AccessToken())
	res, err := s.client.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, &contract.APIError{Status: res.StatusCode}
	}
	return io.Copy(io.Discard, res.Body)
}
