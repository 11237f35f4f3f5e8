// Package layering holds the tests that keep fieldsync's build honest; it
// has no code of its own. layering_test.go keeps the packages importing
// one way (the allowed graph is explained in docs/architecture.md);
// norace_test.go checks that the packages make test compiles without the
// race detector (.ci/norace) cannot take it away from the others.
package layering
