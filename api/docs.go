package api

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/gofiber/fiber/v2"
	"go.yaml.in/yaml/v3"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
)

// apidocs holds the /docs page and its vendored renderer (Redoc, see
// apidocs/README.md), so that the documentation works with no network.
//
//go:embed apidocs/index.html apidocs/redoc.standalone.js apidocs/LICENSE-redoc apidocs/redoc.standalone.js.LICENSE.txt
var apidocs embed.FS

// docsRoutes serves the contract: the document as it is embedded
// (/openapi.yaml), the same as JSON (/openapi.json), and a page that
// renders it (/docs). They need no token: the document is public.
func (s *Server) docsRoutes() {
	a := s.app
	a.Get("/openapi.yaml", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
		return c.Send(contract.OpenAPIYAML())
	})
	a.Get("/openapi.json", func(c *fiber.Ctx) error {
		b, err := openAPIJSON()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(b)
	})
	for path, asset := range map[string]struct{ file, ctype string }{
		"/docs":                                 {"index.html", fiber.MIMETextHTMLCharsetUTF8},
		"/docs/redoc.standalone.js":             {"redoc.standalone.js", "text/javascript; charset=utf-8"},
		"/docs/LICENSE-redoc":                   {"LICENSE-redoc", fiber.MIMETextPlainCharsetUTF8},
		"/docs/redoc.standalone.js.LICENSE.txt": {"redoc.standalone.js.LICENSE.txt", fiber.MIMETextPlainCharsetUTF8},
	} {
		b, err := apidocs.ReadFile("apidocs/" + asset.file)
		if err != nil {
			panic(err) // embedded above: cannot happen
		}
		a.Get(path, func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, asset.ctype)
			c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
			return c.Send(b)
		})
	}
}

// openAPIJSON is the embedded document converted to JSON once, members in
// the document's order.
var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(contract.OpenAPIYAML(), &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml to JSON: %w", err)
	}
	return buf.Bytes(), nil
})

// writeJSON writes a YAML node as JSON, keeping the order of mappings.
func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: %d documents, want 1", n.Line, len(n.Content))
		}
		return writeJSON(buf, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		var v any
		switch n.ShortTag() {
		case "!!null":
			v = nil
		case "!!bool", "!!int", "!!float":
			if err := n.Decode(&v); err != nil {
				return fmt.Errorf("line %d: %w", n.Line, err)
			}
			if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
				return fmt.Errorf("line %d: %s has no JSON form", n.Line, strconv.Quote(n.Value))
			}
		default: // strings, and timestamps as they are written
			v = n.Value
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.Write(b)
	default:
		return fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
	}
	return nil
}
