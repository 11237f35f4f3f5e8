package models

import "strings"

// Column names a column in a condition, an update, a pluck or a grouping.
// Columns are named by this package and its packages, never taken from
// client input.
//
// The tables on the hot paths and the sync tables have typed column sets
// (ChangeCols, SyncStateCols, SyncClientCols, SyncResultCols, TaskCols,
// EvidenceCols): their code names a column as, say, ChangeCols.Seq, so a
// misspelt column there is a compile error. Elsewhere a column is still
// written as a string constant, which converts to Column. Either way
// storage/columns_test.go checks every name against the migrated schema
// of both databases; it finds the sets by their name, <Record>Cols, and
// checks each field against the table of Record.
type Column string

// Set is what UpdateWhere writes: each column's new value.
type Set map[Column]any

// OrderBy is a Query.OrderBy of the given columns, in order.
func OrderBy(cols ...Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// Desc is the column in descending order, for OrderBy.
func (c Column) Desc() Column { return c + " DESC" }

// ColID is the primary key of every record table but sync_state and
// mutation_results; code that works on any record (the sync entities'
// loader) names it so.
const ColID Column = "id"

// ChangeCols are the columns of the change log (Change, table changes).
var ChangeCols = struct {
	ID, Seq, Entity, RecordID, Version, Op, Scope, CreatedAt Column
}{
	ID: "id", Seq: "seq", Entity: "entity", RecordID: "record_id", Version: "version", Op: "op", Scope: "scope",
	CreatedAt: "created_at",
}

// SyncStateCols are the columns of the log's counters (SyncState, table
// sync_state).
var SyncStateCols = struct {
	Name, Num, Text Column
}{Name: "name", Num: "num", Text: "text"}

// SyncClientCols are the columns of the sync clients (SyncClient, table
// sync_clients).
var SyncClientCols = struct {
	ID, UserID, DeviceID, LastMutationID, PulledSeq, PulledEpoch, PulledAt, CreatedAt, UpdatedAt Column
}{
	ID: "id", UserID: "user_id", DeviceID: "device_id", LastMutationID: "last_mutation_id",
	PulledSeq: "pulled_seq", PulledEpoch: "pulled_epoch", PulledAt: "pulled_at", CreatedAt: "created_at", UpdatedAt: "updated_at",
}

// SyncResultCols are the columns of the stored mutation results
// (SyncResult, table mutation_results).
var SyncResultCols = struct {
	ClientID, MutationID, Name, Status, Code, Message, ServerVersion, CreatedAt Column
}{
	ClientID: "client_id", MutationID: "mutation_id", Name: "name", Status: "status", Code: "code", Message: "message",
	ServerVersion: "server_version", CreatedAt: "created_at",
}

// TaskCols are the columns of the tasks (InspectionTask, table tasks)
// that the visibility rule, the change log's scopes and pulls query.
var TaskCols = struct {
	ID, ItemID, SiteID, AssigneeID, UnitPath, TemplateID, Status, RoundID, Version, CreatedAt, UpdatedAt Column
}{
	ID: "id", ItemID: "item_id", SiteID: "site_id", AssigneeID: "assignee_id", UnitPath: "unit_path",
	TemplateID: "template_id", Status: "status", RoundID: "round_id", Version: "version", CreatedAt: "created_at",
	UpdatedAt: "updated_at",
}
