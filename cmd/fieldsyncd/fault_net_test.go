package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"
)

// Kinds of request the recorder tells apart.
const (
	opPush     = "push"
	opPull     = "pull"
	opDeclare  = "declare"
	opUpload   = "upload" // the presigned PUT, straight to MinIO
	opComplete = "complete"
	opOther    = "other"
)

var ops = []string{opPush, opPull, opDeclare, opUpload, opComplete, opOther}

// recorder is the phones' network: a plain transport that notes every
// attempt that failed (with its time, so that the checks can tell whether
// the target was down then), counts answers by kind and status, and
// knows which kinds of request are in flight, so that a fault can be
// injected while the phones are in the middle of something.
type recorder struct {
	base     http.RoundTripper
	server   string // host:port of fieldsyncd; anything else is MinIO
	inflight map[string]*atomic.Int64

	mu       gosync.Mutex
	counts   map[string]map[int]int64 // kind → status (0: no answer) → attempts
	slowest  map[string]time.Duration // kind → the longest wait for an answer (or for none)
	failures []failure
}

// failure is one attempt that got an error answer, or none.
type failure struct {
	at         time.Time
	took       time.Duration
	op, target string
	status     int // 0: no (whole) answer
	retryAfter string
	detail     string // the transport error, or the start of the body
}

func newRecorder(server string) *recorder {
	r := &recorder{
		base: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		},
		server:   server,
		inflight: map[string]*atomic.Int64{},
		counts:   map[string]map[int]int64{},
		slowest:  map[string]time.Duration{},
	}
	for _, op := range ops {
		r.inflight[op] = &atomic.Int64{}
		r.counts[op] = map[int]int64{}
	}
	return r
}

func (r *recorder) classify(req *http.Request) (op, target string) {
	if req.URL.Host != r.server {
		return opUpload, targetMinIO
	}
	switch p := req.URL.Path; {
	case p == "/v1/sync/push":
		return opPush, targetServer
	case p == "/v1/sync/pull":
		return opPull, targetServer
	case p == "/v1/evidence" && req.Method == http.MethodPost:
		return opDeclare, targetServer
	case strings.HasSuffix(p, "/complete"):
		return opComplete, targetServer
	}
	return opOther, targetServer
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	op, target := r.classify(req)
	r.inflight[op].Add(1)
	defer r.inflight[op].Add(-1)
	start := time.Now()
	res, err := r.base.RoundTrip(req)
	took := time.Since(start)
	r.mu.Lock()
	r.slowest[op] = max(r.slowest[op], took)
	r.mu.Unlock()
	if err != nil {
		if req.Context().Err() == nil { // a request the test gave up on is not the network's failure
			r.note(failure{at: time.Now(), took: took, op: op, target: target, detail: err.Error()})
		}
		return nil, err
	}
	if res.StatusCode >= 400 {
		// Read here, so that the failure is noted with what it said.
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(b))
		r.note(failure{at: time.Now(), took: took, op: op, target: target, status: res.StatusCode,
			retryAfter: res.Header.Get("Retry-After"), detail: string(b[:min(len(b), 300)])})
		return res, nil
	}
	r.mu.Lock()
	r.counts[op][res.StatusCode]++
	r.mu.Unlock()
	res.Body = &watchedBody{ReadCloser: res.Body, r: r, op: op, target: target}
	return res, nil
}

func (r *recorder) note(f failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[f.op][f.status]++
	r.failures = append(r.failures, f)
}

// watchedBody notes a body cut off half-way as an attempt without a
// whole answer.
type watchedBody struct {
	io.ReadCloser
	r          *recorder
	op, target string
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.r.note(failure{at: time.Now(), op: b.op, target: b.target, detail: "reading the body: " + err.Error()})
	}
	return n, err
}

func (r *recorder) inFlight(op string) int64 { return r.inflight[op].Load() }

// count returns the attempts of a kind answered with status (0: none).
func (r *recorder) count(op string, status int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[op][status]
}

// refusals returns the attempts fieldsyncd answered with status.
func (r *recorder) refusals(status int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, op := range ops {
		if op != opUpload {
			n += r.counts[op][status]
		}
	}
	return n
}

// summary lists the answers by kind and status, e.g. "push: 200×812 503×9
// none×3 (slowest 5.1s)".
func (r *recorder) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, op := range ops {
		if len(r.counts[op]) == 0 {
			continue
		}
		statuses := make([]int, 0, len(r.counts[op]))
		for s := range r.counts[op] {
			statuses = append(statuses, s)
		}
		sort.Ints(statuses)
		fmt.Fprintf(&b, "\n  %-8s", op+":")
		for _, s := range statuses {
			name := fmt.Sprint(s)
			if s == 0 {
				name = "none"
			}
			fmt.Fprintf(&b, " %s×%d", name, r.counts[op][s])
		}
		fmt.Fprintf(&b, " (slowest %v)", r.slowest[op].Round(time.Millisecond))
	}
	return b.String()
}

// checkNetwork holds every failed attempt against the outages: the server
// may refuse only with 503 and a Retry-After; MinIO may refuse a
// presigned upload only with 503 or 499 while it is going down; and
// an attempt may go without an answer only while its target was down.
func (w *faultWorld) checkNetwork() {
	w.net.mu.Lock()
	failures := append([]failure(nil), w.net.failures...)
	w.net.mu.Unlock()
	bad, outside := map[string]int{}, map[string]int{}
	var minio []string
	for _, f := range failures {
		var problem string
		switch {
		case f.status == http.StatusServiceUnavailable && f.target == targetServer:
			if f.retryAfter == "" {
				problem = fmt.Sprintf("%s: 503 without Retry-After: %s", f.op, f.detail)
			} else if !w.during(targetDB, f.at) && !w.during(targetMinIO, f.at) {
				outside[f.op]++
			}
		case f.status != 0 && f.target == targetServer:
			problem = fmt.Sprintf("%s: fieldsyncd answered %d: %s", f.op, f.status, f.detail)
		case f.status != 0:
			// Going down, MinIO refuses new requests with 503 and cancels
			// those in flight with 499.
			if f.status != http.StatusServiceUnavailable && f.status != 499 || !w.during(targetMinIO, f.at) {
				problem = fmt.Sprintf("%s: MinIO answered %d: %s", f.op, f.status, f.detail)
			} else {
				minio = append(minio, fmt.Sprintf("%d Retry-After %q", f.status, f.retryAfter))
			}
		case !w.during(f.target, f.at):
			problem = fmt.Sprintf("%s: no answer from %s, which was up: %s", f.op, f.target, f.detail)
		}
		if problem != "" {
			bad[problem]++
		}
	}
	if len(minio) > 0 {
		w.t.Logf("MinIO refused %d presigned uploads while going down or coming up: %v", len(minio), minio)
	}
	for p, n := range bad {
		w.t.Errorf("%d× %s", n, p)
	}
	if len(outside) > 0 {
		// Not a failure: a busy server may shed load with 503 too.
		w.t.Logf("503s (with Retry-After) outside any backend outage: %v", outside)
	}
	w.t.Logf("answers by kind and status:%s", w.net.summary())
}

// outageGrace is how long after a target is back an attempt may still
// fail for it: a connection pooled before the outage is found dead only
// when used.
const outageGrace = 5 * time.Second

// during reports whether target was down at t.
func (w *faultWorld) during(target string, t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.outages {
		if o.target == target && !t.Before(o.from) && !t.After(o.to.Add(outageGrace)) {
			return true
		}
	}
	return false
}
