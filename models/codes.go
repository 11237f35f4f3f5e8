package models

import (
	"net/http"
	"sort"
)

// Kind groups codes by what the client should do about them; each kind
// answers with one HTTP status (HTTPStatus), in the JSON API and the
// console alike.
type Kind int

// The kinds of error.
const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindTooLarge
	KindRateLimited
	KindUpgradeRequired
	KindUnavailable
	KindMethodNotAllowed
	KindUnsupportedMedia
	KindTimeout
)

var kindStatus = map[Kind]int{
	KindInternal:         http.StatusInternalServerError,
	KindInvalid:          http.StatusBadRequest,
	KindUnauthenticated:  http.StatusUnauthorized,
	KindForbidden:        http.StatusForbidden,
	KindNotFound:         http.StatusNotFound,
	KindConflict:         http.StatusConflict,
	KindTooLarge:         http.StatusRequestEntityTooLarge,
	KindRateLimited:      http.StatusTooManyRequests,
	KindUpgradeRequired:  http.StatusUpgradeRequired,
	KindUnavailable:      http.StatusServiceUnavailable,
	KindMethodNotAllowed: http.StatusMethodNotAllowed,
	KindUnsupportedMedia: http.StatusUnsupportedMediaType,
	KindTimeout:          http.StatusRequestTimeout,
}

// HTTPStatus is the HTTP status an error of kind k answers with.
func (k Kind) HTTPStatus() int {
	if s, ok := kindStatus[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Code is a stable, machine-readable error code. The table below is
// append-only: a published code is never renamed or given another kind.
type Code string

// Codes.
const (
	CodeInternal         Code = "internal"
	CodeUnavailable      Code = "unavailable"
	CodeNotFound         Code = "not_found"
	CodeDuplicate        Code = "duplicate"
	CodeRouteNotFound    Code = "route_not_found"
	CodeMethodNotAllowed Code = "method_not_allowed"

	// Request decoding.
	CodeMalformedJSON        Code = "malformed_json"
	CodeUnknownField         Code = "unknown_field"
	CodeInvalidType          Code = "invalid_type"
	CodeBodyTooLarge         Code = "body_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeValidation           Code = "validation_failed"
	CodeRequired             Code = "required"
	CodeInvalidID            Code = "invalid_id"
	CodeInvalidCursor        Code = "invalid_page_cursor"
	CodeInvalidEnum          Code = "invalid_enum"
	CodeRequestTimeout       Code = "request_timeout"
	CodeRequestRejected      Code = "request_rejected"

	// Auth.
	CodeUnauthenticated    Code = "unauthenticated"
	CodeBadCredentials     Code = "bad_credentials"
	CodeTokenExpired       Code = "token_expired"
	CodeTokenInvalid       Code = "token_invalid"
	CodeSessionRevoked     Code = "session_revoked"
	CodeDeviceRevoked      Code = "device_revoked"
	CodeRefreshInvalid     Code = "refresh_token_invalid"
	CodeRefreshReused      Code = "refresh_token_reused"
	CodeLoginThrottled     Code = "login_throttled"
	CodeForbidden          Code = "forbidden"
	CodeAccountDisabled    Code = "account_disabled"
	CodeDeviceOwnedByOther Code = "device_owned_by_other_user"

	// Records.
	CodeVersionConflict        Code = "version_conflict"
	CodeLatOutOfRange          Code = "lat_out_of_range"
	CodeLngOutOfRange          Code = "lng_out_of_range"
	CodeGeofenceMissing        Code = "geofence_missing"
	CodeGeofenceInvalid        Code = "geofence_invalid"
	CodePolygonNotClosed       Code = "polygon_not_closed"
	CodePolygonSelfIntersects  Code = "polygon_self_intersects"
	CodePolygonTooFewPoints    Code = "polygon_too_few_points"
	CodePolygonTooManyPoints   Code = "polygon_too_many_points"
	CodeDeadlineBeforeCreation Code = "deadline_before_creation"
	CodeWindowInvalid          Code = "task_window_invalid"
	CodeItemCodeTaken          Code = "item_code_taken"
	CodeUnitCodeTaken          Code = "unit_code_taken"
	CodeUsernameTaken          Code = "username_taken"
	CodeUnknownUnit            Code = "unknown_unit"
	CodeUnknownItem            Code = "unknown_item"
	CodeUnknownSite            Code = "unknown_site"
	CodeUnknownUser            Code = "unknown_user"
	CodeUnknownTemplate        Code = "unknown_template"
	CodeAssigneeNotInspector   Code = "assignee_not_inspector"
	CodeTemplateInvalid        Code = "template_invalid"
	CodeWeakPassword           Code = "weak_password"
	// Sync.
	CodeUnknownMutation    Code = "unknown_mutation"
	CodeInvalidArgs        Code = "invalid_args"
	CodeTaskClosed         Code = "task_closed"
	CodeRecordExists       Code = "record_exists"
	CodeAnswerType         Code = "answer_type_mismatch"
	CodeUnknownQuestion    Code = "unknown_question"
	CodeEvidenceMismatch   Code = "evidence_mismatch"
	CodeMutationGap        Code = "mutation_gap"
	CodeMutationOrder      Code = "mutation_ids_not_consecutive"
	CodeBatchTooLarge      Code = "batch_too_large"
	CodeUnsupportedSchema  Code = "unsupported_schema_version"
	CodeSyncCursorInvalid  Code = "sync_cursor_invalid"
	CodeClientOwnedByOther Code = "client_owned_by_other_device"

	// Evidence.
	CodeMediaUnreadable     Code = "media_unreadable"
	CodeMediaTooLarge       Code = "media_too_large"
	CodeMediaUnsupported    Code = "media_unsupported_type"
	CodeSHA256Mismatch      Code = "sha256_mismatch"
	CodeSizeMismatch        Code = "size_mismatch"
	CodeContentMissing      Code = "content_missing"
	CodeContentTypeMismatch Code = "content_type_mismatch"
	CodeEvidenceComplete    Code = "evidence_already_complete"
	CodeEvidenceTooLarge    Code = "evidence_too_large"
	CodeUploadURLInvalid    Code = "upload_url_invalid"
	CodeNoDirectUpload      Code = "direct_upload_unavailable"
	CodeUploadURLExpired    Code = "upload_url_expired"

	CodeItemHasTasks    Code = "item_has_tasks"
	CodeOutsideYourUnit Code = "outside_your_unit"

	CodeUnitParentFixed Code = "unit_parent_fixed"

	// Acceptance.
	CodeEvidenceChanged     Code = "evidence_changed"
	CodeAcceptanceBlocked   Code = "acceptance_blocked"
	CodeFlagNotAcknowledged Code = "flag_not_acknowledged"
	CodeFlagAckUnknown      Code = "flag_ack_unknown"

	// Public disclosure.
	CodeNotAPhoto      Code = "evidence_not_a_photo"
	CodeNotVerified    Code = "evidence_not_verified"
	CodeNotPublishable Code = "photo_not_publishable"

	// Ledger and reports.
	CodeInvalidDate         Code = "invalid_date"
	CodePeriodStartInvalid  Code = "period_start_invalid"
	CodeUnitAmbiguous       Code = "unit_ambiguous"
	CodeImportDuplicateCode Code = "import_duplicate_code"
	CodeImportInvalid       Code = "import_invalid"

	// Request decoding: ambiguous JSON keys.
	CodeDuplicateKey Code = "duplicate_json_key"
	CodeKeyCase      Code = "json_key_case_mismatch"

	// Device positions in a map datum the server does not know.
	CodeUnknownDatum Code = "unknown_datum"

	// Real ledgers.
	CodeDeadlineBeforeIssue  Code = "deadline_before_issue"
	CodeExtensionPending     Code = "extension_pending"
	CodeExtensionDecided     Code = "extension_already_decided"
	CodeExtensionNotLater    Code = "extension_not_later"
	CodeExtensionNotPossible Code = "extension_not_possible"

	// Accounts.
	CodeCurrentPasswordWrong Code = "current_password_incorrect"
	// CodePasswordChangeRequired: an administrator reset the password;
	// until the user chooses a new one, only that (and reading who they
	// are, refreshing, signing out) is allowed.
	CodePasswordChangeRequired Code = "password_change_required"
)

var codeKinds = map[Code]Kind{
	CodeInternal:             KindInternal,
	CodeUnavailable:          KindUnavailable,
	CodeNotFound:             KindNotFound,
	CodeDuplicate:            KindConflict,
	CodeRouteNotFound:        KindNotFound,
	CodeMethodNotAllowed:     KindMethodNotAllowed,
	CodeRequestTimeout:       KindTimeout,
	CodeRequestRejected:      KindInvalid,
	CodeMalformedJSON:        KindInvalid,
	CodeUnknownField:         KindInvalid,
	CodeInvalidType:          KindInvalid,
	CodeBodyTooLarge:         KindTooLarge,
	CodeUnsupportedMediaType: KindUnsupportedMedia,
	CodeValidation:           KindInvalid,
	CodeRequired:             KindInvalid,
	CodeInvalidID:            KindInvalid,
	CodeInvalidCursor:        KindInvalid,
	CodeInvalidEnum:          KindInvalid,

	CodeUnauthenticated:    KindUnauthenticated,
	CodeBadCredentials:     KindUnauthenticated,
	CodeTokenExpired:       KindUnauthenticated,
	CodeTokenInvalid:       KindUnauthenticated,
	CodeSessionRevoked:     KindUnauthenticated,
	CodeDeviceRevoked:      KindUnauthenticated,
	CodeRefreshInvalid:     KindUnauthenticated,
	CodeRefreshReused:      KindUnauthenticated,
	CodeLoginThrottled:     KindRateLimited,
	CodeForbidden:          KindForbidden,
	CodeAccountDisabled:    KindForbidden,
	CodeDeviceOwnedByOther: KindConflict,

	CodeVersionConflict:        KindConflict,
	CodeLatOutOfRange:          KindInvalid,
	CodeLngOutOfRange:          KindInvalid,
	CodeGeofenceMissing:        KindInvalid,
	CodeGeofenceInvalid:        KindInvalid,
	CodePolygonNotClosed:       KindInvalid,
	CodePolygonSelfIntersects:  KindInvalid,
	CodePolygonTooFewPoints:    KindInvalid,
	CodePolygonTooManyPoints:   KindInvalid,
	CodeDeadlineBeforeCreation: KindInvalid,
	CodeWindowInvalid:          KindInvalid,
	CodeItemCodeTaken:          KindConflict,
	CodeUnitCodeTaken:          KindConflict,
	CodeUsernameTaken:          KindConflict,
	CodeUnknownUnit:            KindInvalid,
	CodeUnknownItem:            KindInvalid,
	CodeUnknownSite:            KindInvalid,
	CodeUnknownUser:            KindInvalid,
	CodeUnknownTemplate:        KindInvalid,
	CodeAssigneeNotInspector:   KindInvalid,
	CodeTemplateInvalid:        KindInvalid,
	CodeWeakPassword:           KindInvalid,
	CodeUnknownMutation:        KindInvalid,
	CodeInvalidArgs:            KindInvalid,
	CodeTaskClosed:             KindConflict,
	CodeRecordExists:           KindConflict,
	CodeAnswerType:             KindInvalid,
	CodeUnknownQuestion:        KindInvalid,
	CodeEvidenceMismatch:       KindConflict,
	CodeMutationGap:            KindConflict,
	CodeMutationOrder:          KindInvalid,
	CodeBatchTooLarge:          KindTooLarge,
	CodeUnsupportedSchema:      KindUpgradeRequired,
	CodeSyncCursorInvalid:      KindInvalid,
	CodeClientOwnedByOther:     KindConflict,
	CodeMediaUnreadable:        KindInvalid,
	CodeMediaTooLarge:          KindTooLarge,
	CodeMediaUnsupported:       KindInvalid,
	CodeSHA256Mismatch:         KindInvalid,
	CodeSizeMismatch:           KindInvalid,
	CodeContentMissing:         KindConflict,
	CodeContentTypeMismatch:    KindInvalid,
	CodeEvidenceComplete:       KindConflict,
	CodeEvidenceTooLarge:       KindTooLarge,
	CodeUploadURLInvalid:       KindForbidden,
	CodeUploadURLExpired:       KindForbidden,
	CodeNoDirectUpload:         KindConflict,
	CodeItemHasTasks:           KindConflict,
	CodeOutsideYourUnit:        KindForbidden,
	CodeUnitParentFixed:        KindInvalid,

	// Acceptance.
	CodeEvidenceChanged:     KindConflict,
	CodeAcceptanceBlocked:   KindConflict,
	CodeFlagNotAcknowledged: KindInvalid,
	CodeFlagAckUnknown:      KindInvalid,

	// Public disclosure.
	CodeNotAPhoto:      KindConflict,
	CodeNotVerified:    KindConflict,
	CodeNotPublishable: KindConflict,

	// Ledger and reports.
	CodeInvalidDate:         KindInvalid,
	CodePeriodStartInvalid:  KindInvalid,
	CodeUnitAmbiguous:       KindInvalid,
	CodeImportDuplicateCode: KindInvalid,
	CodeImportInvalid:       KindInvalid,

	CodeDuplicateKey: KindInvalid,
	CodeKeyCase:      KindInvalid,
	CodeUnknownDatum: KindInvalid,
	// Real ledgers.
	CodeDeadlineBeforeIssue:  KindInvalid,
	CodeExtensionPending:     KindConflict,
	CodeExtensionDecided:     KindConflict,
	CodeExtensionNotLater:    KindInvalid,
	CodeExtensionNotPossible: KindConflict,

	// Accounts.
	CodeCurrentPasswordWrong:   KindInvalid,
	CodePasswordChangeRequired: KindForbidden,
}

func init() {
	// Every illegal status transition has its own code; they are derived
	// from the status machines so that the table cannot drift from them.
	for _, m := range []*StatusMachine{ItemMachine, TaskMachine} {
		for _, c := range m.illegalCodes() {
			codeKinds[c] = KindConflict
		}
	}
}

// Kind returns the code's kind; an unknown code is internal.
func (c Code) Kind() Kind {
	if k, ok := codeKinds[c]; ok {
		return k
	}
	return KindInternal
}

// AllCodes lists every published code in sorted order.
func AllCodes() []Code {
	out := make([]Code, 0, len(codeKinds))
	for c := range codeKinds {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
