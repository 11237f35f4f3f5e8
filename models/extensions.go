package models

import "time"

// Extension statuses.
const (
	ExtensionPending  = "pending"
	ExtensionApproved = "approved"
	ExtensionRefused  = "refused"
)

// DeadlineExtension is a request to extend an item's deadline (延期),
// made with a reason by the responsible side (a unit lead or supervisor
// of the item's unit) and approved or refused by a supervisor over the
// item. An approved extension moves the item's deadline; the item keeps
// its first deadline as OriginalDeadline.
type DeadlineExtension struct {
	ID                string     `json:"id" gorm:"primaryKey"`
	ItemID            string     `json:"item_id"`
	UnitPath          string     `json:"-"`
	Status            string     `json:"status"`
	Reason            string     `json:"reason"`
	PreviousDeadline  time.Time  `json:"previous_deadline"`
	RequestedDeadline time.Time  `json:"requested_deadline"`
	RequestedBy       string     `json:"requested_by"`
	DecidedBy         string     `json:"decided_by"`
	DecisionComment   string     `json:"decision_comment"`
	DecidedAt         *time.Time `json:"decided_at"`
	Version           int64      `json:"version"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// TableName names the table.
func (DeadlineExtension) TableName() string { return "deadline_extensions" }

// RecordID implements Record.
func (e DeadlineExtension) RecordID() string { return e.ID }

// ExtensionRequest asks for a later deadline.
type ExtensionRequest struct {
	Deadline *DateTime `json:"deadline"`
	Reason   *string   `json:"reason"`
}

// ExtensionDecision answers a request: approve or refuse, with a comment
// (required when refusing).
type ExtensionDecision struct {
	Decision *string `json:"decision"`
	Comment  *string `json:"comment"`
}

// Extension decisions.
const (
	ExtensionDecisionApprove = "approve"
	ExtensionDecisionRefuse  = "refuse"
)
