// Package layering holds the test that keeps fieldsync's packages
// importing one way; it has no code of its own. The allowed graph is
// written in layering_test.go and explained in docs/architecture.md.
package layering
