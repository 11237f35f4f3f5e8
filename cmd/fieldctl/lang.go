package main

import (
	"errors"
	"strings"

	"golang.org/x/text/language"

	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/cmd/internal/config"
	"github.com/fieldsync/fieldsync/models"
)

// catalog is the one message catalog (api/i18n), built once; fieldctl's
// own words are its cli area (locales/cli.<lang>.json).
var catalog = i18n.MustNew()

// say speaks fieldctl's language: Chinese unless -lang / FIELDSYNC_LANG
// asks for English. run sets it, as it sets zone.
var say = catalog.In(i18n.Default)

// tr renders the cli message "cli."+id in fieldctl's language, with the
// template's data given as name, value pairs.
func tr(id string, kv ...any) string {
	var data map[string]any
	if len(kv) > 0 {
		data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			data[kv[i].(string)] = kv[i+1]
		}
	}
	return say.T("cli."+id, data)
}

// fail is an error whose text is the cli message id.
func fail(id string, kv ...any) error { return errors.New(tr(id, kv...)) }

// earlyLang is the language asked for when the configuration could not be
// read (its -h, or a bad setting): the -lang flag among the flags before
// the command, else FIELDSYNC_LANG; anything unreadable is Chinese.
func earlyLang(args []string, getenv func(string) string) language.Tag {
	v, ok := config.FlagValue(args, "lang")
	if !ok {
		v = getenv("FIELDSYNC_LANG")
	}
	l, _ := config.ParseLang(v)
	return l
}

// localized is an error as a person reads it, keeping the error it
// renders for errors.Is and errors.As.
type localized struct {
	err  error
	text string
}

func (e *localized) Error() string { return e.text }
func (e *localized) Unwrap() error { return e.err }

// localize renders err in fieldctl's language: a domain error keeps its
// code, and its words come from the catalog's codes area (as the API's
// problem details say it), with what fieldctl put before it.
func localize(err error) error {
	e := models.AsError(err)
	if e == nil {
		return err
	}
	text, own := err.Error(), e.Error()
	i := strings.LastIndex(text, own)
	if i < 0 {
		return err
	}
	words := describe(e)
	if e.Err != nil {
		words += ": " + e.Err.Error()
	}
	return &localized{err: err, text: text[:i] + string(e.Code) + ": " + words + text[i+len(own):]}
}

// describe is a domain error's words in fieldctl's language, without its
// code.
func describe(e *models.Error) string { return say.Detail(string(e.Code), e.Field, e.Args, e.Message) }
