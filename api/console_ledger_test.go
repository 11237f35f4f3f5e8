package api_test

import (
	"encoding/csv"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

var (
	ledgerRowRE  = regexp.MustCompile(`<tr[^>]*><td><a href="/items/([0-9a-f-]{36})">`)
	ledgerNextRE = regexp.MustCompile(`<a class="button" href="([^"]+)" id="next-page">`)
)

// TestConsoleLedgerSort sorts the console's ledger by a heading and follows
// its pages: every item once, in the order of GET /v1/items with the same
// sort (the one service behind both), and the CSV download in that order.
func TestConsoleLedgerSort(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			loadSortData(e)
			// More than one page of 50.
			for i := range 30 {
				e.item(fmt.Sprintf("T-%02d", i), "补充事项", "扬尘", e.fx.countyA, e.now.AddDate(0, 0, 5+i%3), models.SupervisionDaily)
			}
			c := consoleOn(e)
			c.signIn("admin")
			first := c.get("/ledger")
			// The deadline heading sorts ascending, then descending.
			if !strings.Contains(first.Body, `<a class="sort" href="/ledger?sort=deadline">`) {
				t.Fatalf("no deadline heading link on the ledger:\n%.2000s", first.Body)
			}
			asc := c.get("/ledger?sort=deadline")
			if !strings.Contains(asc.Body, `aria-sort="ascending"><a class="sort" href="/ledger?sort=-deadline">`) {
				t.Errorf("the ledger sorted by deadline does not offer the reverse:\n%.2000s", asc.Body)
			}
			for _, sort := range []string{"-deadline", "status", "-code"} {
				var got []string
				path, pages := "/ledger?sort="+url.QueryEscape(sort), 0
				for path != "" && pages < 5 {
					p := c.get(path)
					if p.Status != 200 {
						t.Fatalf("%s: %d\n%.2000s", path, p.Status, p.Body)
					}
					for _, m := range ledgerRowRE.FindAllStringSubmatch(p.Body, -1) {
						got = append(got, m[1])
					}
					path, pages = "", pages+1
					if m := ledgerNextRE.FindStringSubmatch(p.Body); m != nil {
						path = html.UnescapeString(m[1])
						if !strings.Contains(path, "sort="+url.QueryEscape(sort)) {
							t.Errorf("the next page %s forgets the sort", path)
						}
					}
				}
				var want, wantCodes []string
				for _, it := range e.must(200, "admin", "GET", "/v1/items?limit=500&sort="+url.QueryEscape(sort), nil)["items"].([]any) {
					want = append(want, it.(map[string]any)["id"].(string))
					wantCodes = append(wantCodes, it.(map[string]any)["code"].(string))
				}
				if pages != 2 || !slices.Equal(got, want) {
					t.Errorf("ledger sorted by %s, %d pages:\n got %v\nwant %v", sort, pages, got, want)
				}
				// The download is the same view, in the same order.
				rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(c.get("/ledger.csv?sort="+url.QueryEscape(sort)).Body, "\ufeff"))).ReadAll()
				if err != nil || len(rows) < 2 {
					t.Fatalf("the CSV sorted by %s: %v", sort, err)
				}
				var codes []string
				for _, r := range rows[1:] {
					codes = append(codes, r[1])
				}
				if !slices.Equal(codes, wantCodes) {
					t.Errorf("the CSV sorted by %s:\n got %v\nwant %v", sort, codes, wantCodes)
				}
			}
		})
	}
}
