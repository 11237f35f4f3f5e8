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
	// The upload phase is sampled on its own: its buffers are not the
	// export's, though the process may keep them a while after.
	up := sampleRSS(s.o.ServerPID)
	keys, total, uploaded, err := s.packDocuments(ctx, d, item, task)
	upPeak := up.end()
	if err != nil {
		return err
	}
	// The server's RSS is the whole process's: before the first export it
	// still holds the heap that the uploads and the sign-ins (Argon2, 7 MiB
	// a hash) freed, which Go returns to the system only after the next
	// GC but one, and that comes with the next allocations, not with time:
	// in practice during the first export. So each round's RSS just before
	// its export is kept beside its peak: the growth is what an export
	// added, and the last round's peak is the export's after the set-up's
	// leftovers have gone.
	var exportTime, readTime time.Duration
	var exported, read, peak, firstBefore, lastBefore, lastPeak, growth int64
	bar := s.bar(s.o.Count, "export and read")
	for i := range s.o.Count {
		b := currentRSS(s.o.ServerPID)
		if i == 0 {
			firstBefore = b
		}
		rss := sampleRSS(s.o.ServerPID)
		t0 := time.Now()
		n, err := s.export(ctx, item)
		s.rec.op("pack.export", t0, err)
		p := max(rss.end(), b) // the RSS at the start is the export's too
		peak, growth = max(peak, p), max(growth, p-b)
		lastBefore, lastPeak = b, p
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
		// server_peak_rss_bytes is the highest RSS while an export ran,
		// with whatever the set-up left; the others tell it apart.
		s.rep.Figures["server_peak_rss_bytes"] = float64(peak)
		s.rep.Figures["server_rss_before_first_export_bytes"] = float64(firstBefore)
		s.rep.Figures["server_export_rss_growth_bytes"] = float64(growth)
		s.rep.Figures["server_last_export_rss_before_bytes"] = float64(lastBefore)
		s.rep.Figures["server_last_export_peak_rss_bytes"] = float64(lastPeak)
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("server RSS: %.0f MB before the first export (with what the uploads and sign-ins freed "+
			"and Go has not yet returned), %.0f MB at the exports' peak; an export added at most %.1f MB; the last one peaked at %.0f MB from %.0f MB",
			float64(firstBefore)/1e6, float64(peak)/1e6, float64(growth)/1e6, float64(lastPeak)/1e6, float64(lastBefore)/1e6))
	}
	if uploaded > 0 && upPeak > 0 {
		s.rep.Figures["server_upload_peak_rss_bytes"] = float64(upPeak)
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
// PackMB of them, and returns the object keys of all of them, their size
// and how many of them it uploaded.
func (s *sim) packDocuments(ctx context.Context, d *device, item, task string) (keys []string, total int64, uploaded int, err error) {
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
			return nil, 0, 0, err
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
			return nil, 0, 0, fmt.Errorf("upload a document for the pack: %w", err)
		}
		var e struct{ Status string }
		if decodeErr := json.Unmarshal(rec, &e); decodeErr != nil || e.Status != "verified" {
			return nil, 0, 0, fmt.Errorf("the pack's document %s is %q: %s", id, e.Status, rec)
		}
		keys = append(keys, "evidence/"+id)
		total += size
		uploaded++
	}
	return keys, total, uploaded, nil
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

// currentRSS is pid's RSS in bytes now, 0 when unknown.
func currentRSS(pid int) int64 {
	if pid == 0 {
		return 0
	}
	kb, err := rssKB(pid)
	if err != nil {
		return 0
	}
	return kb * 1024
}
