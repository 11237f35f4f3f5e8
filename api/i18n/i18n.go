// Package i18n is fieldsync's one message catalog: every text a person
// reads — API error details, flag explanations, console pages, reports,
// fieldctl's output — is looked up here by a stable message id, in zh-CN
// first and English second.
//
// Messages live in locales/<area>.<lang>.json (go-i18n's format), one file
// per area and language, so that areas can grow without touching each
// other's files: codes (the error codes of models/codes.go), flags (the
// evidence flags), web (the console's own words), cli (the admin CLI
// fieldctl's own words). Every id must exist in both languages; the
// package's tests fail when one is missing.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.json
var locales embed.FS

// Languages the catalog is complete in, the default first.
var Languages = []language.Tag{language.MustParse("zh-CN"), language.English}

// Default is the language used when a request names none we have.
var Default = Languages[0]

// Catalog holds every message in every language. It is safe for
// concurrent use once built.
type Catalog struct {
	bundle *i18n.Bundle
	// ids lists the message ids each language has, for Missing.
	ids map[language.Tag]map[string]bool
}

// New loads the embedded catalog.
func New() (*Catalog, error) {
	b := i18n.NewBundle(Default)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &Catalog{bundle: b, ids: map[language.Tag]map[string]bool{}}
	files, err := fs.Glob(locales, "locales/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		data, err := locales.ReadFile(name)
		if err != nil {
			return nil, err
		}
		mf, err := b.ParseMessageFileBytes(data, path.Base(name))
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		if !supported(mf.Tag) {
			return nil, fmt.Errorf("i18n: %s: language %s is not one of %v", name, mf.Tag, Languages)
		}
		if c.ids[mf.Tag] == nil {
			c.ids[mf.Tag] = map[string]bool{}
		}
		for _, m := range mf.Messages {
			c.ids[mf.Tag][m.ID] = true
		}
	}
	return c, nil
}

// MustNew is New for package-level catalogs; the embedded files are part
// of the binary, so an error is a build defect.
func MustNew() *Catalog {
	c, err := New()
	if err != nil {
		panic(err)
	}
	return c
}

func supported(t language.Tag) bool {
	for _, l := range Languages {
		if l == t {
			return true
		}
	}
	return false
}

// Has reports whether id has a message in lang.
func (c *Catalog) Has(lang language.Tag, id string) bool { return c.ids[lang][id] }

// Missing lists, sorted, the ids that some language has and lang lacks.
func (c *Catalog) Missing(lang language.Tag) []string {
	var out []string
	seen := map[string]bool{}
	for _, ids := range c.ids {
		for id := range ids {
			if !seen[id] && !c.ids[lang][id] {
				out = append(out, id)
			}
			seen[id] = true
		}
	}
	sort.Strings(out)
	return out
}

// Match picks the catalog language for an Accept-Language header (or a
// user's saved preference such as "en" or "zh-CN"); anything unknown or
// empty gives the default, Chinese.
func Match(accept string) language.Tag {
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Default
	}
	return Languages[i]
}

var matcher = language.NewMatcher(Languages)

// Localizer renders messages in one language.
type Localizer struct {
	cat  *Catalog
	lang language.Tag
	loc  *i18n.Localizer
}

// In returns a localizer for lang (one of Languages; others fall back to
// the default).
func (c *Catalog) In(lang language.Tag) *Localizer {
	if !supported(lang) {
		lang = Default
	}
	return &Localizer{cat: c, lang: lang, loc: i18n.NewLocalizer(c.bundle, lang.String())}
}

// Lang is the localizer's language.
func (l *Localizer) Lang() language.Tag { return l.lang }

// T renders message id with data (a map or struct for the message's
// {{.Field}} placeholders). A missing id renders as the id itself, so a
// page never breaks on a catalog gap; the catalog's tests keep gaps out.
func (l *Localizer) T(id string, data any) string {
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil || s == "" {
		return id
	}
	return s
}

// Code renders the message of an error code (message id "code.<code>").
func (l *Localizer) Code(code string, data any) string { return l.T("code."+code, data) }

// Detail renders an error's message: its code's ("code.<code>") in l's
// language, with the field (by its label, "field.<name>", where the
// catalog has one) and the error's specifics as the template's data.
// English keeps the service's own words (fallback), which carry every
// specific, unless the error carries args for the catalog's template. The
// API's problem details, sync push results, import reports and the
// console all say an error this way.
func (l *Localizer) Detail(code, field string, args map[string]any, fallback string) string {
	id := "code." + code
	if !l.cat.Has(l.lang, id) || (!l.IsZH() && len(args) == 0 && fallback != "") {
		return fallback
	}
	data := make(map[string]any, len(args)+1)
	for k, v := range args {
		data[k] = v
	}
	if field != "" {
		data["Field"] = field
		if l.cat.Has(l.lang, "field."+field) {
			data["Field"] = l.T("field."+field, nil)
		}
	}
	return l.Code(code, data)
}

// IsZH reports whether the localizer speaks Chinese, for the few places
// (number and date formats) that differ by more than words.
func (l *Localizer) IsZH() bool { return strings.HasPrefix(l.lang.String(), "zh") }
