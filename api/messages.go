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

// message is l.Detail for a domain error's code.
func message(l *i18n.Localizer, code models.Code, field string, args map[string]any, fallback string) string {
	return l.Detail(string(code), field, args, fallback)
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
