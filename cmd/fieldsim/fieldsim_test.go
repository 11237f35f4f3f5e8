package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/cmd/internal/exifjpeg"
	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/media"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, c := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 90, 90 * time.Millisecond},
		{ms(hundred...), 1, 1 * time.Millisecond},
	} {
		if got := percentile(c.sorted, c.p); got != c.want {
			t.Errorf("p%v of %d samples: %v, want %v", c.p, len(c.sorted), got, c.want)
		}
	}
}

// TestReport records operations and requests and checks the figures
// and the JSON a machine reads.
func TestReport(t *testing.T) {
	s := &sim{rec: newRecorder()}
	start := time.Now().Add(-time.Second)
	for i := range 10 {
		s.rec.op("pull", start, nil)
		s.rec.bytes("pull", 1000, 100)
		if i == 0 {
			s.rec.op("push", start, &contract.APIError{Status: 409, Code: "mutation_gap"})
			s.rec.op("push", start, fmt.Errorf("wrapped: %w", &contract.APIError{Status: 502}))
		}
	}
	s.rec.request("POST /v1/sync/pull", start, 200, 50, 100)
	s.rec.request("POST /v1/sync/push", start, 503, 70, 10)
	s.rec.request("POST /v1/sync/push", start, 0, 70, 0)
	rep := s.finish(&Report{Scenario: "initial", Started: start, Figures: map[string]float64{"x": 1}})

	var buf bytes.Buffer
	if err := rep.writeJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Ops     []OpReport         `json:"operations"`
		Req     []OpReport         `json:"requests"`
		Bytes   ByteTotals         `json:"bytes"`
		Errors  map[string]int     `json:"errors"`
		Figures map[string]float64 `json:"figures"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Ops) != 2 || got.Ops[0].Name != "pull" || got.Ops[0].Count != 10 || got.Ops[0].BytesReceived != 10000 || got.Ops[0].WireBytes != 1000 {
		t.Errorf("operations: %+v", got.Ops)
	}
	if p := got.Ops[1]; p.Name != "push" || p.Errors != 2 || p.ErrorCodes["mutation_gap"] != 1 || p.ErrorCodes["http_502"] != 1 {
		t.Errorf("push: %+v", p)
	}
	if got.Errors["mutation_gap"] != 1 || got.Errors["http_502"] != 1 || len(got.Errors) != 2 {
		t.Errorf("errors by code: %v", got.Errors)
	}
	if r := got.Req[1]; r.Errors != 2 || r.ErrorCodes["http_503"] != 1 || r.ErrorCodes["network"] != 1 || r.BytesSent != 140 {
		t.Errorf("push requests: %+v", r)
	}
	if got.Bytes.Sent != 190 || got.Bytes.Received != 110 || got.Bytes.Decompressed != 10000 || got.Bytes.PulledWire != 1000 {
		t.Errorf("bytes: %+v", got.Bytes)
	}
	if got.Ops[0].P50Ms < 900 || got.Ops[0].MaxMs < got.Ops[0].P99Ms || got.Figures["x"] != 1 {
		t.Errorf("figures: %+v %v", got.Ops[0], got.Figures)
	}
	var text bytes.Buffer
	rep.writeText(&text)
	for _, want := range []string{"operations", "HTTP requests", "mutation_gap 1", "POST /v1/sync/push"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}
}

// TestOptionsBounds: every loop has a bound, and only loopback servers
// are targets.
func TestOptionsBounds(t *testing.T) {
	ok := []string{"-inspectors", "10", "-tasks", "100", "-devices", "5"}
	if _, rest, err := parse(append(ok, "--", "-data-dir", "x"), io.Discard); err != nil || strings.Join(rest, " ") != "-data-dir x" {
		t.Fatalf("good flags: %v, rest %q", err, rest)
	}
	for _, bad := range [][]string{
		{"-server", "http://10.0.0.1:8080"},
		{"-server", "http://example.com"},
		{"-server", "ftp://127.0.0.1"},
		{"-server", "http://127.0.0.1:8080,http://10.0.0.5:8080"},
		{"-server", "http://127.0.0.1:8080,"},
		{"-scenario", "flood"},
		{"-devices", "11"},
		{"-devices", "0"},
		{"-count", "0"},
		{"-count", "10001"},
		{"-duration", "0s"},
		{"-duration", "25h"},
		{"-timeout", "0s"},
		{"-cycle", "0s"},
		{"-mutations", "101"},
		{"-batches", "1,0"},
		{"-batches", "101"},
		{"-ramp", "1000,500"},
		{"-ramp", "0,100"},
		{"-ramp", "fast"},
		{"-step", "0s"},
		{"-held-share", "1.5"},
		{"-target-p99", "-1ms"},
		{"-waves", "0"},
		{"-outside", "1.5"},
		{"-via", "carrier-pigeon"},
		{"-photo-mb", "0"},
		{"-tasks", "5"},
		{"-history", "-1"},
		{"-scenario", "setup", "-setup=false"},
		{"stray"},
	} {
		if _, _, err := parse(append(append([]string{}, ok...), bad...), io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"http://127.0.0.1:8080", "http://127.9.9.9", "http://localhost:1", "http://[::1]:8080"} {
		if err := loopback(good); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	var help bytes.Buffer
	if _, _, err := parse([]string{"-h"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"Scenarios", "sustained", "Examples", "-inspectors", "loopback"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("the help lacks %q", want)
		}
	}
}

// TestGeneratedPhoto: the server's analyzer reads the generated JPEG's
// size, GPS position and time with its offset.
func TestGeneratedPhoto(t *testing.T) {
	taken := time.Date(2026, 11, 28, 9, 12, 0, 0, time.FixedZone("", 8*3600))
	lat, lng := exifjpeg.OffsetMetres(29.6, 115.9, 350, -120)
	b, err := generateJPEG(7, 640, 480, 90, lat, lng, taken)
	if err != nil {
		t.Fatal(err)
	}
	info, err := media.New().Analyze(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if info.ContentType != "image/jpeg" || info.Width != 640 || info.Height != 480 || !info.HasGPS || info.Make != "fieldsim" {
		t.Fatalf("analyzed: %+v", info)
	}
	if d := models.DistanceM(info.Lat, info.Lng, lat, lng); d > 0.5 {
		t.Errorf("EXIF position is %.2f m off", d)
	}
	if n := models.DistanceM(29.6, 115.9, lat, lng); n < 360 || n > 380 {
		t.Errorf("offsetMetres moved %.1f m, want about 370", n)
	}
	if info.TakenAt == nil || !info.TakenAt.Equal(taken) || info.TakenAtLocal {
		t.Errorf("taken at %v (local %v), want %v", info.TakenAt, info.TakenAtLocal, taken)
	}
	other, _ := generateJPEG(8, 640, 480, 90, lat, lng, taken)
	if bytes.Equal(b, other) {
		t.Error("two seeds made the same photo")
	}
}
