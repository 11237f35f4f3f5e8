package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/audit"
	"github.com/fieldsync/fieldsync/models/items"
)

// The administrators' pages: units, users, devices and the audit log.
// Each calls the service method the JSON API calls, as the signed-in
// user; the services refuse whoever may not (admins only), and the pages
// refuse them first with the same rule (models.Actor.IsAdmin), so that a
// page never half-renders for someone the service would refuse.

// admin wraps a page for administrators only: anyone else gets the 403
// page.
func admin(h handler) handler {
	return func(c *fiber.Ctx, r *req) error {
		if !r.Actor.IsAdmin() {
			return models.Forbidden("administer the system")
		}
		return h(c, r)
	}
}

// manager wraps a page for those who may create records (CanManage):
// the ledger import, which supervisors may use within their units.
func manager(h handler) handler {
	return func(c *fiber.Ctx, r *req) error {
		if !r.Actor.CanManage() {
			return models.Forbidden("import items")
		}
		return h(c, r)
	}
}

// formError says why the service refused a form, in the user's language:
// the code's message from the catalog with the field named by the form's
// own label (labels maps a field to a message id), and what to do. The
// status is the error's. A failure of the server itself is returned as is,
// for the error page.
func (w *Console) formError(r *req, err error, labels map[string]string) (int, string, error) {
	status := statusOf(err)
	e := models.AsError(err)
	if status >= 500 || e == nil {
		return 0, "", err
	}
	args := map[string]any{}
	for k, v := range e.Args {
		args[k] = v
	}
	if id, ok := labels[e.Field]; ok {
		args["Field"] = r.L.T(id, nil)
	} else if e.Field != "" {
		args["Field"] = e.Field
	}
	msg := r.L.Detail(string(e.Code), "", args, e.Message)
	if e.Code == models.CodeNotFound && args["Field"] != nil {
		// The record a field names: the code's words do not say which.
		msg = r.L.T("web.form.not_found", args)
	}
	return status, r.L.T("web.form.refused", map[string]any{"Message": msg}), nil
}

// --- units ---

// unitNode is a unit in the tree, at its depth.
type unitNode struct {
	models.Unit
	Depth int
	// Indent is the depth the page draws (deeper trees draw at the
	// deepest indent), Pad the same as spaces for a select's options.
	Indent int
	Pad    string
}

// unitTree orders units depth first, children by code, each under its
// parent.
func unitTree(units map[string]models.Unit) []unitNode {
	children := map[string][]models.Unit{}
	for _, u := range units {
		parent := ""
		if u.ParentID != nil {
			if _, ok := units[*u.ParentID]; ok {
				parent = *u.ParentID
			}
		}
		children[parent] = append(children[parent], u)
	}
	for _, list := range children {
		sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
	}
	out := make([]unitNode, 0, len(units))
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		for _, u := range children[parent] {
			out = append(out, unitNode{Unit: u, Depth: depth, Indent: min(depth, 6), Pad: strings.Repeat("\u3000", depth)})
			walk(u.ID, depth+1)
		}
	}
	walk("", 0)
	return out
}

var unitLabels = map[string]string{"code": "web.units.code", "name": "web.units.name", "kind": "web.units.kind", "parent_id": "web.units.parent"}

func (w *Console) units(c *fiber.Ctx, r *req) error {
	return w.unitsPage(c, r, http.StatusOK, map[string]any{})
}

func (w *Console) unitsPage(c *fiber.Ctx, r *req, status int, data map[string]any) error {
	data["Tree"] = unitTree(w.unitNames(c.UserContext(), r.Actor))
	data["Kinds"] = models.UnitKinds
	if data["Form"] == nil {
		data["Form"] = map[string]string{"parent_id": c.Query("parent")}
	}
	return w.render(c, r, status, "admin_units", r.L.T("web.admin.units", nil), "admin", data)
}

// createUnit adds a unit under the chosen parent (items.CreateUnit, as
// POST /v1/units).
func (w *Console) createUnit(c *fiber.Ctx, r *req) error {
	in := items.UnitInput{Code: formText(c, "code"), Name: formText(c, "name"), Kind: formText(c, "kind")}
	if p := strings.TrimSpace(c.FormValue("parent_id")); p != "" {
		in.ParentID = &p
	}
	u, err := w.items.CreateUnit(c.UserContext(), r.Actor, in)
	if err != nil {
		status, msg, err := w.formError(r, err, unitLabels)
		if err != nil {
			return err
		}
		return w.unitsPage(c, r, status, map[string]any{"Error": msg, "Form": formValues(c, "code", "name", "kind", "parent_id")})
	}
	return c.Redirect("/admin/units?done=unit_created&id="+u.ID, http.StatusSeeOther)
}

// formText is a trimmed form value.
func formText(c *fiber.Ctx, name string) *string {
	v := strings.TrimSpace(c.FormValue(name))
	return &v
}

// formValues keeps what was typed, for a form shown again with its error.
func formValues(c *fiber.Ctx, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		out[n] = strings.TrimSpace(c.FormValue(n))
	}
	return out
}

// --- devices ---

// deviceRow is one device in the devices page.
type deviceRow struct {
	models.Device
	User string
}

func (w *Console) devices(c *fiber.Ctx, r *req) error {
	p := models.ListParams{Limit: 100, After: c.Query("after")}
	if p.After != "" && !models.ValidID(p.After) {
		return models.FieldError(models.CodeValidation, "after", "bad page")
	}
	page, err := w.auth.ListDevices(c.UserContext(), r.Actor, "", p)
	if err != nil {
		return err
	}
	names := w.userNames(c, r)
	rows := make([]deviceRow, len(page.Items))
	for i, d := range page.Items {
		rows[i] = deviceRow{Device: d, User: names[d.UserID]}
	}
	data := map[string]any{"Devices": rows}
	if page.Next != "" {
		data["Next"] = "/admin/devices?after=" + page.Next
	}
	return w.render(c, r, http.StatusOK, "admin_devices", r.L.T("web.admin.devices", nil), "admin", data)
}

// userNames are the usernames of every account the actor may see, by id.
func (w *Console) userNames(c *fiber.Ctx, r *req) map[string]string {
	out := map[string]string{}
	p := models.ListParams{Limit: models.MaxPageSize}
	for {
		page, err := w.items.ListUsers(c.UserContext(), r.Actor, items.UserFilter{}, p)
		if err != nil {
			return out
		}
		for _, u := range page.Items {
			out[u.ID] = u.Username
			if u.DisplayName != "" {
				out[u.ID] = u.DisplayName + "（" + u.Username + "）"
			}
		}
		if page.Next == "" {
			return out
		}
		p.After = page.Next
	}
}

// revokeDevice revokes a lost or stolen device (auth.RevokeDevice, as
// POST /v1/devices/{id}/revoke): its sessions end at once.
func (w *Console) revokeDevice(c *fiber.Ctx, r *req) error {
	if _, err := w.auth.RevokeDevice(c.UserContext(), r.Actor, c.Params("id")); err != nil {
		return err
	}
	return c.Redirect("/admin/devices?done=device_revoked", http.StatusSeeOther)
}

// --- audit ---

// auditPage lists the chained audit log a page at a time (audit.ListAudit,
// as GET /v1/audit) and the chain's verification (audit.VerifyAudit, as
// `fieldctl audit verify`).
func (w *Console) auditLog(c *fiber.Ctx, r *req) error {
	var p audit.Params
	p.Limit = 50
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return models.FieldError(models.CodeInvalidCursor, "after", "bad page")
		}
		p.After = n
	}
	action := c.Query("action")
	if action != "" && !contains(models.AuditActions, action) {
		return models.FieldError(models.CodeInvalidEnum, "action", "unknown action")
	}
	page, err := w.audit.ListAudit(c.UserContext(), r.Actor, audit.Filter{Action: action}, p)
	if err != nil {
		return err
	}
	rep, err := w.audit.VerifyAudit(c.UserContext())
	if err != nil {
		return err
	}
	data := map[string]any{"Entries": page.Items, "Report": rep, "Actions": models.AuditActions, "Action": action}
	if page.Next > 0 {
		q := map[string]string{}
		if action != "" {
			q["action"] = action
		}
		data["Next"] = "/admin/audit?" + encodeQuery(q, "after", strconv.FormatInt(page.Next, 10))
	}
	return w.render(c, r, http.StatusOK, "admin_audit", r.L.T("web.admin.audit", nil), "admin", data)
}
