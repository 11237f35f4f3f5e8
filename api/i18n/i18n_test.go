package i18n

import (
	"testing"

	"golang.org/x/text/language"
)

var zhCN = language.MustParse("zh-CN")

// TestCatalogComplete fails when a message id exists in one language and
// not in the other.
func TestCatalogComplete(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages {
		if missing := c.Missing(lang); len(missing) > 0 {
			t.Errorf("%s lacks %d messages: %v", lang, len(missing), missing)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   language.Tag
	}{
		{"", zhCN},
		{"zh-CN,zh;q=0.9,en;q=0.8", zhCN},
		{"zh", zhCN},
		{"en-US,en;q=0.9", language.English},
		{"en", language.English},
		{"fr-FR", zhCN},
		{"!!garbage", zhCN},
	} {
		if got := Match(tc.accept); got != tc.want {
			t.Errorf("Match(%q) = %s, want %s", tc.accept, got, tc.want)
		}
	}
}

func TestLocalize(t *testing.T) {
	c := MustNew()
	if got := c.In(zhCN).T("app.name", nil); got != "督察整改现场核查系统" {
		t.Errorf("zh app.name = %q", got)
	}
	if got := c.In(language.English).T("app.name", nil); got == "app.name" || got == "督察整改现场核查系统" {
		t.Errorf("en app.name = %q", got)
	}
	if got := c.In(language.English).T("no.such.id", nil); got != "no.such.id" {
		t.Errorf("missing id renders %q, want the id", got)
	}
	if got := c.In(language.French).Lang(); got != zhCN {
		t.Errorf("unsupported language falls back to %s", got)
	}
}
