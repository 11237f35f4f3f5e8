package web

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
)

// Every user changes their own password here, with the rules of POST
// /v1/me/password (items.ChangeOwnPassword): the current password, a new
// one of the minimum length; the user's other sessions end, this one
// stays. A user whose password an administrator reset is sent here before
// anything else (see page).

var passwordLabels = map[string]string{"current_password": "web.password.current", "new_password": "web.password.new"}

// allowedBeforePasswordChange are the console paths a user who must change
// their password may still use: this page, signing out and the language.
var allowedBeforePasswordChange = map[string]bool{"/password": true, "/logout": true, "/lang": true}

func (w *Console) passwordForm(c *fiber.Ctx, r *req) error {
	return w.passwordPage(c, r, http.StatusOK, "")
}

func (w *Console) passwordPage(c *fiber.Ctx, r *req, status int, msg string) error {
	return w.render(c, r, status, "password", r.L.T("web.password.title", nil), "password", map[string]any{
		"Error": msg, "Forced": r.Actor.MustChangePassword, "Min": items.MinPasswordLen, "Next": safeNext(c.Query("next", c.FormValue("next")))})
}

func (w *Console) changePassword(c *fiber.Ctx, r *req) error {
	cur, next := c.FormValue("current_password"), c.FormValue("new_password")
	if next != c.FormValue("new_password_again") {
		return w.passwordPage(c, r, http.StatusBadRequest, r.L.T("web.password.mismatch", nil))
	}
	err := w.items.ChangeOwnPassword(c.UserContext(), r.Actor, items.PasswordChange{CurrentPassword: &cur, NewPassword: &next})
	if err != nil {
		status, msg, err := w.formError(r, err, passwordLabels)
		if err != nil {
			return err
		}
		return w.passwordPage(c, r, status, msg)
	}
	target := safeNext(c.FormValue("next"))
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return c.Redirect(target+sep+"done=password_changed", http.StatusSeeOther)
}

// mustChange stops a user whose password an administrator reset at the
// change-password page: a page is redirected there, a form refused with
// password_change_required, as the API refuses its requests.
func (w *Console) mustChange(c *fiber.Ctx, r *req) (bool, error) {
	if !r.Actor.MustChangePassword || allowedBeforePasswordChange[c.Path()] {
		return false, nil
	}
	if c.Method() == fiber.MethodGet {
		return true, c.Redirect("/password?next="+urlQueryEscape(c.OriginalURL()), http.StatusSeeOther)
	}
	return true, w.errorPage(c, r, models.Errorf(models.CodePasswordChangeRequired, "choose a new password first"))
}
