// Package contract holds fieldsync's wire contract: openapi.yaml, the
// OpenAPI 3.0 description of every endpoint the server has, the wire types
// and the Go reference client with its offline loop. The response validator
// the tests use is in contracttest, so that the server does not link it.
package contract

import _ "embed"

//go:embed openapi.yaml
var document []byte

// OpenAPIYAML returns openapi.yaml, the OpenAPI 3.0 description of every
// endpoint the server has, as embedded in the binary. The slice is shared:
// callers must not modify it. The server serves it at /openapi.yaml;
// package contracttest validates responses against it.
func OpenAPIYAML() []byte { return document }
