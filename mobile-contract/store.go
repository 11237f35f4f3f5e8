package contract

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
)

// Store is a device's local persistence: the records it has pulled, per
// entity and keyed by record id, the pull cursor, the outbox of mutations
// not yet acknowledged by the server, and the mutation id counter.
//
// Reads see the last committed state. Every change goes through Update,
// so that what belongs together (a pulled page and the cursor after it; a
// mutation and the id it took) is committed together: a FileStore writes
// once per Update, and a phone that dies half-way through a page keeps the
// previous page's cursor and records, never a mix.
type Store interface {
	// Get returns one record.
	Get(entity, id string) (json.RawMessage, bool)
	// All returns a copy of every record of an entity, keyed by id.
	All(entity string) map[string]json.RawMessage
	// Cursor returns the saved pull cursor; nil means pull from the start.
	Cursor() *string
	// Outbox returns a copy of the unacknowledged mutations in id order.
	Outbox() []Mutation
	// LastMutationID returns the last mutation id assigned (0 if none).
	LastMutationID() int64
	// Update runs fn with exclusive access and commits its changes
	// atomically. fn must not fail (validate before calling Update) and must
	// not call the Store's own methods. The error is a failure to persist;
	// the store then keeps its previous state.
	Update(fn func(tx StoreTx)) error
}

// StoreTx is the view of a Store inside Update. Reads see the changes
// made earlier in the same Update.
type StoreTx interface {
	Get(entity, id string) (json.RawMessage, bool)
	Put(entity, id string, rec json.RawMessage)
	Delete(entity, id string)
	Cursor() *string
	SetCursor(cursor *string)
	Outbox() []Mutation
	// Append gives the mutation the next id (LastMutationID()+1), adds it
	// to the outbox and returns it.
	Append(name string, args json.RawMessage, baseVersion *int64) Mutation
	// Remove drops the outbox mutations with these ids.
	Remove(ids ...int64)
	// RemoveThrough drops every outbox mutation with an id <= id.
	RemoveThrough(id int64)
	LastMutationID() int64
	// AdvanceMutationID raises the counter to id if it is lower, so that
	// the next mutation gets a larger id. It never lowers it.
	AdvanceMutationID(id int64)
	// Reset drops every record and the cursor. The outbox and the
	// mutation counter are kept: mutation ids must never be reused.
	Reset()
}

// storeState is everything a store holds; it is also the JSON document a
// FileStore writes.
type storeState struct {
	Format         int                                   `json:"format"`
	Records        map[string]map[string]json.RawMessage `json:"records"`
	Cursor         *string                               `json:"cursor"`
	LastMutationID int64                                 `json:"last_mutation_id"`
	Outbox         []Mutation                            `json:"outbox"`
}

const storeFormat = 1

func newState() storeState {
	return storeState{Format: storeFormat, Records: map[string]map[string]json.RawMessage{}, Outbox: []Mutation{}}
}

// MemoryStore is a Store held in memory, safe for concurrent use.
type MemoryStore struct {
	mu sync.RWMutex
	st storeState
	// commit persists st after an Update (FileStore); nil keeps it in
	// memory only. When it fails, Update restores the state from before.
	commit func(st *storeState) error
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-memory Store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{st: newState()} }

// Get returns one record.
func (s *MemoryStore) Get(entity, id string) (json.RawMessage, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return (&stateTx{&s.st}).Get(entity, id)
}

// All returns a copy of every record of an entity.
func (s *MemoryStore) All(entity string) map[string]json.RawMessage {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]json.RawMessage, len(s.st.Records[entity]))
	for id, rec := range s.st.Records[entity] {
		out[id] = slices.Clone(rec)
	}
	return out
}

// Entities lists the entities that have at least one record, sorted.
func (s *MemoryStore) Entities() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for e, recs := range s.st.Records {
		if len(recs) > 0 {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// Cursor returns the saved pull cursor.
func (s *MemoryStore) Cursor() *string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return (&stateTx{&s.st}).Cursor()
}

// Outbox returns a copy of the unacknowledged mutations.
func (s *MemoryStore) Outbox() []Mutation {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return (&stateTx{&s.st}).Outbox()
}

// LastMutationID returns the last mutation id assigned.
func (s *MemoryStore) LastMutationID() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.st.LastMutationID
}

// Update runs fn and commits its changes.
func (s *MemoryStore) Update(fn func(tx StoreTx)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.commit == nil {
		fn(&stateTx{&s.st})
		return nil
	}
	before := cloneState(&s.st)
	fn(&stateTx{&s.st})
	if err := s.commit(&s.st); err != nil {
		s.st = before
		return err
	}
	return nil
}

// Reset drops every record and the cursor, keeping the outbox and the
// mutation counter.
func (s *MemoryStore) Reset() error { return s.Update(func(tx StoreTx) { tx.Reset() }) }

// stateTx applies changes straight to a state; the lock is held by Update.
type stateTx struct{ st *storeState }

func (t *stateTx) Get(entity, id string) (json.RawMessage, bool) {
	rec, ok := t.st.Records[entity][id]
	return slices.Clone(rec), ok
}

func (t *stateTx) Put(entity, id string, rec json.RawMessage) {
	m := t.st.Records[entity]
	if m == nil {
		m = map[string]json.RawMessage{}
		t.st.Records[entity] = m
	}
	m[id] = slices.Clone(rec)
}

func (t *stateTx) Delete(entity, id string) {
	delete(t.st.Records[entity], id)
	if len(t.st.Records[entity]) == 0 {
		delete(t.st.Records, entity)
	}
}

func (t *stateTx) Cursor() *string {
	if t.st.Cursor == nil {
		return nil
	}
	c := *t.st.Cursor
	return &c
}

func (t *stateTx) SetCursor(cursor *string) {
	if cursor == nil {
		t.st.Cursor = nil
		return
	}
	c := *cursor
	t.st.Cursor = &c
}

func (t *stateTx) Outbox() []Mutation {
	out := make([]Mutation, len(t.st.Outbox))
	for i, m := range t.st.Outbox {
		out[i] = cloneMutation(m)
	}
	return out
}

func (t *stateTx) Append(name string, args json.RawMessage, baseVersion *int64) Mutation {
	t.st.LastMutationID++
	m := cloneMutation(Mutation{ID: t.st.LastMutationID, Name: name, Args: args, BaseVersion: baseVersion})
	t.st.Outbox = append(t.st.Outbox, m)
	return cloneMutation(m)
}

func (t *stateTx) Remove(ids ...int64) {
	t.st.Outbox = slices.DeleteFunc(t.st.Outbox, func(m Mutation) bool { return slices.Contains(ids, m.ID) })
}

func (t *stateTx) RemoveThrough(id int64) {
	t.st.Outbox = slices.DeleteFunc(t.st.Outbox, func(m Mutation) bool { return m.ID <= id })
}

func (t *stateTx) LastMutationID() int64 { return t.st.LastMutationID }

func (t *stateTx) AdvanceMutationID(id int64) { t.st.LastMutationID = max(t.st.LastMutationID, id) }

func (t *stateTx) Reset() {
	t.st.Records = map[string]map[string]json.RawMessage{}
	t.st.Cursor = nil
}

func cloneMutation(m Mutation) Mutation {
	m.Args = slices.Clone(m.Args)
	if m.BaseVersion != nil {
		v := *m.BaseVersion
		m.BaseVersion = &v
	}
	return m
}

// cloneState deep-copies a state, for restoring after a failed commit.
func cloneState(st *storeState) storeState {
	out := *st
	out.Records = make(map[string]map[string]json.RawMessage, len(st.Records))
	for e, recs := range st.Records {
		out.Records[e] = maps.Clone(recs) // the RawMessages are never changed in place
	}
	out.Cursor = (&stateTx{st}).Cursor()
	out.Outbox = (&stateTx{st}).Outbox()
	return out
}
