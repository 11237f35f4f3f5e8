package models

import (
	"time"
)

// Roles.
const (
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleInspector  = "inspector"
	RoleUnitLead   = "unit_lead"
)

// Roles lists every role.
var Roles = []string{RoleAdmin, RoleSupervisor, RoleInspector, RoleUnitLead}

// Supervision levels of an item.
const (
	SupervisionDaily   = "daily"
	SupervisionSpecial = "special"
	SupervisionKey     = "key"
)

// SupervisionLevels lists every supervision level, mildest first.
var SupervisionLevels = []string{SupervisionDaily, SupervisionSpecial, SupervisionKey}

// Task kinds.
const (
	TaskProgressCheck   = "progress_check"
	TaskAcceptanceCheck = "acceptance_check"
)

// TaskKinds lists every task kind.
var TaskKinds = []string{TaskProgressCheck, TaskAcceptanceCheck}

// Unit is a responsible unit (city, county, department, town). Units form
// a tree; Path is the materialized path of ids from the root ("/a/b/"), so
// that a subtree is a prefix. A unit never moves to another parent, which
// keeps the paths denormalized on other records true.
type Unit struct {
	ID        string    `json:"id" gorm:"primaryKey"`
	ParentID  *string   `json:"parent_id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Path      string    `json:"-"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Unit kinds.
var UnitKinds = []string{"city", "county", "department", "town", "company"}

// User is a person who signs in: admin, supervisor, inspector or unit lead.
type User struct {
	ID           string `json:"id" gorm:"primaryKey"`
	Username     string `json:"username"`
	DisplayName  string `json:"display_name"`
	Phone        string `json:"phone"`
	Role         string `json:"role"`
	UnitID       string `json:"unit_id"`
	UnitPath     string `json:"-"`
	PasswordHash string `json:"-"`
	Disabled     bool   `json:"disabled"`
	// MustChangePassword is set by an administrator who resets the
	// password; the login answer reports it until the user changes it.
	MustChangePassword bool      `json:"must_change_password,omitempty"`
	Version            int64     `json:"version"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Device is a phone or tablet, identified by the UUID its app generated.
// A device belongs to the first user who signed in on it.
type Device struct {
	ID         string     `json:"id" gorm:"primaryKey"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	Platform   string     `json:"platform"`
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt time.Time  `json:"last_seen_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Session is one sign-in of a user on a device. Access tokens name it, so
// revoking it (or its device) stops them at once.
type Session struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	DeviceID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
	Reason    string
}

// RefreshToken is stored by the SHA-256 of the token; the token itself is
// shown to the device once.
type RefreshToken struct {
	Hash      string `gorm:"primaryKey"`
	SessionID string
	CreatedAt time.Time
	ExpiresAt time.Time
	SpentAt   *time.Time
	// ChildHash and ChildSealed record the token this one was spent for:
	// its hash, and the token itself sealed with a key only the spent
	// token gives, so that a retry within the grace window receives the
	// same child and a copy of the database reveals no live token.
	ChildHash   *string
	ChildSealed *string
}

// LoginAttempt is one password attempt, kept to throttle guessing across
// every server process.
type LoginAttempt struct {
	ID        string `gorm:"primaryKey"`
	Username  string
	Address   string
	OK        bool `gorm:"column:ok"`
	CreatedAt time.Time
}

// RectificationItem is one problem from an inspection report that must be
// fixed (整改问题).
type RectificationItem struct {
	ID                  string     `json:"id" gorm:"primaryKey"`
	Code                string     `json:"code"`
	Title               string     `json:"title"`
	Description         string     `json:"description"`
	Source              string     `json:"source"`
	Category            string     `json:"category"`
	Area                string     `json:"area"`
	Target              string     `json:"target"`
	Measures            string     `json:"measures"`
	ResponsibleUnitID   string     `json:"responsible_unit_id"`
	UnitPath            string     `json:"-"`
	CooperatingUnitIDs  StringList `json:"cooperating_unit_ids"`
	FirstResponsible    string     `json:"first_responsible"`
	SpecificResponsible string     `json:"specific_responsible"`
	// Deadline is when the item must be fixed; for an open-ended item
	// (ReviewCadence set) it is when its next periodic review is due.
	Deadline time.Time `json:"deadline"`
	// ReviewCadence makes the item open-ended (长期坚持): no final
	// deadline, a review every month, quarter, half year or year instead.
	// Empty for an item with a fixed deadline. The three members added
	// for real ledgers are left out of the JSON when empty, so that the
	// evidence digests of items without them stay what they were.
	ReviewCadence string `json:"review_cadence,omitempty"`
	// OriginalDeadline is the deadline before the first approved
	// extension (延期); nil if the item was never extended.
	OriginalDeadline *time.Time `json:"original_deadline,omitempty"`
	// IssuedAt is when the feedback document issued the item (交办时间),
	// which may be long before the record was created; nil if unknown.
	IssuedAt         *time.Time `json:"issued_at,omitempty"`
	SupervisionLevel string     `json:"supervision_level"`
	KeyItem          bool       `json:"key_item"`
	// PublicSummary is what the public disclosure shows of the item
	// once it is accepted; nothing else of it is published.
	PublicSummary string `json:"public_summary"`
	Status        string `json:"status"`
	// ClosedAt is when the item was last accepted (销号); nil while open.
	ClosedAt *time.Time `json:"closed_at"`
	// EscalatedAt is when an overdue item's supervision level was last
	// raised by the escalation rule (EscalateOverdue); nil if never.
	EscalatedAt *time.Time `json:"escalated_at"`
	Version     int64      `json:"version"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// TableName keeps the table name short.
func (RectificationItem) TableName() string { return "items" }

// Site is a place inspectors visit: a sewage outfall, a building site, a
// waste yard, a river section. Its geofence is a circle (RadiusM around
// Lat/Lng) or a GeoJSON polygon.
type Site struct {
	ID        string    `json:"id" gorm:"primaryKey"`
	UnitID    string    `json:"unit_id"`
	UnitPath  string    `json:"-"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Address   string    `json:"address"`
	Lat       float64   `json:"lat"`
	Lng       float64   `json:"lng"`
	RadiusM   float64   `json:"radius_m,omitempty"`
	Polygon   *Polygon  `json:"polygon,omitempty"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Question types of a checklist.
const (
	QuestionYesNo  = "yes_no"
	QuestionNumber = "number"
	QuestionText   = "text"
	QuestionPhoto  = "photo"
)

// Question is one entry of a checklist template.
type Question struct {
	ID            string `json:"id"`
	Text          string `json:"text"`
	Type          string `json:"type"`
	Unit          string `json:"unit,omitempty"`
	Required      bool   `json:"required"`
	PhotoRequired bool   `json:"photo_required"`
}

// ChecklistTemplate is the ordered list of questions an inspector answers.
type ChecklistTemplate struct {
	ID        string    `json:"id" gorm:"primaryKey"`
	Name      string    `json:"name"`
	Questions Questions `json:"questions"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TableName names the table.
func (ChecklistTemplate) TableName() string { return "templates" }

// InspectionTask is one visit of one inspector to one site for one item.
type InspectionTask struct {
	ID           string     `json:"id" gorm:"primaryKey"`
	ItemID       string     `json:"item_id"`
	SiteID       string     `json:"site_id"`
	AssigneeID   *string    `json:"assignee_id"`
	UnitPath     string     `json:"-"`
	Kind         string     `json:"kind"`
	TemplateID   string     `json:"template_id"`
	WindowStart  time.Time  `json:"window_start"`
	DueAt        time.Time  `json:"due_at"`
	Instructions string     `json:"instructions"`
	Status       string     `json:"status"`
	AssignedAt   *time.Time `json:"assigned_at"`
	// RoundID is the submission for acceptance whose check this task is;
	// nil for progress checks and for rework not yet resubmitted.
	RoundID *string `json:"round_id"`
	// ReworkOf is the rejection this task answers; its reasons and the
	// evidence it asks for are copied here so that the phone shows them.
	ReworkOf         *string    `json:"rework_of"`
	Reasons          StringList `json:"reasons"`
	RequiredEvidence string     `json:"required_evidence"`
	Version          int64      `json:"version"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// TableName names the table.
func (InspectionTask) TableName() string { return "tasks" }
