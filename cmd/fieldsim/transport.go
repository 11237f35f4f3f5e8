package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// meter is the HTTP transport every simulated device shares: one
// connection pool sized to the run's concurrency (a thousand devices with
// a pool each would measure the kernel's port table, not the server), and
// a record of each request's latency, status and bytes.
type meter struct {
	base *http.Transport
	rec  *recorder
	// api holds the servers' host:port; requests elsewhere (presigned
	// store URLs) are counted apart.
	api map[string]bool
}

func newMeter(rec *recorder, servers []string, conns int) (*meter, error) {
	api := map[string]bool{}
	for _, s := range servers {
		u, err := url.Parse(s)
		if err != nil {
			return nil, err
		}
		api[u.Host] = true
	}
	return &meter{rec: rec, api: api, base: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          conns * 2,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
	}}, nil
}

// client returns an http.Client over the meter with an overall bound on
// each request.
func (m *meter) client() *http.Client { return &http.Client{Transport: m, Timeout: 10 * time.Minute} }

func (m *meter) RoundTrip(req *http.Request) (*http.Response, error) {
	name := m.name(req)
	start := time.Now()
	sent := max(req.ContentLength, 0)
	res, err := m.base.RoundTrip(req)
	if err != nil {
		m.rec.request(name, start, 0, sent, 0)
		return nil, err
	}
	res.Body = &meteredBody{ReadCloser: res.Body, done: func(wire int64) {
		m.rec.request(name, start, res.StatusCode, sent, wire)
	}}
	return res, nil
}

// name is the request's route: ids are replaced by {id} so that requests
// of one kind are counted together.
func (m *meter) name(req *http.Request) string {
	if !m.api[req.URL.Host] {
		return req.Method + " (store URL)"
	}
	parts := strings.Split(req.URL.Path, "/")
	for i, p := range parts {
		if len(p) == 36 && strings.Count(p, "-") == 4 {
			parts[i] = "{id}"
		} else if i == 3 && parts[2] == "blobs" {
			parts[i] = "{token}"
		}
	}
	return fmt.Sprintf("%s %s", req.Method, strings.Join(parts, "/"))
}

// meteredBody counts the bytes read off the wire and reports once, when
// the body is closed: the request's latency runs to its last byte.
type meteredBody struct {
	io.ReadCloser
	n    int64
	once sync.Once
	done func(wire int64)
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *meteredBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.done(b.n) })
	return err
}
