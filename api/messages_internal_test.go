package api

import (
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/evidence"
)

// TestEveryCodeAndFlagHasMessages fails when an error code of
// models/codes.go (the status machines' transition codes included) or an
// evidence flag lacks a message in either language, or when a message
// does not render.
func TestEveryCodeAndFlagHasMessages(t *testing.T) {
	for _, lang := range i18n.Languages {
		l := catalog.In(lang)
		for _, c := range models.AllCodes() {
			id := "code." + string(c)
			if !catalog.Has(lang, id) {
				t.Errorf("%s: no message %s", lang, id)
				continue
			}
			got := l.T(id, map[string]any{"Field": "title"})
			if got == id || strings.Contains(got, "<no value>") || strings.Contains(got, "{{") {
				t.Errorf("%s: %s renders %q", lang, id, got)
			}
		}
		for _, f := range evidence.FlagCodes {
			id := "flag." + f
			if !catalog.Has(lang, id) {
				t.Errorf("%s: no message %s", lang, id)
				continue
			}
			if got := l.T(id, map[string]any{"Value": 12.5, "Unit": "m"}); got == id || strings.Contains(got, "<no value>") {
				t.Errorf("%s: %s renders %q", lang, id, got)
			}
		}
	}
}

// TestMessageSpecifics: the Chinese message carries the error's
// specifics and its field by its label; English keeps the service's own
// words unless the error has specifics for the catalog.
func TestMessageSpecifics(t *testing.T) {
	zh, en := catalog.In(i18n.Default), catalog.In(i18n.Languages[1])
	e := models.FieldError(models.CodeItemCodeTaken, "code", "item code %q is taken", "DC-1").With("Code", "DC-1")
	if got := message(zh, e.Code, e.Field, e.Args, e.Message); got != "问题编号已被使用：DC-1" {
		t.Errorf("zh: %q", got)
	}
	if got := message(en, e.Code, e.Field, e.Args, e.Message); got != "The item code is taken: DC-1" {
		t.Errorf("en: %q", got)
	}
	r := models.FieldError(models.CodeRequired, "title", "title is required")
	if got := message(zh, r.Code, r.Field, r.Args, r.Message); got != "缺少必填项（问题名称）" {
		t.Errorf("zh required: %q", got)
	}
	if got := message(en, r.Code, r.Field, r.Args, r.Message); got != "title is required" {
		t.Errorf("en required: %q", got)
	}
}
