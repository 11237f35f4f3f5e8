package contract_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

const testDevice = "5b0c2a8e-3f4d-4c1a-9e7b-2d6f8a1c0e93"

// phone is a Client under test with the fakes around it.
type phone struct {
	*contract.Client
	srv   *fakeServer
	tr    *dropTransport
	sleep *sleeper
	store contract.Store
}

// newPhone returns a logged-in Client of srv; opts adjust its Config.
func newPhone(t *testing.T, srv *fakeServer, opts ...func(*contract.Config)) *phone {
	t.Helper()
	p := &phone{srv: srv, tr: &dropTransport{base: srv.srv.Client().Transport, drops: map[string]int{}}, sleep: &sleeper{}}
	cfg := contract.Config{
		BaseURL:  srv.srv.URL,
		HTTP:     &http.Client{Transport: p.tr},
		DeviceID: testDevice,
		Retry:    contract.RetryPolicy{Attempts: 5, Base: 100 * time.Millisecond, Max: 5 * time.Second},
		Sleep:    p.sleep.Sleep,
	}
	for _, o := range opts {
		o(&cfg)
	}
	p.Client = contract.New(cfg)
	p.store = p.Client.Store()
	if err := p.Login(context.Background(), "inspector1", "fieldsync-demo"); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustNotes enqueues n note.add mutations and returns their ids.
func (p *phone) mustNotes(t *testing.T, n int) []int64 {
	t.Helper()
	var ids []int64
	for range n {
		id, err := p.Enqueue(contract.MutNoteAdd, contract.NoteArgs{ID: fmt.Sprintf("note-%d", p.store.LastMutationID()+1), TaskID: "t1", Text: "crack in the dam wall"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func outboxIDs(c *contract.Client) []int64 {
	var ids []int64
	for _, m := range c.Outbox() {
		ids = append(ids, m.ID)
	}
	return ids
}

// checkAppliedOnce checks that the fake server applied each mutation
// 1..n of the test device exactly once.
func checkAppliedOnce(t *testing.T, srv *fakeServer, n int64) {
	t.Helper()
	srv.with(func(s *fakeServer) {
		for id := int64(1); id <= n; id++ {
			if got := s.applied[testDevice][id]; got != 1 {
				t.Errorf("mutation %d applied %d times, want 1", id, got)
			}
		}
	})
}

func TestClientEnqueueAssignsSequentialIDs(t *testing.T) {
	p := newPhone(t, newFakeServer(t))
	if got := p.mustNotes(t, 3); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("ids = %v", got)
	}
	if _, err := p.Enqueue(contract.MutTaskStart, "not an object"); err == nil {
		t.Error("Enqueue accepted args that are not an object")
	}
	if got := outboxIDs(p.Client); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("outbox = %v", got)
	}
}

func TestClientPushExactlyOnceDespiteLostResponse(t *testing.T) {
	for _, truncate := range []bool{false, true} {
		t.Run(fmt.Sprintf("truncate=%v", truncate), func(t *testing.T) {
			srv := newFakeServer(t)
			p := newPhone(t, srv, func(c *contract.Config) { c.PushBatch = 2 })
			p.tr.truncate = truncate
			p.mustNotes(t, 5)
			p.tr.dropNext("/v1/sync/push", 1)
			rep, err := p.Push(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sent != 5 || rep.Applied != 5 || len(rep.Rejected) != 0 || rep.LastMutationID != 5 {
				t.Errorf("report = %+v", rep)
			}
			if ob := p.Outbox(); len(ob) != 0 {
				t.Errorf("outbox = %v", ob)
			}
			checkAppliedOnce(t, srv, 5)
			srv.with(func(s *fakeServer) {
				// The lost batch was sent again, the same ids.
				want := [][]int64{{1, 2}, {1, 2}, {3, 4}, {5}}
				if fmt.Sprint(s.pushes) != fmt.Sprint(want) {
					t.Errorf("pushes = %v, want %v", s.pushes, want)
				}
			})
			if w := p.sleep.waits(); len(w) != 1 {
				t.Errorf("waits = %v, want one backoff", w)
			}
			if s := p.Stats(); s.NetworkErrors != 1 || len(s.Errors) != 0 {
				t.Errorf("stats = %+v, want the one lost answer as a network error", s)
			}
		})
	}
}

func TestClientPushRejectedIsDroppedAndReported(t *testing.T) {
	srv := newFakeServer(t)
	p := newPhone(t, srv)
	p.mustNotes(t, 1)
	if _, err := p.Enqueue("task.teleport", contract.TaskArgs{TaskID: "t1"}); err != nil {
		t.Fatal(err)
	}
	p.mustNotes(t, 1)
	rep, err := p.Push(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied != 2 || len(rep.Rejected) != 1 || rep.Rejected[0].ID != 2 || rep.Rejected[0].Code != "unknown_mutation" || rep.Rejected[0].Message == "" {
		t.Errorf("report = %+v", rep)
	}
	if len(p.Outbox()) != 0 {
		t.Errorf("outbox = %v", p.Outbox())
	}
}

func TestClientRetriesHonourRetryAfter(t *testing.T) {
	srv := newFakeServer(t)
	p := newPhone(t, srv)
	p.mustNotes(t, 1)
	srv.failNext("/v1/sync/push", fakeFailure{http.StatusServiceUnavailable, "unavailable", "2"})
	srv.failNext("/v1/sync/pull", fakeFailure{http.StatusTooManyRequests, "rate_limited", "7"}, fakeFailure{http.StatusBadGateway, "", ""})
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := p.sleep.waits(); !slices.Equal(w, []time.Duration{2 * time.Second, 7 * time.Second, 200 * time.Millisecond}) {
		t.Errorf("waits = %v, want Retry-After 2s, 7s, then the second backoff", w)
	}
	checkAppliedOnce(t, srv, 1)
	want := map[string]int64{"503 unavailable": 1, "429 rate_limited": 1, "502": 1}
	if s := p.Stats(); s.Retries != 3 || !maps.Equal(s.Errors, want) || s.NetworkErrors != 0 {
		t.Errorf("stats = %+v, want 3 retries after the errors %v", s, want)
	}
}

func TestClientRetriesGiveUp(t *testing.T) {
	srv := newFakeServer(t)
	p := newPhone(t, srv)
	for range 5 {
		srv.failNext("/v1/me", fakeFailure{http.StatusInternalServerError, "internal", ""})
	}
	err := p.Do(context.Background(), http.MethodGet, "/v1/me", nil, nil)
	var apiErr *contract.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 500 || apiErr.Code != "internal" || apiErr.Detail != "fake internal" {
		t.Fatalf("err = %v", err)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	if w := p.sleep.waits(); !slices.Equal(w, want) {
		t.Errorf("waits = %v, want %v", w, want)
	}
}

func TestClientDoesNotRetryOtherClientErrors(t *testing.T) {
	srv := newFakeServer(t)
	p := newPhone(t, srv)
	srv.failNext("/v1/me", fakeFailure{http.StatusBadRequest, "validation_failed", ""})
	err := p.Do(context.Background(), http.MethodGet, "/v1/me", nil, nil)
	var apiErr *contract.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != "validation_failed" {
		t.Fatalf("err = %v", err)
	}
	srv.with(func(s *fakeServer) {
		if s.hits["/v1/me"] != 1 {
			t.Errorf("%d requests, want 1", s.hits["/v1/me"])
		}
	})
}

func TestClientDoesNotRepeatAPostWhoseResponseWasLost(t *testing.T) {
	srv := newFakeServer(t)
	p := newPhone(t, srv)
	p.tr.dropNext("/v1/things", 1)
	if err := p.Do(context.Background(), http.MethodPost, "/v1/things", map[string]string{"a": "b"}, nil); err == nil {
		t.Fatal("no error")
	}
	p.tr.dropNext("/v1/me", 1)
	var me map[string]string
	if err := p.Do(context.Background(), http.MethodGet, "/v1/me", nil, &me); err != nil || me["username"] != "inspector1" {
		t.Fatalf("GET after a lost response: %v, %v", me, err)
	}
	srv.with(func(s *fakeServer) {
		if s.hits["/v1/things"] != 1 || s.hits["/v1/me"] != 2 {
			t.Errorf("hits = %v", s.hits)
		}
	})
}

func TestClientUpgradeRequiredKeepsOutbox(t *testing.T) {
	srv := newFakeServer(t)
	p := newPhone(t, srv)
	p.mustNotes(t, 3)
	srv.with(func(s *fakeServer) { s.upgrade = true })
	_, err := p.Push(context.Background())
	var apiErr *contract.APIError
	if !errors.Is(err, contract.ErrUpgradeRequired) || !errors.As(err, &apiErr) || apiErr.Status != 426 {
		t.Fatalf("err = %v", err)
	}
	if _, err := p.Pull(context.Background()); !errors.Is(err, contract.ErrUpgradeRequired) {
		t.Fatalf("pull: %v", err)
	}
	if got := outboxIDs(p.Client); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("outbox = %v", got)
	}
	if p.store.Cursor() != nil || len(p.sleep.waits()) != 0 {
		t.Errorf("cursor %v, waits %v", p.store.Cursor(), p.sleep.waits())
	}
	srv.with(func(s *fakeServer) { s.upgrade = false })
	if err := p.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkAppliedOnce(t, srv, 3)
}

func TestClientMutationGap(t *testing.T) {
	srv := newFakeServer(t)
	p := newPhone(t, srv)
	p.mustNotes(t, 2)
	if _, err := p.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.with(func(s *fakeServer) { s.lastID[testDevice] = 0 }) // restored from an old backup
	p.mustNotes(t, 1)
	if _, err := p.Push(context.Background()); !errors.Is(err, contract.ErrMutationGap) {
		t.Fatalf("err = %v", err)
	}
	if got := outboxIDs(p.Client); !slices.Equal(got, []int64{3}) {
		t.Errorf("outbox = %v", got)
	}
}

func TestClientPushHalvesBatchOn413(t *testing.T) {
	srv := newFakeServer(t)
	srv.maxBatch = 3
	p := newPhone(t, srv, func(c *contract.Config) { c.PushBatch = 10 })
	p.mustNotes(t, 7)
	rep, err := p.Push(context.Background())
	if err != nil || rep.Applied != 7 || len(p.Outbox()) != 0 {
		t.Fatalf("%+v, %v", rep, err)
	}
	checkAppliedOnce(t, srv, 7)
}

func TestClientRefreshesExpiredToken(t *testing.T) {
	srv := newFakeServer(t)
	p := newPhone(t, srv)
	first := p.AccessToken()
	p.mustNotes(t, 1)
	srv.expireAccess()
	if _, err := p.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.AccessToken() == first || p.User() == nil || p.User().Username != "inspector1" {
		t.Errorf("token %q, user %+v", p.AccessToken(), p.User())
	}
	checkAppliedOnce(t, srv, 1)

	// Many calls find the token expired at once: one refresh serves them
	// all (a second would present a spent refresh token and end the session).
	srv.expireAccess()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- p.Do(context.Background(), http.MethodGet, "/v1/me", nil, nil) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	srv.with(func(s *fakeServer) {
		if s.refreshes != 2 {
			t.Errorf("%d refreshes, want 2", s.refreshes)
		}
	})

	// A refresh token the server refuses ends the session on the client too.
	srv.with(func(s *fakeServer) { s.refresh = "other"; s.expired[s.access] = true })
	err := p.Do(context.Background(), http.MethodGet, "/v1/me", nil, nil)
	var apiErr *contract.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "refresh_token_invalid" || p.AccessToken() != "" {
		t.Errorf("err = %v, token %q", err, p.AccessToken())
	}
}
