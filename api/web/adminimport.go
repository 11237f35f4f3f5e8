package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
)

// The ledger import, in two steps. The upload is read with the readers of
// POST /v1/items/import and `fieldctl import items` (api/sheets, XLSX or
// CSV by the file's extension, as fieldctl decides) and dry-run with
// items.ImportItems; the page shows row by row what would be created or
// updated and every row's errors. The file is kept in the blob store
// (one per user: a new upload replaces it), and the confirm form names it
// by its SHA-256 and the dry run by a digest of its plan, signed for this
// session. Confirming imports exactly that file: a replaced file, a form
// from another session or an expired one, or a ledger that changed since
// the dry run (so that the import would not do what the page showed) is
// refused with a message and nothing is written.

// importFormTTL is how long a dry run's confirm form stays good.
const importFormTTL = 2 * time.Hour

// importRow is one row of the file as the page shows it.
type importRow struct {
	Row    int
	Code   string
	Title  string
	Unit   string
	Action string
	Errors []string
}

// importView is what the import page shows after an upload.
type importView struct {
	Name   string
	Report items.ImportReport
	Rows   []importRow
	// Unknown are the file's columns that are not read.
	Unknown []string
	// Digest, Plan, At and Token fill the confirm form; empty when the
	// file has errors.
	Digest, Plan, At, Token string
	// Done is true on the answer of the real import.
	Done bool
	// rows are the file's rows as read, for the import itself.
	rows []items.ImportRow
}

func (w *Console) importForm(c *fiber.Ctx, r *req) error {
	return w.importPage(c, r, http.StatusOK, map[string]any{})
}

func (w *Console) importPage(c *fiber.Ctx, r *req, status int, data map[string]any) error {
	data["MaxMB"] = sheets.MaxUpload >> 20
	return w.render(c, r, status, "admin_import", r.L.T("web.admin.import", nil), "import", data)
}

// importRefused shows the import page with a message of its own.
func (w *Console) importRefused(c *fiber.Ctx, r *req, status int, id string, kv ...any) error {
	m := map[string]any{"MaxMB": sheets.MaxUpload >> 20}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return w.importPage(c, r, status, map[string]any{"Error": r.L.T(id, m)})
}

// stagedKey is where a user's uploaded ledger waits for its confirmation.
func stagedKey(userID string) string { return "console-imports/" + userID }

// importUpload reads the uploaded ledger, dry-runs it and keeps it for the
// confirmation.
func (w *Console) importUpload(c *fiber.Ctx, r *req) error {
	if n := c.Request().Header.ContentLength(); n > sheets.MaxUpload+64<<10 {
		return w.importRefused(c, r, http.StatusRequestEntityTooLarge, "web.import.too_large")
	}
	fh, err := c.FormFile("ledger")
	if err != nil {
		return w.importRefused(c, r, http.StatusBadRequest, "web.import.no_file")
	}
	if fh.Size > sheets.MaxUpload {
		return w.importRefused(c, r, http.StatusRequestEntityTooLarge, "web.import.too_large")
	}
	if ext := strings.ToLower(filepath.Ext(fh.Filename)); ext != ".csv" && ext != ".xlsx" {
		return w.importRefused(c, r, http.StatusUnsupportedMediaType, "web.import.bad_type")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, sheets.MaxUpload+1))
	if err != nil {
		return err
	}
	if len(body) > sheets.MaxUpload {
		return w.importRefused(c, r, http.StatusRequestEntityTooLarge, "web.import.too_large")
	}
	v, status, err := w.dryRun(c, r, fh.Filename, body)
	if err != nil || v == nil {
		return err
	}
	if v.Token != "" {
		if _, err := w.svc.Blobs.Put(c.UserContext(), stagedKey(r.Actor.UserID), bytes.NewReader(body), int64(len(body)), "application/octet-stream"); err != nil {
			return err
		}
	}
	return w.importPage(c, r, status, map[string]any{"View": v})
}

// dryRun reads body as a ledger and dry-runs it; a file that is not a
// ledger is shown on the page (v nil, the page written).
func (w *Console) dryRun(c *fiber.Ctx, r *req, name string, body []byte) (*importView, int, error) {
	read := sheets.ReadItems
	if strings.EqualFold(filepath.Ext(name), ".csv") {
		read = sheets.ReadItemsCSV
	}
	imp, err := read(bytes.NewReader(body), w.svc.Deadlines.Location())
	if err != nil {
		return nil, 0, w.importRefused(c, r, http.StatusBadRequest, "web.import.unreadable", "Detail", err.Error())
	}
	rep, err := w.items.ImportItems(c.UserContext(), r.Actor, imp.Rows, items.ImportOptions{DryRun: true})
	status := http.StatusOK
	if err != nil {
		if models.ErrorCode(err) != models.CodeImportInvalid {
			st, msg, err := w.formError(r, err, nil)
			if err != nil {
				return nil, 0, err
			}
			return nil, 0, w.importPage(c, r, st, map[string]any{"Error": msg})
		}
		status = http.StatusUnprocessableEntity
	}
	v := &importView{Name: name, Report: rep, Unknown: imp.Unknown, rows: imp.Rows}
	byRow := map[int]*importRow{}
	for _, row := range imp.Rows {
		code := ""
		if row.Item.Code != nil {
			code = *row.Item.Code
		}
		title := ""
		if row.Item.Title != nil {
			title = *row.Item.Title
		}
		v.Rows = append(v.Rows, importRow{Row: row.Row, Code: code, Title: title, Unit: row.ResponsibleUnit})
	}
	for i := range v.Rows {
		byRow[v.Rows[i].Row] = &v.Rows[i]
	}
	for _, res := range rep.Results {
		if row := byRow[res.Row]; row != nil {
			row.Action = res.Action
		}
	}
	for _, e := range rep.Errors {
		row := byRow[e.Row]
		if row == nil {
			continue
		}
		args := map[string]any{}
		for k, a := range e.Args {
			args[k] = a
		}
		if e.Field != "" {
			args["Field"] = sheets.FieldHeader(e.Field)
		}
		row.Errors = append(row.Errors, r.L.Detail(string(e.Code), "", args, e.Message))
	}
	if len(rep.Errors) == 0 && len(rep.Results) > 0 {
		sum := sha256.Sum256(body)
		v.Digest, v.Plan, v.At = hex.EncodeToString(sum[:]), planDigest(rep), fmt.Sprint(w.svc.Now().Unix())
		v.Token = w.importToken(r, v)
	}
	return v, status, nil
}

// planDigest names what a dry run would do, row by row.
func planDigest(rep items.ImportReport) string {
	h := sha256.New()
	for _, res := range rep.Results {
		fmt.Fprintf(h, "%d\x00%s\x00%s\n", res.Row, res.Code, res.Action)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (w *Console) importToken(r *req, v *importView) string {
	return w.token("import|" + r.Actor.SessionID + "|" + v.Name + "|" + v.Digest + "|" + v.Plan + "|" + v.At)
}

// importConfirm imports the file the dry run was shown for.
func (w *Console) importConfirm(c *fiber.Ctx, r *req) error {
	v := &importView{Name: c.FormValue("name"), Digest: c.FormValue("digest"), Plan: c.FormValue("plan"), At: c.FormValue("at")}
	var at int64
	fmt.Sscan(v.At, &at)
	if !hmac.Equal([]byte(c.FormValue("token")), []byte(w.importToken(r, v))) || w.svc.Now().Sub(time.Unix(at, 0)) > importFormTTL {
		return w.importRefused(c, r, http.StatusConflict, "web.import.stale")
	}
	rc, _, err := w.svc.Blobs.Get(c.UserContext(), stagedKey(r.Actor.UserID))
	if models.IsNotFound(err) {
		return w.importRefused(c, r, http.StatusConflict, "web.import.gone")
	}
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(rc, sheets.MaxUpload+1))
	rc.Close()
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != v.Digest {
		return w.importRefused(c, r, http.StatusConflict, "web.import.changed")
	}
	// The dry run again: if the ledger changed since the page was shown,
	// the import would not do what it said; show the new plan instead.
	again, status, err := w.dryRun(c, r, v.Name, body)
	if err != nil || again == nil {
		return err
	}
	if again.Plan != v.Plan {
		return w.importPage(c, r, http.StatusConflict, map[string]any{"View": again, "Error": r.L.T("web.import.plan_changed", nil)})
	}
	if status != http.StatusOK {
		return w.importPage(c, r, status, map[string]any{"View": again})
	}
	rep, err := w.items.ImportItems(c.UserContext(), r.Actor, again.rows, items.ImportOptions{})
	if err != nil {
		st, msg, err := w.formError(r, err, nil)
		if err != nil {
			return err
		}
		return w.importPage(c, r, st, map[string]any{"Error": msg})
	}
	if err := w.svc.Blobs.Delete(c.UserContext(), stagedKey(r.Actor.UserID)); err != nil && !models.IsNotFound(err) {
		w.log.Warn("console: the imported ledger's staged file stays", "user", r.Actor.UserID, "err", err)
	}
	done := &importView{Name: v.Name, Report: rep, Rows: again.Rows, Done: true}
	for i := range done.Rows {
		done.Rows[i].Action = ""
	}
	for _, res := range rep.Results {
		for i := range done.Rows {
			if done.Rows[i].Row == res.Row {
				done.Rows[i].Action = res.Action
			}
		}
	}
	return w.importPage(c, r, http.StatusOK, map[string]any{"View": done})
}
