// Package models is what every part of fieldsync shares: the entities,
// the error codes, the status machines, the authorization and visibility
// rules (authz.go), the change log's scopes and the registry of sync
// entities (changes.go), the sync tables (changes.go, synclog.go), the
// typed column sets (columns.go), the audit writer, and the interfaces
// the domain needs (store.go: store and transaction; clock, blob store,
// media analyzer, presigner, renderer).
// Service is the core the capabilities build on: its configuration and
// the helpers they share. It imports the standard library only.
//
// Each capability is a package beneath it, with a Service that embeds
// *Service; they import models (and, one way, each other), never the
// reverse:
//
//   - auth: sign-in, sessions, refresh tokens, devices;
//   - items: units, users, items (import, escalation), sites, templates,
//     tasks;
//   - evidence: declaration, upload, completion and flags of evidence;
//   - fieldwork: the mutations devices push;
//   - acceptance: submission, evidence set, review, decisions, evidence
//     pack contents (imports items and evidence);
//   - reporting: ledger, dispatch report, public disclosure;
//   - audit: chaining, verifying and listing the audit log;
//   - pack: writing and verifying signed evidence packs (imports
//     acceptance, evidence, keys);
//   - keys: the server's purpose-bound keys.
package models
