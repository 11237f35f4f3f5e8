package contract

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes the Client acts on.
const (
	CodeTokenExpired = "token_expired"
	CodeMutationGap  = "mutation_gap"
	// CodeSyncCursorInvalid refuses a cursor; the client starts over.
	CodeSyncCursorInvalid = "sync_cursor_invalid"
)

// Errors a Client returns; an *APIError matches the first two with
// errors.Is by its status and code.
var (
	// ErrUpgradeRequired: the server does not speak this SchemaVersion
	// (426). Nothing was dropped from the outbox.
	ErrUpgradeRequired = errors.New("fieldsync: the server requires another schema version")
	// ErrMutationGap: the server expected a smaller mutation id than the
	// first one sent (409 mutation_gap). Nothing was dropped.
	ErrMutationGap = errors.New("fieldsync: the server reports a gap in mutation ids")
	// ErrNotLoggedIn: no refresh token to renew an expired access token.
	ErrNotLoggedIn = errors.New("fieldsync: not logged in")
)

// maxResponse bounds a decompressed response body.
const maxResponse = 64 << 20

// APIError is an error response of the server, decoded from its
// application/problem+json body. For a body that is not a problem
// document (a proxy's 502), Code is empty and Detail holds the start of
// the body.
type APIError struct {
	Status     int
	Code       string
	Detail     string
	Field      string
	RequestID  string
	RetryAfter time.Duration // from the Retry-After header; 0 if absent
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fieldsync: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Field != "" {
		b.WriteString(" (field " + e.Field + ")")
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Is matches ErrUpgradeRequired for a 426 and ErrMutationGap for a 409
// mutation_gap.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUpgradeRequired:
		return e.Status == http.StatusUpgradeRequired
	case ErrMutationGap:
		return e.Status == http.StatusConflict && e.Code == CodeMutationGap
	}
	return false
}

// Do makes an authenticated JSON call: in (if not nil) is sent as the
// body, a 2xx body is decoded into out (if not nil). An error response is
// an *APIError. An expired access token is refreshed once and the call
// repeated. Failures are retried per the RetryPolicy, except that a POST
// or PATCH is not repeated after a network error once the request may
// have reached the server, since it may not be idempotent.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("fieldsync: %s %s: encode: %w", method, path, err)
		}
	}
	safe := method != http.MethodPost && method != http.MethodPatch
	res, err := c.call(ctx, request{method: method, path: path, auth: true, safe: safe,
		body: func() ([]byte, error) { return body, nil }})
	if err != nil {
		return err
	}
	return res.decode(out)
}

// marshalBody encodes v once, for a request body that is the same in
// every attempt.
func marshalBody(v any) (func() ([]byte, error), error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("fieldsync: encode: %w", err)
	}
	return func() ([]byte, error) { return b, nil }, nil
}

// request is one logical call, made in as many attempts as needed.
type request struct {
	method, path string
	// body builds the body for each attempt; it may return nil for none.
	body func() ([]byte, error)
	auth bool
	// safe means the call may be repeated even when a network error left
	// it unknown whether the server acted on it.
	safe bool
	// url, when set, is an absolute URL to send to instead of the API's
	// path (a presigned upload URL); contentType and header then describe
	// the raw body.
	url         string
	contentType string
	header      map[string]string
}

// response is a successful answer, body decompressed.
type response struct {
	status int
	header http.Header
	body   []byte
	wire   int // body bytes as received
}

func (r *response) decode(out any) error {
	if out == nil || len(r.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return fmt.Errorf("fieldsync: decode %d response: %w", r.status, err)
	}
	return nil
}

// call runs req with retries, and with one token refresh on
// token_expired. It returns a 2xx response, or an error.
func (c *Client) call(ctx context.Context, req request) (*response, error) {
	refreshed := false
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			c.stats.retries.Add(1)
		}
		res, token, err := c.once(ctx, req)
		var wait time.Duration
		var apiErr *APIError
		var perm *permanentError
		switch {
		case errors.As(err, &perm):
			return nil, perm.err
		case err == nil && res.status < 300:
			return res, nil
		case err == nil:
			apiErr = problem(res)
			c.stats.failed(apiErr)
			if req.auth && !refreshed && apiErr.Status == http.StatusUnauthorized && apiErr.Code == CodeTokenExpired {
				refreshed = true
				if err := c.renew(ctx, token); err != nil {
					return nil, err
				}
				attempt-- // the refresh is not a failure of this call
				continue
			}
			if !retryableStatus(apiErr.Status) {
				return nil, apiErr
			}
			err, wait = apiErr, apiErr.RetryAfter
		case ctx.Err() != nil:
			return nil, fmt.Errorf("fieldsync: %s %s: %w", req.method, req.path, ctx.Err())
		case !req.safe && !notSent(err):
			return nil, err
		}
		if attempt >= c.retry.Attempts {
			if apiErr != nil {
				return nil, apiErr
			}
			return nil, fmt.Errorf("%w (after %d attempts)", err, attempt)
		}
		if err := c.sleep(ctx, max(wait, c.backoff(attempt))); err != nil {
			return nil, fmt.Errorf("fieldsync: %s %s: %w", req.method, req.path, err)
		}
	}
}

func retryableStatus(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// notSent reports whether a transport error happened before the request
// could reach the server.
func notSent(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial"
}

// backoff is the delay after the given failed attempt (1-based).
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.Base
	for i := 1; i < attempt && d < c.retry.Max; i++ {
		d *= 2
	}
	d = min(d, c.retry.Max)
	if c.retry.Jitter > 0 {
		d -= time.Duration(float64(d) * c.retry.Jitter * rand.Float64())
	}
	return d
}

// once makes one attempt. It returns the response whatever its status,
// and the access token it was sent with.
func (c *Client) once(ctx context.Context, req request) (*response, string, error) {
	var body []byte
	if req.body != nil {
		var err error
		if body, err = req.body(); err != nil {
			return nil, "", &permanentError{err}
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	target := c.base + req.path
	if req.url != "" {
		target = req.url
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, target, rd)
	if err != nil {
		return nil, "", &permanentError{fmt.Errorf("fieldsync: %s %s: %w", req.method, req.path, err)}
	}
	if body != nil {
		ct := req.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Accept", "application/json, application/problem+json")
	// Asked for explicitly, so net/http leaves the body compressed and the
	// wire size can be counted.
	hr.Header.Set("Accept-Encoding", "gzip")
	hr.Header.Set("User-Agent", "fieldsync-go")
	var token string
	if req.auth {
		token = c.AccessToken()
		if token != "" {
			hr.Header.Set("Authorization", "Bearer "+token)
		}
	}
	c.stats.requests.Add(1)
	c.stats.sent.Add(int64(len(body)))
	hres, err := c.http.Do(hr)
	if err != nil {
		if ctx.Err() == nil { // a call given up by its caller is not the network's fault
			c.stats.network.Add(1)
		}
		return nil, token, fmt.Errorf("fieldsync: %s %s: %w", req.method, req.path, err)
	}
	defer hres.Body.Close()
	res, err := readBody(hres)
	if err != nil {
		if ctx.Err() == nil {
			c.stats.network.Add(1)
		}
		return nil, token, fmt.Errorf("fieldsync: %s %s: read response: %w", req.method, req.path, err)
	}
	c.stats.received.Add(int64(len(res.body)))
	c.stats.wire.Add(int64(res.wire))
	return res, token, nil
}

// permanentError is a failure that no retry can mend.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func readBody(hres *http.Response) (*response, error) {
	wire := &countingReader{r: hres.Body}
	var r io.Reader = wire
	if strings.EqualFold(strings.TrimSpace(hres.Header.Get("Content-Encoding")), "gzip") {
		zr, err := gzip.NewReader(wire)
		if err != nil && err != io.EOF {
			return nil, err
		}
		if err == nil {
			defer zr.Close()
			r = zr
		}
	}
	body, err := io.ReadAll(io.LimitReader(r, maxResponse+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("body larger than %d bytes", maxResponse)
	}
	return &response{status: hres.StatusCode, header: hres.Header, body: body, wire: wire.n}, nil
}

// problem decodes an error response.
func problem(res *response) *APIError {
	e := &APIError{Status: res.status, RetryAfter: retryAfter(res.header.Get("Retry-After"))}
	var p struct {
		Code      string `json:"code"`
		Detail    string `json:"detail"`
		Field     string `json:"field"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(res.body, &p); err == nil && p.Code != "" {
		e.Code, e.Detail, e.Field, e.RequestID = p.Code, p.Detail, p.Field, p.RequestID
	} else {
		e.Detail = strings.TrimSpace(string(res.body[:min(len(res.body), 200)]))
	}
	if e.RequestID == "" {
		e.RequestID = res.header.Get("X-Request-ID")
	}
	return e
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
