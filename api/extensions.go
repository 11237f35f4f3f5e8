package api

import (
	"bytes"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
)

// listExtensions answers GET /v1/items/{id}/extensions.
func (s *Server) listExtensions(c *fiber.Ctx) error {
	out, err := s.accept.ListExtensions(c.UserContext(), actor(c), pathID(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": out})
}

// requestExtension answers POST /v1/items/{id}/extensions.
func (s *Server) requestExtension(c *fiber.Ctx) error {
	var in models.ExtensionRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.accept.RequestExtension(c.UserContext(), actor(c), pathID(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// decideExtension answers POST /v1/items/{id}/extensions/{ext}/decision.
func (s *Server) decideExtension(c *fiber.Ctx) error {
	var in models.ExtensionDecision
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.accept.DecideExtension(c.UserContext(), actor(c), pathID(c), c.Params("ext"), in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// maxLedgerUpload bounds an uploaded ledger (sheets.MaxUpload, which the
// console's upload shares).
const maxLedgerUpload = sheets.MaxUpload

// importItems answers POST /v1/items/import: the body is a ledger, XLSX or
// CSV by its Content-Type; ?dry_run=true checks it and says row by row
// what would be created or updated. A file with bad rows is a 400
// import_invalid problem whose report lists every row's errors.
func (s *Server) importItems(c *fiber.Ctx) error {
	a := actor(c)
	if a.Role != models.RoleAdmin && a.Role != models.RoleSupervisor {
		return models.Errorf(models.CodeForbidden, "your role may not import items")
	}
	dryRun := false
	switch c.Query("dry_run") {
	case "", "false":
	case "true":
		dryRun = true
	default:
		return models.FieldError(models.CodeValidation, "dry_run", "dry_run must be true or false")
	}
	ct := strings.ToLower(string(c.Request().Header.ContentType()))
	read := sheets.ReadItems
	switch {
	case strings.HasPrefix(ct, mimeXLSX):
	case strings.HasPrefix(ct, "text/csv"):
		read = sheets.ReadItemsCSV
	default:
		return models.Errorf(models.CodeUnsupportedMediaType, "send the ledger as %s (XLSX) or text/csv", mimeXLSX)
	}
	if n := c.Request().Header.ContentLength(); n > maxLedgerUpload {
		return models.Errorf(models.CodeBodyTooLarge, "a ledger file may be at most %d bytes", maxLedgerUpload)
	}
	r := requestBody(c)
	body, err := io.ReadAll(io.LimitReader(r, maxLedgerUpload+1))
	if err != nil {
		return bodyError(r, err)
	}
	if len(body) > maxLedgerUpload {
		return models.Errorf(models.CodeBodyTooLarge, "a ledger file may be at most %d bytes", maxLedgerUpload)
	}
	imp, err := read(bytes.NewReader(body), s.svc.Deadlines.Location())
	if err != nil {
		return models.Errorf(models.CodeImportInvalid, "the file is not a ledger: %v", err)
	}
	rep, err := s.items.ImportItems(c.UserContext(), a, imp.Rows, items.ImportOptions{DryRun: dryRun})
	l := localizer(c)
	for i := range rep.Errors {
		e := &rep.Errors[i]
		e.Message = message(l, e.Code, e.Field, e.Args, e.Message)
	}
	if imp.Unknown == nil {
		imp.Unknown = []string{}
	}
	if models.ErrorCode(err) == models.CodeImportInvalid && len(rep.Errors) > 0 {
		return s.problem(c, err, fiber.Map{"report": importReport{rep, imp.Unknown}})
	}
	if err != nil {
		return err
	}
	return c.JSON(importReport{rep, imp.Unknown})
}

// importReport is the answer of an import: the service's report and the
// file's columns that were not read.
type importReport struct {
	items.ImportReport
	UnknownColumns []string `json:"unknown_columns"`
}
