package contract_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// fakeServer implements just enough of fieldsync's auth and sync protocol
// for the client tests: tokens that expire on demand and are spent on
// refresh, pushes answered exactly once per (client, mutation id) with
// stored results for repeats, and pulls in pages over a change log with an
// epoch that, when bumped, makes older cursors answer reset.
type fakeServer struct {
	srv *httptest.Server

	mu        sync.Mutex
	access    string
	refresh   string
	tokenN    int
	expired   map[string]bool
	spent     map[string]bool
	refreshes int
	logins    int

	epoch    int
	log      []fakeChange // seq is index+1
	pageSize int
	maxBatch int  // more mutations in a push are 413
	upgrade  bool // answer every sync call 426
	fail     map[string][]fakeFailure
	// refusePullAfter > 0 lets that many pulls through, then refuses one
	// with a 400.
	refusePullAfter int

	lastID  map[string]int64
	results map[string]map[int64]contract.MutationResult
	applied map[string]map[int64]int // how often each mutation took effect
	pushes  [][]int64                // the ids of every push received
	cursors []*string                // the cursor of every pull received
	hits    map[string]int
}

type fakeChange struct {
	entity, id string
	rec        json.RawMessage // nil for a remove
}

type fakeFailure struct {
	status     int
	code       string
	retryAfter string
}

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	s := &fakeServer{
		expired: map[string]bool{}, spent: map[string]bool{}, epoch: 1, pageSize: 3,
		fail: map[string][]fakeFailure{}, lastID: map[string]int64{}, hits: map[string]int{},
		results: map[string]map[int64]contract.MutationResult{}, applied: map[string]map[int64]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/auth/login", s.login)
	mux.HandleFunc("POST /v1/auth/refresh", s.refreshTokens)
	mux.HandleFunc("GET /v1/me", s.authed(s.me))
	mux.HandleFunc("POST /v1/things", s.authed(s.me))
	mux.HandleFunc("POST /v1/sync/push", s.authed(s.push))
	mux.HandleFunc("POST /v1/sync/pull", s.authed(s.pull))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits[r.URL.Path]++
		if q := s.fail[r.URL.Path]; len(q) > 0 {
			s.fail[r.URL.Path] = q[1:]
			if q[0].retryAfter != "" {
				w.Header().Set("Retry-After", q[0].retryAfter)
			}
			s.problem(w, r, q[0].status, q[0].code)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// failNext makes the next requests to path fail, one failure each.
func (s *fakeServer) failNext(path string, fs ...fakeFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[path] = append(s.fail[path], fs...)
}

func (s *fakeServer) addChanges(cs ...fakeChange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, cs...)
}

func (s *fakeServer) expireAccess() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expired[s.access] = true
}

func (s *fakeServer) with(fn func(s *fakeServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *fakeServer) problem(w http.ResponseWriter, r *http.Request, status int, code string) {
	s.reply(w, r, status, map[string]any{"type": "urn:fieldsync:problem:" + code, "title": http.StatusText(status),
		"status": status, "detail": "fake " + code, "code": code})
}

// reply writes JSON, gzipped when the client accepts it.
func (s *fakeServer) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	ct := "application/json"
	if status >= 400 {
		ct = "application/problem+json"
	}
	w.Header().Set("Content-Type", ct)
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(status)
	w.Write(data)
}

func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (s *fakeServer) issue(w http.ResponseWriter, r *http.Request) {
	s.tokenN++
	s.access, s.refresh = fmt.Sprintf("access-%d", s.tokenN), fmt.Sprintf("refresh-%d", s.tokenN)
	s.reply(w, r, http.StatusOK, contract.TokenResponse{AccessToken: s.access, RefreshToken: s.refresh,
		TokenType: "Bearer", ExpiresIn: 900, User: contract.UserSummary{ID: "u1", Username: "inspector1", Role: "inspector", UnitID: "unit1"}})
}

func (s *fakeServer) login(w http.ResponseWriter, r *http.Request) {
	var in contract.LoginRequest
	if err := decodeStrict(r, &in); err != nil || in.DeviceID == "" || in.Platform != contract.Platform {
		s.problem(w, r, http.StatusBadRequest, "validation_failed")
		return
	}
	if in.Username != "inspector1" || in.Password != "fieldsync-demo" {
		s.problem(w, r, http.StatusUnauthorized, "bad_credentials")
		return
	}
	s.logins++
	s.issue(w, r)
}

func (s *fakeServer) refreshTokens(w http.ResponseWriter, r *http.Request) {
	var in contract.RefreshRequest
	if err := decodeStrict(r, &in); err != nil {
		s.problem(w, r, http.StatusBadRequest, "malformed_json")
		return
	}
	switch {
	case s.spent[in.RefreshToken]:
		s.access, s.refresh = "", "" // the session ends
		s.problem(w, r, http.StatusUnauthorized, "refresh_token_reused")
	case in.RefreshToken != s.refresh || s.refresh == "":
		s.problem(w, r, http.StatusUnauthorized, "refresh_token_invalid")
	default:
		s.spent[in.RefreshToken] = true
		s.refreshes++
		s.issue(w, r)
	}
}

func (s *fakeServer) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case !ok:
			s.problem(w, r, http.StatusUnauthorized, "unauthenticated")
		case s.expired[tok]:
			s.problem(w, r, http.StatusUnauthorized, "token_expired")
		case tok != s.access || tok == "":
			s.problem(w, r, http.StatusUnauthorized, "token_invalid")
		default:
			h(w, r)
		}
	}
}

func (s *fakeServer) me(w http.ResponseWriter, r *http.Request) {
	s.reply(w, r, http.StatusOK, map[string]string{"id": "u1", "username": "inspector1"})
}

func (s *fakeServer) push(w http.ResponseWriter, r *http.Request) {
	var in contract.PushRequest
	if err := decodeStrict(r, &in); err != nil {
		s.problem(w, r, http.StatusBadRequest, "malformed_json")
		return
	}
	if s.upgrade || in.SchemaVersion != contract.SchemaVersion {
		s.problem(w, r, http.StatusUpgradeRequired, "unsupported_schema_version")
		return
	}
	if s.maxBatch > 0 && len(in.Mutations) > s.maxBatch {
		s.problem(w, r, http.StatusRequestEntityTooLarge, "batch_too_large")
		return
	}
	var ids []int64
	for i, m := range in.Mutations {
		ids = append(ids, m.ID)
		if i > 0 && m.ID != in.Mutations[i-1].ID+1 {
			s.problem(w, r, http.StatusBadRequest, "validation_failed")
			return
		}
	}
	s.pushes = append(s.pushes, ids)
	last := s.lastID[in.ClientID]
	if len(in.Mutations) > 0 && in.Mutations[0].ID > last+1 {
		s.problem(w, r, http.StatusConflict, "mutation_gap")
		return
	}
	if s.results[in.ClientID] == nil {
		s.results[in.ClientID], s.applied[in.ClientID] = map[int64]contract.MutationResult{}, map[int64]int{}
	}
	out := contract.PushResponse{Results: []contract.MutationResult{}}
	for _, m := range in.Mutations {
		if m.ID > last {
			s.results[in.ClientID][m.ID] = s.apply(in.ClientID, m)
			last = m.ID
		}
		out.Results = append(out.Results, s.results[in.ClientID][m.ID])
	}
	s.lastID[in.ClientID] = last
	out.LastMutationID = last
	s.reply(w, r, http.StatusOK, out)
}

// apply makes a mutation take effect: a note.add becomes a note record.
func (s *fakeServer) apply(client string, m contract.Mutation) contract.MutationResult {
	if m.Name != contract.MutNoteAdd {
		return contract.MutationResult{ID: m.ID, Status: contract.StatusRejected, Code: "unknown_mutation", Message: "no such mutation " + m.Name}
	}
	var a contract.NoteArgs
	if err := json.Unmarshal(m.Args, &a); err != nil || a.ID == "" {
		return contract.MutationResult{ID: m.ID, Status: contract.StatusRejected, Code: "validation_failed", Message: "bad args"}
	}
	s.applied[client][m.ID]++
	s.log = append(s.log, fakeChange{"notes", a.ID, m.Args})
	v := int64(1)
	return contract.MutationResult{ID: m.ID, Status: contract.StatusApplied, ServerVersion: &v}
}

func (s *fakeServer) pull(w http.ResponseWriter, r *http.Request) {
	var in contract.PullRequest
	if err := decodeStrict(r, &in); err != nil {
		s.problem(w, r, http.StatusBadRequest, "malformed_json")
		return
	}
	s.cursors = append(s.cursors, in.Cursor)
	if s.refusePullAfter > 0 {
		if s.refusePullAfter--; s.refusePullAfter == 0 {
			s.refusePullAfter = -1
		}
	} else if s.refusePullAfter < 0 {
		s.refusePullAfter = 0
		s.problem(w, r, http.StatusBadRequest, "validation_failed")
		return
	}
	if s.upgrade || in.SchemaVersion != contract.SchemaVersion {
		s.problem(w, r, http.StatusUpgradeRequired, "unsupported_schema_version")
		return
	}
	from := 0
	if in.Cursor != nil {
		var epoch int
		if _, err := fmt.Sscanf(*in.Cursor, "e%d:%d", &epoch, &from); err != nil {
			s.problem(w, r, http.StatusBadRequest, "sync_cursor_invalid")
			return
		}
		if epoch != s.epoch || from > len(s.log) {
			s.reply(w, r, http.StatusOK, contract.PullResponse{Changes: map[string]*contract.EntityChanges{}, Reset: true,
				LastMutationID: s.lastID[in.ClientID]})
			return
		}
	}
	limit := s.pageSize
	if in.Limit > 0 {
		limit = in.Limit
	}
	to := min(from+limit, len(s.log))
	changes := map[string]*contract.EntityChanges{}
	for _, c := range s.log[from:to] {
		ec := changes[c.entity]
		if ec == nil {
			ec = &contract.EntityChanges{Upserts: []json.RawMessage{}, Removes: []string{}}
			changes[c.entity] = ec
		}
		if c.rec == nil {
			ec.Removes = append(ec.Removes, c.id)
		} else {
			ec.Upserts = append(ec.Upserts, c.rec)
		}
	}
	s.reply(w, r, http.StatusOK, contract.PullResponse{Changes: changes, Cursor: "e" + strconv.Itoa(s.epoch) + ":" + strconv.Itoa(to),
		HasMore: to < len(s.log), LastMutationID: s.lastID[in.ClientID]})
}

// dropTransport loses the responses of the next requests to a path after
// the server has handled them: as a connection reset, or (truncate) as a
// body cut off half-way.
type dropTransport struct {
	base     http.RoundTripper
	mu       sync.Mutex
	drops    map[string]int
	truncate bool
}

func (d *dropTransport) dropNext(path string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.drops[path] += n
}

func (d *dropTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := d.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	drop := d.drops[r.URL.Path] > 0
	if drop {
		d.drops[r.URL.Path]--
	}
	d.mu.Unlock()
	if !drop {
		return res, nil
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if d.truncate {
		res.Body = io.NopCloser(io.MultiReader(bytes.NewReader(data[:len(data)/2]), errReader{io.ErrUnexpectedEOF}))
		return res, nil
	}
	return nil, errors.New("read tcp: connection reset by peer (simulated)")
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// sleeper records the waits a Client asks for instead of waiting.
type sleeper struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, d)
	return ctx.Err()
}

func (s *sleeper) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}
