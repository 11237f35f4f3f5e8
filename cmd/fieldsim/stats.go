package main

import (
	"context"
	"errors"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// recorder collects what a run measures: per operation (a device's whole
// Pull, Push or upload) and per HTTP request, latencies, bytes and
// errors. It is safe for concurrent use.
type recorder struct {
	mu    sync.Mutex
	ops   map[string]*series
	reqs  map[string]*series
	start time.Time
}

// series is one named operation's samples.
type series struct {
	lat    []time.Duration
	errors int
	codes  map[string]int
	// Bytes: sent in request bodies, received as the application read
	// them (decompressed), and on the wire (compressed when gzipped).
	sent, received, wire int64
	first, last          time.Time
}

func newRecorder() *recorder {
	return &recorder{ops: map[string]*series{}, reqs: map[string]*series{}, start: time.Now()}
}

func (r *recorder) get(m map[string]*series, name string) *series {
	s := m[name]
	if s == nil {
		s = &series{codes: map[string]int{}}
		m[name] = s
	}
	return s
}

// op records one operation that started at start and ended now.
func (r *recorder) op(name string, start time.Time, err error) time.Duration {
	d := time.Since(start)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(r.ops, name)
	s.add(start, d)
	if err != nil {
		s.errors++
		s.codes[errorCode(err)]++
	}
	return d
}

// bytes adds byte counts to an operation.
func (r *recorder) bytes(name string, received, wire int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(r.ops, name)
	s.received += received
	s.wire += wire
}

// request records one HTTP exchange; status 0 is a transport error.
func (r *recorder) request(name string, start time.Time, status int, sent, wire int64) {
	d := time.Since(start)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(r.reqs, name)
	s.add(start, d)
	s.sent += sent
	s.wire += wire
	if status == 0 || status >= 400 {
		s.errors++
		s.codes[statusCode(status)]++
	}
}

func (s *series) add(start time.Time, d time.Duration) {
	s.lat = append(s.lat, d)
	if s.first.IsZero() || start.Before(s.first) {
		s.first = start
	}
	if end := start.Add(d); end.After(s.last) {
		s.last = end
	}
}

func statusCode(status int) string {
	if status == 0 {
		return "network"
	}
	return "http_" + strconv.Itoa(status)
}

// errorCode names an error for the report: the API's code when the
// server answered with a problem document, else what kind of failure.
func errorCode(err error) string {
	var apiErr *contract.APIError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Code != "":
		return apiErr.Code
	case errors.As(err, &apiErr):
		return statusCode(apiErr.Status)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &netErr):
		return "network"
	}
	return "client"
}

// p99 is the 99th percentile of the operation's latencies so far.
func (r *recorder) p99(name string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.ops[name]
	if s == nil {
		return 0
	}
	lat := slices.Clone(s.lat)
	slices.Sort(lat)
	return percentile(lat, 99)
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted durations; 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// OpReport is one operation's or request kind's figures.
type OpReport struct {
	Name   string  `json:"name"`
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	PerSec float64 `json:"per_second"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	// Bytes sent and received, received counted after decompression and
	// on the wire.
	BytesSent     int64          `json:"bytes_sent"`
	BytesReceived int64          `json:"bytes_received"`
	WireBytes     int64          `json:"wire_bytes"`
	ErrorCodes    map[string]int `json:"error_codes,omitempty"`
}

func (s *series) report(name string) OpReport {
	lat := slices.Clone(s.lat)
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r := OpReport{Name: name, Count: len(lat), Errors: s.errors, BytesSent: s.sent, BytesReceived: s.received, WireBytes: s.wire,
		P50Ms: ms(percentile(lat, 50)), P90Ms: ms(percentile(lat, 90)), P99Ms: ms(percentile(lat, 99)), MaxMs: ms(percentile(lat, 100))}
	if span := s.last.Sub(s.first).Seconds(); span > 0 {
		r.PerSec = float64(len(lat)) / span
	}
	if len(s.codes) > 0 {
		r.ErrorCodes = s.codes
	}
	return r
}

// snapshot returns the figures so far, each list sorted by name.
func (r *recorder) snapshot() (ops, reqs []OpReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := func(m map[string]*series) []OpReport {
		out := []OpReport{}
		for _, name := range slices.Sorted(maps.Keys(m)) {
			out = append(out, m[name].report(name))
		}
		return out
	}
	return list(r.ops), list(r.reqs)
}
