package models

import "time"

// The sync engine's tables. The change log (Change, changes.go) is
// written by every service; these three are the engine's bookkeeping.
// All four are declared here, with their columns (columns.go), so that
// the engine, the services and the database adapter share one
// definition: sync reads and writes them, storage numbers and compacts
// the log.

// SyncState is one named counter or label of the change log (table
// sync_state): the last stamped number (SyncStateSeq), the floor below
// which removes were compacted away (SyncStateRetainedFrom) and the
// log's epoch (SyncStateEpoch; Num is when it began, in Unix
// microseconds).
type SyncState struct {
	Name string `gorm:"primaryKey"`
	Num  int64
	Text string
}

// TableName names the table.
func (SyncState) TableName() string { return "sync_state" }

// The rows of sync_state.
const (
	SyncStateSeq          = "seq"
	SyncStateRetainedFrom = "retained_from"
	SyncStateEpoch        = "epoch"
)

// SyncClient is one syncing device (table sync_clients): a client id
// names one user on one device.
type SyncClient struct {
	ID             string `gorm:"primaryKey"`
	UserID         string
	DeviceID       string
	LastMutationID int64
	// PulledSeq, PulledEpoch and PulledAt are where the client's last
	// noted pull left its cursor; nil before the first.
	PulledSeq   *int64
	PulledEpoch string
	PulledAt    *time.Time
	CreatedAt   time.Time
	// UpdatedAt is when the last mutation was applied (or the client
	// registered).
	UpdatedAt time.Time
}

// TableName names the table.
func (SyncClient) TableName() string { return "sync_clients" }

// SyncResult keeps a pushed mutation's result for retried batches (table
// mutation_results).
type SyncResult struct {
	ClientID      string `gorm:"primaryKey"`
	MutationID    int64  `gorm:"primaryKey"`
	Name          string
	Status        string
	Code          string
	Message       string
	ServerVersion *int64
	CreatedAt     time.Time
}

// TableName names the table.
func (SyncResult) TableName() string { return "mutation_results" }
