// Package contracttest checks real responses against fieldsync's wire
// contract, mobile-contract/openapi.yaml (contract.OpenAPIYAML). The API
// tests run every scenario's response through ValidateResponse, so the
// document cannot drift from the server without a test failing.
//
// It is a package of its own, used by tests only, so that nothing the
// server links pulls in kin-openapi.
package contracttest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// ErrUndocumentedRoute is returned (wrapped) by ValidateResponse when the
// method and path match no operation of the document.
var ErrUndocumentedRoute = errors.New("contract: no documented operation")

// uuidPattern is the canonical text form the server accepts and sends
// (models.ValidID): any version, either case.
var uuidPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// SchemaOptions are the options every value is validated with. kin-openapi
// does not check the "uuid" format by default; it is checked here, per
// validation, so that no global kin-openapi state is changed.
func SchemaOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(uuidPattern.String())),
	}
}

var loadSpec = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(contract.OpenAPIYAML())
	if err != nil {
		return nil, fmt.Errorf("contract: load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("contract: openapi.yaml is invalid: %w", err)
	}
	return doc, nil
})

// Spec returns the parsed and validated document. It is loaded once and
// shared: callers must not modify it.
func Spec() (*openapi3.T, error) { return loadSpec() }

// MustSpec returns the validated document or stops the test.
func MustSpec(tb testing.TB) *openapi3.T {
	tb.Helper()
	doc, err := Spec()
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

var loadRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := Spec()
	if err != nil {
		return nil, err
	}
	// Match paths on any host: the router sees a copy of the document
	// without servers, so it matches the request path alone.
	d := *doc
	d.Servers = nil
	r, err := legacy.NewRouter(&d)
	if err != nil {
		return nil, fmt.Errorf("contract: build router: %w", err)
	}
	return r, nil
})

// Example is one example value of the document and the schema it must
// satisfy.
type Example struct {
	Where    string // e.g. "POST /v1/sync/push request application/json verificationAndAnswer"
	Schema   *openapi3.SchemaRef
	Value    any
	Response bool // the example is of a response, not of a request
}

func mediaExamples(where string, content openapi3.Content, response bool) []Example {
	var out []Example
	for ct, mt := range content {
		if mt.Example != nil {
			out = append(out, Example{where + " " + ct, mt.Schema, mt.Example, response})
		}
		for name, ex := range mt.Examples {
			out = append(out, Example{where + " " + ct + " " + name, mt.Schema, ex.Value.Value, response})
		}
	}
	return out
}

// Examples lists every example of doc: of its schemas, its shared
// responses, and each operation's request and responses.
func Examples(doc *openapi3.T) []Example {
	var out []Example
	for name, s := range doc.Components.Schemas {
		if s.Value.Example != nil {
			out = append(out, Example{"schema " + name, s, s.Value.Example, false})
		}
	}
	for name, r := range doc.Components.Responses {
		out = append(out, mediaExamples("response "+name, r.Value.Content, true)...)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.RequestBody != nil {
				out = append(out, mediaExamples(where+" request", op.RequestBody.Value.Content, false)...)
			}
			for status, r := range op.Responses.Map() {
				if r.Ref == "" { // shared responses are checked above
					out = append(out, mediaExamples(where+" "+status, r.Value.Content, true)...)
				}
			}
		}
	}
	return out
}

// ValidateResponse checks one response of the server against the document:
// the method and path (an optional query string is ignored) must name a
// documented operation, the status must be documented for it, and the
// documented headers and the body must match. A status with no documented
// content must come with an empty body. The first mismatch is returned.
//
// A body sent with Content-Encoding gzip or deflate (as the server sends
// pulls to a client that accepts them) is decompressed before it is
// checked. A body that does not decompress is a mismatch, and so is one in
// an encoding this package cannot decode (br), and a compressed body of a
// response that does not document a Content-Encoding header.
//
// A request that names no operation has one documented answer (see the
// document's conventions): a problem document with 404 `route_not_found`
// when no documented path matches, and with 405 `method_not_allowed` when
// the path is documented but not for the method. Any other answer to it is
// ErrUndocumentedRoute.
func ValidateResponse(method, path string, status int, header http.Header, body []byte) error {
	router, err := loadRouter()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("contract: path %q must start with /", path)
	}
	enc := contentEncoding(header)
	body, err = decodeContent(enc, body)
	if err != nil {
		return fmt.Errorf("contract: %s %s → %d: %w", method, path, status, err)
	}
	req, err := http.NewRequest(method, "http://fieldsync.invalid"+path, nil)
	if err != nil {
		return fmt.Errorf("contract: %s %s: %w", method, path, err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if unrouted(router, req, status) {
			if enc != "" {
				return fmt.Errorf("contract: %s %s (no documented operation) → %d: a problem document is never sent with Content-Encoding %s", method, req.URL.Path, status, enc)
			}
			return validateUnrouted(method, req.URL.Path, status, header, body)
		}
		return fmt.Errorf("%w for %s %s: %w", ErrUndocumentedRoute, method, req.URL.Path, err)
	}
	if header == nil {
		header = http.Header{}
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus:   true,
		MultiError:              false,
		SchemaValidationOptions: SchemaOptions(),
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
			Options:    opts,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("contract: %s %s → %d: %w", method, route.Path, status, err)
	}
	resp := route.Operation.Responses.Status(status)
	// openapi3filter accepts any body for a response without content.
	if resp != nil && resp.Value != nil && len(resp.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("contract: %s %s → %d: the response is documented without a body but has %d bytes", method, route.Path, status, len(body))
	}
	// openapi3filter ignores headers a response does not document.
	if enc != "" && (resp == nil || resp.Value == nil || !documentsHeader(resp.Value.Headers, "Content-Encoding")) {
		return fmt.Errorf("contract: %s %s → %d: the body has Content-Encoding %s, which is not documented for this response", method, route.Path, status, enc)
	}
	return nil
}

// documentsHeader reports whether headers documents name, in any case.
func documentsHeader(headers openapi3.Headers, name string) bool {
	for h := range headers {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// Routes lists every documented operation as "METHOD /path", with path
// parameters in OpenAPI form ("GET /v1/units/{id}"), sorted. It panics if
// the embedded document is invalid, which the package's tests rule out.
//
// Fiber registers a HEAD route beside every GET; those are not documented
// and are not listed.
func Routes() []string {
	doc, err := Spec()
	if err != nil {
		panic(err)
	}
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// unroutedCodes are the codes of the answers to a request that names no
// operation, by status.
var unroutedCodes = map[int]string{
	http.StatusNotFound:         "route_not_found",
	http.StatusMethodNotAllowed: "method_not_allowed",
}

// unrouted reports whether status is the documented answer to req, which
// names no operation: 405 when another method of its path is documented,
// else 404.
func unrouted(router routers.Router, req *http.Request, status int) bool {
	pathKnown := false
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace} {
		other := req.Clone(context.Background())
		other.Method = m
		if _, _, err := router.FindRoute(other); err == nil {
			pathKnown = true
			break
		}
	}
	if pathKnown {
		return status == http.StatusMethodNotAllowed
	}
	return status == http.StatusNotFound
}

// validateUnrouted checks a 404 or 405 answer to a request that names no
// operation: a Problem with the status's code, as application/problem+json.
func validateUnrouted(method, path string, status int, header http.Header, body []byte) error {
	doc, err := Spec()
	if err != nil {
		return err
	}
	where := fmt.Sprintf("contract: %s %s (no documented operation) → %d", method, path, status)
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		return fmt.Errorf("%s: Content-Type is %q, want application/problem+json", where, ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: decode body: %w", where, err)
	}
	problem := doc.Components.Schemas["Problem"]
	if problem == nil || problem.Value == nil {
		return fmt.Errorf("%s: the document has no Problem schema", where)
	}
	if err := problem.Value.VisitJSON(v, append(SchemaOptions(), openapi3.VisitAsResponse())...); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if m, _ := v.(map[string]any); m["code"] != unroutedCodes[status] || m["status"] != float64(status) {
		return fmt.Errorf("%s: code %v and status %v, want %s and %d", where, m["code"], m["status"], unroutedCodes[status], status)
	}
	return nil
}

// contentEncoding returns a response's Content-Encoding in lower case,
// or "" when it has none.
func contentEncoding(header http.Header) string {
	enc := strings.ToLower(strings.TrimSpace(header.Get("Content-Encoding")))
	if enc == "identity" {
		return ""
	}
	return enc
}

// decodeContent undoes the content encoding enc of a response body.
// HTTP's "deflate" is the zlib format, which is what the server sends.
func decodeContent(enc string, body []byte) ([]byte, error) {
	if enc == "" || len(body) == 0 {
		return body, nil
	}
	var (
		r   io.ReadCloser
		err error
	)
	switch enc {
	case "gzip", "x-gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(body))
	default:
		return nil, fmt.Errorf("cannot decode a body with Content-Encoding %q", enc)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s body: %w", enc, err)
	}
	defer r.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decode %s body: %w", enc, err)
	}
	return out, nil
}
