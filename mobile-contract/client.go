package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Client. Only BaseURL and DeviceID are required.
type Config struct {
	// BaseURL is the server's root, e.g. http://127.0.0.1:8080.
	BaseURL string
	// HTTP sends the requests; nil means a client with sane timeouts. The
	// Client asks for gzip itself, so a custom Transport must not decompress
	// behind its back (net/http's does not when Accept-Encoding is set).
	HTTP *http.Client
	// DeviceID is the device's UUID: sent at login and used as the sync
	// client_id. A DeviceID must stay with its Store: the server remembers
	// the last mutation id per client, so a new, empty Store under an old
	// DeviceID would reuse ids the server has already answered.
	DeviceID string
	// DeviceName is sent at login; empty means "fieldsync-go".
	DeviceName string
	// Store is the local persistence; nil means NewMemoryStore().
	Store Store
	// Retry says how often and how patiently to retry; zero means
	// DefaultRetryPolicy.
	Retry RetryPolicy
	// Sleep waits between attempts; nil means a timer that stops early
	// when ctx is done. Tests inject one that only records the duration.
	Sleep func(ctx context.Context, d time.Duration) error
	// PushBatch is the most mutations sent in one push; 0 means 100.
	PushBatch int
	// PullLimit is the page size asked for in a pull; 0 leaves it to the
	// server.
	PullLimit int
}

// RetryPolicy bounds the retries of one request: network errors, 5xx, 408
// and 429 are retried with exponential backoff from Base, doubling up to
// Max, each delay shortened by a random fraction of up to Jitter (0..1).
// A Retry-After header is honoured in full, even beyond Max.
//
// The zero policy means DefaultRetryPolicy. In a policy with some field
// set, Attempts < 1 means 1 (no retry), Base 0 means 100ms, Max 0 means
// 5s, and Jitter 0 means none.
type RetryPolicy struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
	Jitter   float64
}

// DefaultRetryPolicy is used when Config.Retry is zero.
var DefaultRetryPolicy = RetryPolicy{Attempts: 5, Base: 100 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.2}

func (p RetryPolicy) normalized() RetryPolicy {
	if p == (RetryPolicy{}) {
		return DefaultRetryPolicy
	}
	p.Attempts = max(p.Attempts, 1)
	if p.Base <= 0 {
		p.Base = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 5 * time.Second
	}
	p.Max = max(p.Max, p.Base)
	p.Jitter = min(max(p.Jitter, 0), 1)
	return p
}

// Client is a device talking to a fieldsync server: the reference client
// the tests and fieldsim use as "a phone". It is safe for concurrent use;
// Push, Pull and Sync run one at a time, Enqueue may run beside them (a
// mutation enqueued during a push goes out with the next one).
type Client struct {
	base     string
	http     *http.Client
	deviceID string
	devName  string
	store    Store
	retry    RetryPolicy
	sleep    func(context.Context, time.Duration) error
	batch    int
	limit    int

	syncMu sync.Mutex // one Push or Pull at a time

	refreshMu sync.Mutex // one refresh at a time: a refresh token is single use
	tokMu     sync.RWMutex
	access    string
	refresh   string
	user      *UserSummary

	stats clientStats
}

// New returns a Client. It does not contact the server.
func New(cfg Config) *Client {
	c := &Client{
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		http:     cfg.HTTP,
		deviceID: cfg.DeviceID,
		devName:  cfg.DeviceName,
		store:    cfg.Store,
		retry:    cfg.Retry.normalized(),
		sleep:    cfg.Sleep,
		batch:    cfg.PushBatch,
		limit:    cfg.PullLimit,
	}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	if c.devName == "" {
		c.devName = "fieldsync-go"
	}
	if c.store == nil {
		c.store = NewMemoryStore()
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.batch <= 0 {
		c.batch = 100
	}
	return c
}

func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: time.Minute,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
			ForceAttemptHTTP2:     true,
		},
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DeviceID returns the device's UUID, which is also its sync client_id.
func (c *Client) DeviceID() string { return c.deviceID }

// Store returns the Client's local persistence.
func (c *Client) Store() Store { return c.store }

// Enqueue records an intent in the outbox: args are marshalled to a JSON
// object, and the mutation takes the next sequential id, which it
// returns. It is persisted before Enqueue returns and sent by the next
// Push.
func (c *Client) Enqueue(name string, args any) (int64, error) {
	return c.enqueue(name, args, nil)
}

// EnqueueVersioned is Enqueue for a change based on a record's version
// (the mutation's base_version).
func (c *Client) EnqueueVersioned(name string, args any, baseVersion int64) (int64, error) {
	return c.enqueue(name, args, &baseVersion)
}

func (c *Client) enqueue(name string, args any, base *int64) (int64, error) {
	if name == "" {
		return 0, errors.New("fieldsync: enqueue: empty mutation name")
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return 0, fmt.Errorf("fieldsync: enqueue %s: %w", name, err)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return 0, fmt.Errorf("fieldsync: enqueue %s: args must be a JSON object, got %.40s", name, raw)
	}
	var m Mutation
	if err := c.store.Update(func(tx StoreTx) { m = tx.Append(name, raw, base) }); err != nil {
		return 0, fmt.Errorf("fieldsync: enqueue %s: %w", name, err)
	}
	return m.ID, nil
}

// Records returns a snapshot of the local records of an entity, by id.
func (c *Client) Records(entity string) map[string]json.RawMessage { return c.store.All(entity) }

// Outbox returns the mutations not yet acknowledged by the server.
func (c *Client) Outbox() []Mutation { return c.store.Outbox() }

// Stats are a Client's running totals since New.
type Stats struct {
	Requests  int64 // HTTP attempts, retries included
	Retries   int64 // attempts after the first of a request
	Refreshes int64 // token refreshes
	BytesSent int64 // request bodies
	// BytesReceived counts response bodies after decompression, WireBytes
	// as they arrived (compressed when the server compressed them).
	BytesReceived int64
	WireBytes     int64
	// Errors counts the error answers by status and code, every attempt
	// counted, retried or not: "503 unavailable", "409 mutation_gap". An
	// answer that is not a problem document (a proxy's, or the blob
	// store's to a presigned upload) counts under its status alone.
	Errors map[string]int64
	// NetworkErrors counts the attempts that got no whole answer: the
	// connection was refused, reset or timed out.
	NetworkErrors int64
}

type clientStats struct {
	requests, retries, refreshes, sent, received, wire, network atomic.Int64

	mu     sync.Mutex
	errors map[string]int64
}

// failed counts an error answer.
func (s *clientStats) failed(e *APIError) {
	key := strconv.Itoa(e.Status)
	if e.Code != "" {
		key += " " + e.Code
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.errors == nil {
		s.errors = map[string]int64{}
	}
	s.errors[key]++
}

// Stats returns the running totals.
func (c *Client) Stats() Stats {
	s := &c.stats
	s.mu.Lock()
	errs := maps.Clone(s.errors)
	s.mu.Unlock()
	return Stats{
		Requests: s.requests.Load(), Retries: s.retries.Load(), Refreshes: s.refreshes.Load(),
		BytesSent: s.sent.Load(), BytesReceived: s.received.Load(), WireBytes: s.wire.Load(),
		Errors: errs, NetworkErrors: s.network.Load(),
	}
}
