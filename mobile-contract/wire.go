package contract

import (
	"encoding/json"
	"time"
)

// SchemaVersion is the version of the sync payloads this build speaks. A
// device with another version is answered 426 and must not drop its
// outbox.
const SchemaVersion = 1

// Entities are the record kinds a pull can carry.
var Entities = []string{"tasks", "items", "sites", "templates", "verifications", "answers", "evidence", "decisions", "notes"}

// Mutation names.
const (
	MutTaskStart          = "task.start"
	MutTaskComplete       = "task.complete"
	MutChecklistAnswer    = "checklist.answer"
	MutVerificationRecord = "verification.record"
	MutEvidenceAttach     = "evidence.attach"
	MutNoteAdd            = "note.add"
)

// PullRequest is the body of POST /v1/sync/pull. A nil Cursor asks for an
// initial sync.
type PullRequest struct {
	ClientID      string  `json:"client_id"`
	Cursor        *string `json:"cursor"`
	SchemaVersion int     `json:"schema_version"`
	Limit         int     `json:"limit,omitempty"`
}

// EntityChanges is what changed of one entity: records to store (their
// latest version) and ids to delete.
type EntityChanges struct {
	Upserts []json.RawMessage `json:"upserts"`
	Removes []string          `json:"removes"`
}

// PullResponse is one page of changes. The device applies the page, then
// saves Cursor, and pulls again while HasMore. Reset means the cursor can
// no longer be served: push the outbox, clear the local store, pull from
// a nil cursor.
type PullResponse struct {
	Changes        map[string]*EntityChanges `json:"changes"`
	Cursor         string                    `json:"cursor"`
	HasMore        bool                      `json:"has_more"`
	LastMutationID int64                     `json:"last_mutation_id"`
	Reset          bool                      `json:"reset"`
}

// Mutation is one intent recorded on the device. IDs are sequential per
// client, starting at 1.
type Mutation struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Args        json.RawMessage `json:"args"`
	BaseVersion *int64          `json:"base_version,omitempty"`
}

// PushRequest is the body of POST /v1/sync/push.
type PushRequest struct {
	ClientID      string     `json:"client_id"`
	SchemaVersion int        `json:"schema_version"`
	Mutations     []Mutation `json:"mutations"`
}

// Mutation outcomes.
const (
	StatusApplied  = "applied"
	StatusRejected = "rejected"
)

// MutationResult tells the device what became of one mutation. A
// rejected mutation is final: the device drops it and shows Message.
type MutationResult struct {
	ID            int64  `json:"id"`
	Status        string `json:"status"`
	Code          string `json:"code,omitempty"`
	Message       string `json:"message,omitempty"`
	ServerVersion *int64 `json:"server_version,omitempty"`
}

// PushResponse answers a push: the last mutation id the server has
// applied for the client, and a result per mutation sent.
type PushResponse struct {
	LastMutationID int64            `json:"last_mutation_id"`
	Results        []MutationResult `json:"results"`
}

// Location is a device GPS fix, in WGS-84 unless Datum is "gcj02" or
// "bd09" (the server converts those to WGS-84).
type Location struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	Datum     string  `json:"datum,omitempty"`
	AccuracyM float64 `json:"accuracy_m"`
	Mocked    bool    `json:"mocked"`
}

// Mutation arguments.
type (
	// TaskArgs are the arguments of task.start and task.complete.
	TaskArgs struct {
		TaskID string `json:"task_id"`
	}
	// AnswerArgs are the arguments of checklist.answer.
	AnswerArgs struct {
		ID         string          `json:"id"`
		TaskID     string          `json:"task_id"`
		QuestionID string          `json:"question_id"`
		Value      json.RawMessage `json:"value"`
	}
	// VerificationArgs are the arguments of verification.record.
	VerificationArgs struct {
		ID          string    `json:"id"`
		TaskID      string    `json:"task_id"`
		Conclusion  string    `json:"conclusion"`
		Notes       string    `json:"notes"`
		Location    Location  `json:"location"`
		RecordedAt  time.Time `json:"recorded_at"`
		EvidenceIDs []string  `json:"evidence_ids"`
	}
	// AttachArgs are the arguments of evidence.attach.
	AttachArgs struct {
		EvidenceID     string `json:"evidence_id"`
		VerificationID string `json:"verification_id"`
	}
	// NoteArgs are the arguments of note.add.
	NoteArgs struct {
		ID     string `json:"id"`
		TaskID string `json:"task_id"`
		Text   string `json:"text"`
	}
)
