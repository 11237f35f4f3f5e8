package pack_test

import (
	stdhtml "html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/pack"
)

// TestReportChineseAndLocal: report.html shows its times in the writer's
// zone with the offset, explains each flag with the words it is given
// (the API passes the message catalog's Chinese) and never with the
// flag's English detail, and carries no English headings.
func TestReportChineseAndLocal(t *testing.T) {
	f := newFixture(t)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	f.writer.Zone = shanghai
	f.writer.Explain = func(fl models.Flag) string { return "解释:" + fl.Code }
	html := stdhtml.UnescapeString(string(readZipEntry(t, open(t, f.write(t)), pack.ReportName)))
	if !strings.Contains(html, t0.In(shanghai).Format("2006-01-02 15:04:05")+"（UTC+08:00）") {
		t.Error("the generation time is not shown in Asia/Shanghai")
	}
	if strings.Contains(html, " UTC<") || strings.Contains(html, "（UTC+00:00）") {
		t.Error("a time is shown in UTC")
	}
	var flags int
	for _, e := range f.pack.Set.Evidence {
		for _, fl := range e.Flags {
			flags++
			if !strings.Contains(html, "解释:"+fl.Code) {
				t.Errorf("flag %s is not explained", fl.Code)
			}
			if fl.Detail != "" && strings.Contains(html, fl.Detail) {
				t.Errorf("flag %s shows its English detail %q", fl.Code, fl.Detail)
			}
		}
	}
	if flags == 0 {
		t.Fatal("the fixture has no flags")
	}
	// Headings and section titles are Chinese: no English word of three
	// letters or more outside tags, styles, codes and the item's data.
	text := regexp.MustCompile(`(?s)<style.*?</style>|<[^>]*>|<code>.*?</code>`).ReplaceAllString(html, " ")
	for _, w := range []string{"Summary", "Timeline", "Evidence", "Decision trail", "Units and people"} {
		if strings.Contains(text, w) {
			t.Errorf("report.html has the English %q", w)
		}
	}
}
