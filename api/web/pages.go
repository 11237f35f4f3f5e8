package web

import (
	"bufio"
	"context"
	"html/template"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/download"
	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/pack"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// --- sign-in ---

func (w *Console) loginForm(c *fiber.Ctx, r *req) error {
	if r.Actor.UserID != "" {
		return c.Redirect(safeNext(c.Query("next")), http.StatusSeeOther)
	}
	return w.render(c, r, http.StatusOK, "login", r.L.T("web.login.title", nil), "", map[string]any{"Next": safeNext(c.Query("next")), "Error": ""})
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") {
		return "/"
	}
	return n
}

// login signs in with the same accounts, the same throttling and the same
// audit as POST /v1/auth/login: the browser is a device of the user.
func (w *Console) login(c *fiber.Ctx, r *req) error {
	username := strings.TrimSpace(c.FormValue("username"))
	in := auth.LoginInput{Username: username, Password: c.FormValue("password"),
		DeviceID: w.deviceID(c, username), DeviceName: "web console", Platform: "web", Address: c.IP()}
	g, err := w.auth.Login(c.UserContext(), in)
	if err != nil {
		code := string(models.ErrorCode(err))
		status := statusOf(err)
		if status >= 500 {
			return err
		}
		if e := models.AsError(err); e != nil && e.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(e.RetryAfter.Seconds())))
		}
		msg := r.L.T("web.err."+code, nil)
		if msg == "web.err."+code {
			msg = r.L.T("web.err.bad_credentials", nil)
		}
		return w.render(c, r, status, "login", r.L.T("web.login.title", nil), "",
			map[string]any{"Next": safeNext(c.FormValue("next")), "Error": msg, "Username": in.Username})
	}
	w.startSession(c, g.Session.ID, g.User.ID)
	return c.Redirect(safeNext(c.FormValue("next")), http.StatusSeeOther)
}

func (w *Console) logout(c *fiber.Ctx, r *req) error {
	if err := w.auth.Logout(c.UserContext(), r.Actor); err != nil {
		return err
	}
	w.setCookie(c, cookieSession, "", -1)
	return c.Redirect("/login?done=signed_out", http.StatusSeeOther)
}

func (w *Console) setLang(c *fiber.Ctx, r *req) error {
	lang := "zh-CN"
	if c.FormValue("lang") == "en" {
		lang = "en"
	}
	w.setCookie(c, cookieLang, lang, 400*24*3600)
	return c.Redirect(safeNext(c.FormValue("next")), http.StatusSeeOther)
}

// --- item lists ---

// filterOf reads the ledger's filters from the query, as GET /v1/items
// takes them.
func (w *Console) filterOf(c *fiber.Ctx) (models.ItemFilter, map[string]string, error) {
	q := map[string]string{}
	for _, k := range []string{"status", "unit_id", "category", "area", "supervision_level", "overdue", "flagged", "q", "sort"} {
		if v := strings.TrimSpace(c.Query(k)); v != "" {
			q[k] = v
		}
	}
	f := models.ItemFilter{Status: q["status"], UnitID: q["unit_id"], Category: q["category"], Area: q["area"], SupervisionLevel: q["supervision_level"], Search: q["q"], Sort: q["sort"]}
	if !models.ValidItemSort(f.Sort) {
		return f, q, models.FieldError(models.CodeInvalidEnum, "sort", "unknown sort")
	}
	if len([]rune(f.Search)) > 100 {
		return f, q, models.FieldError(models.CodeValidation, "q", "search for at most 100 characters")
	}
	if f.Status != "" && !contains(models.ItemMachine.Statuses(), f.Status) {
		return f, q, models.FieldError(models.CodeValidation, "status", "unknown status")
	}
	if f.SupervisionLevel != "" && !contains(models.SupervisionLevels, f.SupervisionLevel) {
		return f, q, models.FieldError(models.CodeValidation, "supervision_level", "unknown level")
	}
	if f.UnitID != "" && !models.ValidID(f.UnitID) {
		return f, q, models.FieldError(models.CodeValidation, "unit_id", "unknown unit")
	}
	if q["overdue"] == "true" {
		now := w.svc.Now().UTC()
		f.OverdueAt = &now
	}
	f.Flagged = q["flagged"] == "true"
	return f, q, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ledgerRow is one item in the ledger page.
type ledgerRow struct {
	Item        models.RectificationItem
	Unit        string
	Overdue     bool
	OverdueDays int
}

func (w *Console) unitNames(ctx context.Context, a models.Actor) map[string]models.Unit {
	out := map[string]models.Unit{}
	p := models.ListParams{Limit: models.MaxPageSize}
	for {
		page, err := w.items.ListUnits(ctx, a, items.UnitFilter{}, p)
		if err != nil {
			return out
		}
		for _, u := range page.Items {
			out[u.ID] = u
		}
		if page.Next == "" {
			return out
		}
		p.After = page.Next
	}
}

func (w *Console) ledger(c *fiber.Ctx, r *req) error {
	f, q, err := w.filterOf(c)
	if err != nil {
		return err
	}
	// The service checks the cursor: an id, or the sort's keyset.
	p := models.ListParams{Limit: 50, After: c.Query("after")}
	page, err := w.items.ListItems(c.UserContext(), r.Actor, f, p)
	if err != nil {
		return err
	}
	units := w.unitNames(c.UserContext(), r.Actor)
	now := w.svc.Now()
	rows := make([]ledgerRow, len(page.Items))
	for i, it := range page.Items {
		rows[i] = ledgerRow{Item: it, Unit: units[it.ResponsibleUnitID].Name, Overdue: it.IsOverdue(now), OverdueDays: it.DaysOverdue(now)}
	}
	query := template.URL(encodeQuery(q))
	next := ""
	if page.Next != "" {
		next = "/ledger?" + encodeQuery(q, "after", page.Next)
	}
	var unitList []models.Unit
	for _, u := range units {
		unitList = append(unitList, u)
	}
	sort.Slice(unitList, func(i, j int) bool { return unitList[i].Code < unitList[j].Code })
	return w.render(c, r, http.StatusOK, "ledger", r.L.T("web.nav.ledger", nil), "ledger", map[string]any{
		"Rows": rows, "Q": q, "XLSX": template.URL("/ledger.xlsx?") + query, "CSV": template.URL("/ledger.csv?") + query, "Next": next, "Statuses": models.ItemMachine.Statuses(),
		"Levels": models.SupervisionLevels, "Units": unitList, "Heads": ledgerHeads(q),
	})
}

// ledgerHead is a column heading of the ledger: a link that sorts the
// whole list by it (the service's keyset, across pages), ascending first,
// then descending.
type ledgerHead struct {
	Label, Href, AriaSort string
}

func ledgerHeads(q map[string]string) []ledgerHead {
	cols := []struct{ label, sort string }{
		{"web.field.code", "code"}, {"web.field.title", "title"}, {"web.field.unit", "unit"},
		{"web.field.category", "category"}, {"web.field.area", "area"}, {"web.field.level", "supervision_level"},
		{"web.field.deadline", "deadline"}, {"web.field.status", "status"},
	}
	rest := map[string]string{}
	for k, v := range q {
		if k != "sort" {
			rest[k] = v
		}
	}
	heads := make([]ledgerHead, len(cols))
	for i, col := range cols {
		h := ledgerHead{Label: col.label}
		next := col.sort
		switch q["sort"] {
		case col.sort:
			h.AriaSort, next = "ascending", "-"+col.sort
		case "-" + col.sort:
			h.AriaSort = "descending"
		}
		h.Href = "/ledger?" + encodeQuery(rest, "sort", next)
		heads[i] = h
	}
	return heads
}

func encodeQuery(q map[string]string, extra ...string) string {
	var keys []string
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+urlQueryEscape(q[k]))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		parts = append(parts, extra[i]+"="+urlQueryEscape(extra[i+1]))
	}
	return strings.Join(parts, "&")
}

// ledgerFile downloads exactly the filtered view with the API's ledger
// export (reporting.Ledger and api/sheets).
func (w *Console) ledgerFile(ext string) handler {
	return func(c *fiber.Ctx, r *req) error {
		f, _, err := w.filterOf(c)
		if err != nil {
			return err
		}
		loc := w.svc.Deadlines.Location()
		day := w.svc.Now().In(loc).Format("20060102")
		return w.spool(c, ext, "ledger-"+day+"."+ext, "台账-"+day+"."+ext, func(out io.Writer) error {
			if ext == "csv" {
				cw, err := sheets.NewLedgerCSV(out, loc)
				if err != nil {
					return err
				}
				if err := w.report.Ledger(c.UserContext(), r.Actor, f, cw.Row); err != nil {
					return err
				}
				return cw.Flush()
			}
			x, err := sheets.NewLedgerXLSX(loc)
			if err != nil {
				return err
			}
			defer x.Close()
			if err := w.report.Ledger(c.UserContext(), r.Actor, f, x.Row); err != nil {
				return err
			}
			_, err = x.WriteTo(out)
			return err
		})
	}
}

// spool sends the file write makes as an attachment, spooled first
// (package download), as the API's own downloads are.
func (w *Console) spool(c *fiber.Ctx, ext, name, local string, write func(io.Writer) error) error {
	f, size, err := download.Spool(write)
	if err != nil {
		return err
	}
	ct := "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	if ext == "csv" {
		ct = "text/csv; charset=utf-8"
	}
	download.Attachment(c, ct, name, local)
	return c.SendStream(f, int(size))
}

func (w *Console) reviewQueue(c *fiber.Ctx, r *req) error {
	p := models.ListParams{Limit: 50, After: c.Query("after")}
	if p.After != "" && !models.ValidID(p.After) {
		return models.FieldError(models.CodeValidation, "after", "bad page")
	}
	page, err := w.accept.ReviewQueue(c.UserContext(), r.Actor, models.ItemFilter{}, p)
	if err != nil {
		return err
	}
	next := ""
	if page.Next != "" {
		next = "/review?after=" + page.Next
	}
	units := w.unitNames(c.UserContext(), r.Actor)
	return w.render(c, r, http.StatusOK, "review", r.L.T("web.nav.review", nil), "review", map[string]any{"Entries": page.Items, "Next": next, "Units": units})
}

// --- evidence bytes ---

// evidenceImage serves a photo or its thumbnail to a signed-in browser
// that may see it (evidence.EvidenceObject), streamed through the server
// on both stores: no token, presigned or otherwise, goes into a URL.
func (w *Console) evidenceImage(thumb bool) handler {
	return func(c *fiber.Ctx, r *req) error {
		e, key, err := w.evidence.EvidenceObject(c.UserContext(), r.Actor, c.Params("id"), thumb)
		if err != nil {
			return err
		}
		rc, info, err := w.svc.Blobs.Get(c.UserContext(), key)
		if err != nil {
			return err
		}
		ct := info.ContentType
		if !thumb && e.Media != nil {
			ct = e.Media.ContentType
		}
		if !strings.HasPrefix(ct, "image/") && ct != "application/pdf" {
			ct = "application/octet-stream"
		}
		c.Set(fiber.HeaderContentType, ct)
		c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		if thumb {
			// A thumbnail never changes: the evidence it belongs to is
			// append-only. Private: only this user may see it.
			c.Set(fiber.HeaderCacheControl, "private, max-age=86400, immutable")
		} else {
			// Originals are large and rarely opened twice; a shared
			// browser keeps none of them after its user signs out.
			c.Set(fiber.HeaderCacheControl, "private, no-store")
		}
		return c.SendStream(rc, int(info.Size))
	}
}

// --- evidence packs ---

func (w *Console) packDownload(c *fiber.Ctx, r *req) error {
	if w.cfg.PackKeys.Signer == nil {
		return notFound()
	}
	p, err := w.accept.EvidencePack(c.UserContext(), r.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	pw := &pack.Writer{Blobs: w.svc.Blobs, Signer: w.cfg.PackKeys.Signer, Server: strings.TrimSpace("fieldsync " + w.cfg.Version)}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="evidence-pack-`+p.Set.Item.Code+`.zip"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	ctx := context.WithoutCancel(c.UserContext())
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		if err := pw.Write(ctx, bw, p); err != nil {
			w.log.Warn("console: evidence pack cut off", "item", p.Set.Item.ID, "err", err)
		}
		bw.Flush()
	})
	return nil
}

func (w *Console) packVerifyForm(c *fiber.Ctx, r *req) error {
	return w.render(c, r, http.StatusOK, "packverify", r.L.T("web.nav.pack", nil), "pack", map[string]any{"Limit": megabytes(w.packLimit())})
}

// packSize refuses a pack upload larger than the configured limit, from
// its Content-Length, before a byte of it is read; a body of unknown
// length (chunked) is refused too, since browsers send the length of a
// form.
func (w *Console) packSize(h handler) handler {
	return func(c *fiber.Ctx, r *req) error {
		limit := w.packLimit()
		msg := ""
		status := http.StatusRequestEntityTooLarge
		switch n := int64(c.Request().Header.ContentLength()); {
		case n > limit:
			msg = r.L.T("web.pack.too_large", map[string]any{"Limit": megabytes(limit)})
		case n < 0:
			msg, status = r.L.T("web.pack.length_required", nil), http.StatusLengthRequired
		default:
			return h(c, r)
		}
		// The body is left unread: the connection is closed after the answer.
		c.Context().SetConnectionClose()
		return w.render(c, r, status, "packverify", r.L.T("web.nav.pack", nil), "pack", map[string]any{"Error": msg, "Limit": megabytes(limit)})
	}
}

func (w *Console) packLimit() int64 {
	if w.cfg.PackLimit <= 0 {
		return DefaultPackLimit
	}
	return w.cfg.PackLimit
}

// megabytes shows a size in whole MB (MiB), as a file dialog does.
func megabytes(n int64) string { return strconv.FormatInt((n+(1<<20)-1)>>20, 10) + " MB" }

// packVerify checks an uploaded pack with the code of fieldctl
// verify-pack (models/pack), against this server's keys.
func (w *Console) packVerify(c *fiber.Ctx, r *req) error {
	fh, err := c.FormFile("pack")
	if err != nil {
		return models.FieldError(models.CodeRequired, "pack", "choose a pack")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		return models.Errorf(models.CodeValidation, "unreadable upload")
	}
	rep, verr := pack.Verify(ra, fh.Size, w.cfg.PackKeys.Trusted()...)
	data := map[string]any{"Name": fh.Filename, "Report": &rep, "OK": verr == nil && rep.OK(), "Limit": megabytes(w.packLimit())}
	if verr != nil && rep.ItemCode == "" && rep.Files == 0 {
		data["Unreadable"] = true
	}
	return w.render(c, r, http.StatusOK, "packverify", r.L.T("web.nav.pack", nil), "pack", data)
}

// --- dispatch ---

func (w *Console) dispatchQuery(c *fiber.Ctx) reporting.DispatchQuery {
	q := reporting.DispatchQuery{Period: c.Query("period"), Start: c.Query("start")}
	// The month picker sends YYYY-MM.
	if len(q.Start) == 7 {
		q.Start += "-01"
	}
	return q
}

func (w *Console) dispatch(c *fiber.Ctx, r *req) error {
	q := w.dispatchQuery(c)
	rep, err := w.report.Dispatch(c.UserContext(), r.Actor, q)
	if err != nil {
		return err
	}
	month := rep.Start.In(w.svc.Deadlines.Location()).Format("2006-01")
	return w.render(c, r, http.StatusOK, "dispatch", r.L.T("web.nav.dispatch", nil), "dispatch", map[string]any{
		"Report": rep, "Month": month, "Period": rep.Period, "Statuses": models.ItemMachine.Statuses()})
}

func (w *Console) dispatchFile(c *fiber.Ctx, r *req) error {
	rep, err := w.report.Dispatch(c.UserContext(), r.Actor, w.dispatchQuery(c))
	if err != nil {
		return err
	}
	loc := w.svc.Deadlines.Location()
	month := rep.Start.In(loc).Format("2006-01")
	return w.spool(c, "xlsx", "dispatch-"+rep.Period+"-"+month+".xlsx", "调度-"+month+".xlsx", func(out io.Writer) error {
		return sheets.WriteDispatch(out, rep, loc)
	})
}

// --- public disclosure ---

// public is the disclosure page: only what GET /v1/public/progress and
// /v1/public/items give anyone, with their redaction.
func (w *Console) public(c *fiber.Ctx, r *req) error {
	prog, err := w.report.PublicProgress(c.UserContext())
	if err != nil {
		return err
	}
	p := models.ListParams{Limit: 50, After: c.Query("after")}
	if p.After != "" && !models.ValidID(p.After) {
		return models.FieldError(models.CodeValidation, "after", "bad page")
	}
	items, err := w.report.PublicItems(c.UserContext(), p)
	if err != nil {
		return err
	}
	next := ""
	if items.Next != "" {
		next = "/public?after=" + items.Next
	}
	err = w.render(c, r, http.StatusOK, "public", r.L.T("web.nav.public", nil), "public", map[string]any{
		"Progress": prog, "Items": items.Items, "Next": next,
		"ByArea": bars(prog.ByArea, func(x reporting.AreaProgress) (string, int, int) { return x.Area, int(x.Accepted), int(x.Total) }),
		"ByCategory": bars(prog.ByCategory, func(x reporting.CategoryProgress) (string, int, int) {
			return x.Category, int(x.Accepted), int(x.Total)
		}),
		"ByUnit": bars(prog.ByUnit, func(x reporting.UnitProgress) (string, int, int) { return x.UnitName, int(x.Accepted), int(x.Total) }),
	})
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	if r.Actor.UserID != "" {
		c.Set(fiber.HeaderCacheControl, "private, no-store")
	}
	return err
}

func bars[T any](rows []T, f func(T) (string, int, int)) []bar {
	out := make([]bar, 0, len(rows))
	for _, x := range rows {
		name, done, total := f(x)
		out = append(out, bar{Name: name, Done: done, Total: total})
	}
	return layoutBars(out)
}

var _ = time.Now
