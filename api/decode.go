package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
)

// maxJSONDepth bounds nesting, so that a deeply nested body cannot make
// the decoder recurse without end.
const maxJSONDepth = 32

// decode reads a JSON body into dst strictly: one JSON value, no unknown
// fields, the right types. Each failure has its own code.
func decode(c *fiber.Ctx, dst any) error {
	ct := string(c.Request().Header.ContentType())
	if ct != "" && !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		return models.Errorf(models.CodeUnsupportedMediaType, "send the body as application/json, not %s", ct)
	}
	body, err := jsonBody(c)
	if err != nil {
		return err
	}
	if err := checkDepth(body); err != nil {
		return err
	}
	if err := models.CheckJSONKeys(body, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return models.Errorf(models.CodeMalformedJSON, "the body has data after its JSON value")
	}
	return nil
}

// jsonError gives a decoding failure its code and names the field.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return models.Errorf(models.CodeMalformedJSON, "the body is empty; send a JSON object")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return models.Errorf(models.CodeMalformedJSON, "the body is not valid JSON: %v", err)
	case errors.As(err, &typ) && typ.Type == reflect.TypeFor[models.DateTime]():
		return models.FieldError(models.CodeInvalidDate, typ.Field, "%s must be %s", typ.Field, models.DateTimeFormats)
	case errors.As(err, &typ):
		return models.FieldError(models.CodeInvalidType, typ.Field, "%s must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case models.AsError(err) != nil:
		return err // a field's own decoder refused its value (a polygon's positions)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return models.FieldError(models.CodeUnknownField, f, "unknown field %q", f)
	}
	// time.Time and other TextUnmarshalers report their own parse errors.
	return models.Errorf(models.CodeInvalidType, "a value has the wrong form: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// checkDepth refuses bodies nested deeper than maxJSONDepth.
func checkDepth(body []byte) error {
	depth := 0
	inString, escaped := false, false
	for _, b := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			depth++
			if depth > maxJSONDepth {
				return models.Errorf(models.CodeMalformedJSON, "the body is nested deeper than %d levels", maxJSONDepth)
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return nil
}

// limitParam reads the optional page size; 0 when absent.
func limitParam(c *fiber.Ctx) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, models.FieldError(models.CodeValidation, "limit", "limit must be a positive whole number")
	}
	return n, nil
}

// listParams reads limit and page_token.
func listParams(c *fiber.Ctx) (models.ListParams, error) {
	var p models.ListParams
	var err error
	if p.Limit, err = limitParam(c); err != nil {
		return p, err
	}
	if v := c.Query("page_token"); v != "" {
		// The service checks the cursor inside (an id, or for a sorted
		// item list a sort, a value and an id); this only unwraps it.
		after, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(after) == 0 || len(after) > maxCursor {
			return p, models.FieldError(models.CodeInvalidCursor, "page_token", "page_token is not valid")
		}
		p.After = string(after)
	}
	return p, nil
}

// maxCursor bounds a page cursor: an id, or a sort, a column's value
// (items' longest, the title, is 300 characters) and an id.
const maxCursor = 2048

// pageToken makes the opaque token for the page after cursor.
func pageToken(cursor string) string {
	if cursor == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(cursor))
}

// pathID reads the :id parameter.
func pathID(c *fiber.Ctx) string { return c.Params("id") }

// listResponse is the shape of every list.
type listResponse[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// jsonBody reads a JSON request body within the app's BodyLimit. Bodies
// may arrive as a stream (the server streams large bodies for uploads), so
// the limit is enforced here rather than trusted to the HTTP layer.
func jsonBody(c *fiber.Ctx) ([]byte, error) {
	limit := c.App().Config().BodyLimit
	tooLarge := models.Errorf(models.CodeBodyTooLarge, "the request body is larger than %d bytes", limit)
	if n := c.Request().Header.ContentLength(); n > limit {
		return nil, tooLarge
	}
	body := requestBody(c)
	b, err := io.ReadAll(io.LimitReader(body, int64(limit)+1))
	if err != nil {
		if err = bodyError(body, err); models.ErrorCode(err) == models.CodeRequestTimeout {
			return nil, err
		}
		return nil, models.Errorf(models.CodeMalformedJSON, "the body could not be read: %v", err)
	}
	if len(b) > limit {
		return nil, tooLarge
	}
	return b, nil
}
