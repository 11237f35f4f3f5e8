package web

import (
	"crypto/rand"
	"math/big"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
)

// The users page: accounts, created and changed with the services of
// POST and PATCH /v1/users.

var userLabels = map[string]string{"username": "web.users.username", "display_name": "web.users.display_name", "phone": "web.users.phone",
	"role": "web.users.role", "unit_id": "web.users.unit", "password": "web.users.password", "version": "web.users.version"}

// userRow is one account in the users page.
type userRow struct {
	models.User
	Unit string
}

func (w *Console) users(c *fiber.Ctx, r *req) error {
	return w.usersPage(c, r, http.StatusOK, map[string]any{})
}

func (w *Console) usersPage(c *fiber.Ctx, r *req, status int, data map[string]any) error {
	p := models.ListParams{Limit: 100, After: c.Query("after")}
	if p.After != "" && !models.ValidID(p.After) {
		return models.FieldError(models.CodeValidation, "after", "bad page")
	}
	page, err := w.items.ListUsers(c.UserContext(), r.Actor, items.UserFilter{}, p)
	if err != nil {
		return err
	}
	units := w.unitNames(c.UserContext(), r.Actor)
	rows := make([]userRow, len(page.Items))
	for i, u := range page.Items {
		rows[i] = userRow{User: u, Unit: units[u.UnitID].Name}
	}
	if page.Next != "" {
		data["Next"] = "/admin/users?after=" + page.Next
	}
	data["Users"], data["Roles"], data["Tree"] = rows, models.Roles, unitTree(units)
	data["MinPassword"] = items.MinPasswordLen
	if data["Form"] == nil {
		data["Form"] = map[string]string{"must_change_password": "true"}
	}
	return w.render(c, r, status, "admin_users", r.L.T("web.admin.users", nil), "admin", data)
}

// createUser adds an account (items.CreateUser, as POST /v1/users); the
// box "must change" is ticked by default, so that the password the
// administrator typed is only a temporary one.
func (w *Console) createUser(c *fiber.Ctx, r *req) error {
	must := c.FormValue("must_change_password") == "true"
	pw := c.FormValue("password")
	in := items.UserInput{Username: formText(c, "username"), DisplayName: formText(c, "display_name"), Phone: formText(c, "phone"),
		Role: formText(c, "role"), UnitID: formText(c, "unit_id"), Password: &pw, MustChangePassword: &must}
	u, err := w.items.CreateUser(c.UserContext(), r.Actor, in)
	if err != nil {
		status, msg, err := w.formError(r, err, userLabels)
		if err != nil {
			return err
		}
		form := formValues(c, "username", "display_name", "phone", "role", "unit_id")
		if must {
			form["must_change_password"] = "true"
		}
		return w.usersPage(c, r, status, map[string]any{"Error": msg, "Form": form})
	}
	return c.Redirect("/admin/users?done=user_created&id="+u.ID, http.StatusSeeOther)
}

// changeUser applies one action of the users page to an account, with
// items.UpdateUser (PATCH /v1/users/{id}) at the version the page showed:
// disable, enable, reset the password (a temporary one, shown once, that
// must be changed at the next sign-in) or ask for a change at the next
// sign-in. Disabling and resetting end the user's sessions (the service).
func (w *Console) changeUser(c *fiber.Ctx, r *req) error {
	version, err := strconv.ParseInt(c.FormValue("version"), 10, 64)
	if err != nil {
		return models.FieldError(models.CodeRequired, "version", "the form has no version; reload the page")
	}
	yes, no := true, false
	in := items.UserInput{Version: &version}
	var temporary string
	switch c.FormValue("action") {
	case "disable":
		in.Disabled = &yes
	case "enable":
		in.Disabled = &no
	case "reset":
		temporary = temporaryPassword()
		in.Password, in.MustChangePassword = &temporary, &yes
	case "force":
		in.MustChangePassword = &yes
	default:
		return models.FieldError(models.CodeInvalidEnum, "action", "unknown action")
	}
	u, err := w.items.UpdateUser(c.UserContext(), r.Actor, c.Params("id"), in)
	if err != nil {
		if models.ErrorCode(err) == models.CodeNotFound {
			return err
		}
		status, msg, err := w.formError(r, err, userLabels)
		if err != nil {
			return err
		}
		return w.usersPage(c, r, status, map[string]any{"Error": msg})
	}
	if temporary != "" {
		// Shown on this answer only: it is kept nowhere, and the page is
		// not cached (no-store).
		return w.usersPage(c, r, http.StatusOK, map[string]any{"Temporary": temporary, "TemporaryFor": u.Username})
	}
	return c.Redirect("/admin/users?done=user_"+c.FormValue("action")+"&id="+u.ID, http.StatusSeeOther)
}

// temporaryPassword is 14 characters from an alphabet without look-alikes
// (no 0/O, 1/l/I), to be read out or typed from a screen.
func temporaryPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
	b := make([]byte, 14)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
