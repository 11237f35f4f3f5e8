package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/models"
)

// catalog is the one message catalog (api/i18n), built once.
var catalog = i18n.MustNew()

// localizer speaks the language the request's Accept-Language asks for:
// Chinese unless it asks for English.
func localizer(c *fiber.Ctx) *i18n.Localizer {
	return catalog.In(i18n.Match(c.Get(fiber.HeaderAcceptLanguage)))
}

// message renders an error code's message ("code.<code>") in l's
// language, with the field (by its label, "field.<name>", where the
// catalog has one) and the error's specifics as the template's data.
// English keeps the service's own words (fallback), which carry every
// specific, unless the error carries Args for the catalog's template.
func message(l *i18n.Localizer, code models.Code, field string, args map[string]any, fallback string) string {
	id := "code." + string(code)
	if !catalog.Has(l.Lang(), id) || (!l.IsZH() && len(args) == 0 && fallback != "") {
		return fallback
	}
	data := make(map[string]any, len(args)+1)
	for k, v := range args {
		data[k] = v
	}
	if field != "" {
		data["Field"] = field
		if catalog.Has(l.Lang(), "field."+field) {
			data["Field"] = l.T("field."+field, nil)
		}
	}
	return l.Code(string(code), data)
}

// flagExplanation explains a flag with its measured value in l's language
// (message "flag.<code>"); a flag the catalog lacks keeps its own detail.
func flagExplanation(l *i18n.Localizer) func(models.Flag) string {
	return func(f models.Flag) string {
		if !catalog.Has(l.Lang(), "flag."+f.Code) {
			return f.Detail
		}
		return l.T("flag."+f.Code, map[string]any{"Value": f.Value, "Unit": f.Unit})
	}
}
