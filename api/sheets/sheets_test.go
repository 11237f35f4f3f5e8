package sheets

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/fieldsync/fieldsync/api/i18n"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// TestEveryValueHasALabel: a status, level, conclusion or decision kind
// added to models without a Chinese label would reach the ledger as its
// API spelling.
func TestEveryValueHasALabel(t *testing.T) {
	for _, list := range [][]string{models.ItemMachine.Statuses(), models.SupervisionLevels, models.Conclusions,
		models.DecisionKinds, {reporting.NoteKindNote, reporting.NoteKindVerification}, models.ReviewCadences,
		{models.ExtensionPending, models.ExtensionApproved, models.ExtensionRefused}} {
		for _, v := range list {
			if label(v) == v {
				t.Errorf("%s has no label", v)
			}
		}
	}
	for _, l := range models.SupervisionLevels {
		if level(label(l)) != l || level(l) != l {
			t.Errorf("level %s does not read back", l)
		}
	}
}

func TestColumnKeysAreUnique(t *testing.T) {
	keys, headers := map[string]bool{}, map[string]bool{}
	for _, c := range Columns {
		if keys[c.Key] || headers[c.Header] || headers[c.Key] || keys[c.Header] {
			t.Errorf("column %s / %s is not unique", c.Key, c.Header)
		}
		keys[c.Key], headers[c.Header] = true, true
		if c.Required && c.set == nil {
			t.Errorf("column %s is required but not imported", c.Key)
		}
	}
}

func TestParseDeadline(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	endOfDay := time.Date(2026, 12, 31, 23, 59, 59, 0, loc)
	for in, want := range map[string]time.Time{
		"2026-12-31":           endOfDay,
		"2026/12/31":           endOfDay,
		"2026.12.31":           endOfDay,
		"2026年12月31日":          endOfDay,
		"46387":                endOfDay, // an Excel date cell
		"46387.75":             time.Date(2026, 12, 31, 18, 0, 0, 0, loc),
		"46387.7083449074":     time.Date(2026, 12, 31, 17, 0, 1, 0, loc),
		"2026-12-31 18:00":     time.Date(2026, 12, 31, 18, 0, 0, 0, loc),
		"2026-12-31 18:00:30":  time.Date(2026, 12, 31, 18, 0, 30, 0, loc),
		"2026-12-31T10:00:00Z": time.Date(2026, 12, 31, 10, 0, 0, 0, time.UTC),
	} {
		got, err := parseDateTime(in, loc)
		if err != nil || !got.EndOfDay(loc).Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"明年", "31/12/2026", "-5", "0", "2026-02-30"} {
		_, err := parseDateTime(in, loc)
		if models.ErrorCode(err) != models.CodeInvalidDate {
			t.Errorf("%q: %v, want invalid_date", in, err)
		}
		// The message says in words which forms are read, never with Go's
		// layout strings.
		if msg := err.Error(); !strings.Contains(msg, "2026-12-31") || strings.Contains(msg, "2006") {
			t.Errorf("%q: message %q", in, msg)
		}
		// In Chinese too the message quotes the cell and names the forms a
		// sheet may use, not the API's (RFC 3339 with an offset).
		e := models.AsError(err)
		for _, lang := range []language.Tag{language.MustParse("zh-CN"), language.English} {
			msg := i18n.MustNew().In(lang).Detail(string(e.Code), "deadline", e.Args, e.Message)
			if !strings.Contains(msg, "“"+in+"”") || !strings.Contains(msg, "2026年12月31日") || strings.Contains(msg, "+08:00") {
				t.Errorf("%q in %s: %q", in, lang, msg)
			}
		}
	}
	// An API date (no sheet forms) keeps the API's wording.
	if msg := i18n.MustNew().In(language.MustParse("zh-CN")).Detail(string(models.CodeInvalidDate), "deadline", nil, ""); !strings.Contains(msg, "+08:00") {
		t.Errorf("API date message: %q", msg)
	}
}

func TestDefuse(t *testing.T) {
	for in, want := range map[string]string{
		"=SUM(A1:A9)": "'=SUM(A1:A9)", "+86 138": "'+86 138", "-5": "'-5", "@cmd": "'@cmd", "\tx": "'\tx",
		"整改": "整改", "1. 截污": "1. 截污", "": "",
	} {
		if got := defuse(in); got != want {
			t.Errorf("defuse(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReadItemsCSV: a CSV ledger (with Excel's byte order mark) reads as
// the XLSX one does; one saved in GBK is refused as a file, saying how to
// save it.
func TestReadItemsCSV(t *testing.T) {
	loc := time.UTC
	good := "\ufeff台账\n问题编号,问题名称,问题来源,问题类别,整改目标,整改措施,责任单位,第一责任人,整改时限\nA-1,标题,督察,水,达标,截污,JC,县长,长期坚持\n"
	imp, err := ReadItemsCSV(strings.NewReader(good), loc)
	if err != nil || len(imp.Rows) != 1 || imp.Rows[0].Item.ReviewCadence == nil || *imp.Rows[0].Item.ReviewCadence != models.CadenceQuarterly {
		t.Fatalf("good CSV: %v %+v", err, imp.Rows)
	}
	gbk := []byte("\xce\xca\xcc\xe2\xb1\xe0\xba\xc5,x\n") // 问题编号 in GBK
	if _, err := ReadItemsCSV(strings.NewReader(string(gbk)), loc); err == nil || !strings.Contains(err.Error(), "CSV UTF-8") {
		t.Errorf("GBK CSV: %v", err)
	}
}
