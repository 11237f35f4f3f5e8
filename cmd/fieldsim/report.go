package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run measured; --json prints it as is.
type Report struct {
	Scenario string       `json:"scenario"`
	Server   string       `json:"server"`
	Started  time.Time    `json:"started"`
	Seconds  float64      `json:"seconds"`
	Devices  int          `json:"devices"`
	Setup    *setupReport `json:"setup,omitempty"`
	// Ops are whole device operations (a Pull of all pages, a Push of
	// all batches, an upload of declare+send+complete); Requests are the
	// HTTP exchanges under them, by route.
	Ops      []OpReport `json:"operations"`
	Requests []OpReport `json:"requests"`
	// Figures are the scenario's results by name (mutations_per_second,
	// upload_ratio, …), each explained in Notes.
	Figures map[string]float64 `json:"figures"`
	Bytes   ByteTotals         `json:"bytes"`
	// Errors counts failed operations by error code.
	Errors map[string]int `json:"errors"`
	Notes  []string       `json:"notes,omitempty"`
}

// ByteTotals adds up the bytes of every request.
type ByteTotals struct {
	Sent int64 `json:"sent"`
	// Received counts response bodies as they came over the wire
	// (compressed where the server gzipped them); Decompressed is the
	// pulls' bodies after gunzip, PulledWire the same bodies on the wire.
	Received     int64 `json:"received"`
	Decompressed int64 `json:"pull_decompressed"`
	PulledWire   int64 `json:"pull_wire"`
}

func (s *sim) finish(rep *Report) *Report {
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Ops, rep.Requests = s.rec.snapshot()
	rep.Errors = map[string]int{}
	for _, op := range rep.Ops {
		for code, n := range op.ErrorCodes {
			rep.Errors[code] += n
		}
		if strings.HasPrefix(op.Name, "pull") {
			rep.Bytes.Decompressed += op.BytesReceived
			rep.Bytes.PulledWire += op.WireBytes
		}
	}
	for _, r := range rep.Requests {
		rep.Bytes.Sent += r.BytesSent
		rep.Bytes.Received += r.WireBytes
	}
	return rep
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *Report) writeText(w io.Writer) {
	fmt.Fprintf(w, "fieldsim %s against %s: %d devices, %.1f s\n", r.Scenario, r.Server, r.Devices, r.Seconds)
	if r.Setup != nil {
		fmt.Fprintf(w, "data set: created %s; reused %s (%.1f s)\n",
			counts(r.Setup.Created), counts(r.Setup.Existing), r.Setup.Seconds)
	}
	table := func(title string, rows []OpReport) {
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "name\tcount\terrors\t/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tsent\treceived\twire\t")
		for _, o := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t\n", o.Name, o.Count, o.Errors, o.PerSec,
				o.P50Ms, o.P90Ms, o.P99Ms, o.MaxMs, size(o.BytesSent), size(o.BytesReceived), size(o.WireBytes))
		}
		tw.Flush()
	}
	table("operations", r.Ops)
	table("HTTP requests", r.Requests)
	fmt.Fprintf(w, "\nbytes: sent %s, received %s on the wire; pulls %s decompressed, %s on the wire\n",
		size(r.Bytes.Sent), size(r.Bytes.Received), size(r.Bytes.Decompressed), size(r.Bytes.PulledWire))
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "errors by code: %s\n", counts(r.Errors))
	} else {
		fmt.Fprintln(w, "errors: none")
	}
	if len(r.Figures) > 0 {
		fmt.Fprintln(w, "\nfigures")
		for _, k := range slices.Sorted(maps.Keys(r.Figures)) {
			fmt.Fprintf(w, "  %-36s %.4g\n", k, r.Figures[k])
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "nothing"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// size prints a byte count in binary units.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, u := float64(n), 0
	for f >= unit && u < 4 {
		f /= unit
		u++
	}
	return fmt.Sprintf("%.1f %ciB", f, "BKMGT"[u])
}
