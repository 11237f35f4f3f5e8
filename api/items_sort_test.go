package api_test

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// loadSortData adds 24 items to the fixture whose deadlines, statuses,
// levels, units and categories repeat (so ties are broken by id) and whose
// deadlines fall as the items are created (so a sort by deadline is not
// the id order).
func loadSortData(e *env) {
	f := e.fx
	units := []models.Unit{f.countyA, f.deptA, f.countyB}
	statuses := []string{models.ItemNotStarted, models.ItemInProgress, models.ItemPendingAcceptance, models.ItemAccepted}
	cats := []string{"扬尘", "水环境", "固废", "Noise"}
	for i := range 24 {
		// Four deadlines, one of them with microseconds, each shared.
		deadline := e.now.AddDate(0, 0, 40-10*(i%4)).Add(time.Duration(i%4) * 1234567 * time.Microsecond)
		it := e.item(fmt.Sprintf("S-%02d", 24-i), fmt.Sprintf("标题%d", i%5), cats[i%4], units[i%3], deadline, models.SupervisionLevels[i%len(models.SupervisionLevels)])
		e.setItem(it.ID, func(it *models.RectificationItem) { it.Status = statuses[i%len(statuses)] })
	}
}

// sortKey is what an item is sorted on, for the sorts whose order does
// not depend on the database's collation (times, ASCII values, ids).
func sortKey(sort string, it map[string]any) (string, bool) {
	switch strings.TrimPrefix(sort, "-") {
	case "deadline":
		t, err := time.Parse(time.RFC3339Nano, it["deadline"].(string))
		if err != nil {
			panic(err)
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000"), true
	case "code", "status", "supervision_level":
		return it[strings.TrimPrefix(sort, "-")].(string), true
	case "unit":
		return it["responsible_unit_id"].(string), true
	}
	return fmt.Sprint(it[strings.TrimPrefix(sort, "-")]), false
}

// TestItemListSortAcrossPages pages through GET /v1/items sorted by each
// column, both ways, four items a page, and gets every item once, in the
// order the database gives the whole list in one page — by (column, id),
// which the test checks itself where the order needs no collation.
func TestItemListSortAcrossPages(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			loadSortData(e)
			list := func(query string) ([]map[string]any, string) {
				t.Helper()
				page := e.must(200, "admin", "GET", "/v1/items?"+query, nil)
				var out []map[string]any
				for _, it := range page["items"].([]any) {
					out = append(out, it.(map[string]any))
				}
				next, _ := page["next_page_token"].(string)
				return out, next
			}
			ids := func(items []map[string]any) []string {
				var out []string
				for _, it := range items {
					out = append(out, it["id"].(string))
				}
				return out
			}
			all, _ := list("limit=500")
			if len(all) != 26 {
				t.Fatalf("%d items, want 26", len(all))
			}
			var sorts []string
			for _, s := range models.ItemSorts {
				sorts = append(sorts, s, "-"+s)
			}
			for _, s := range sorts {
				whole, _ := list("limit=500&sort=" + url.QueryEscape(s))
				var paged []map[string]any
				token, pages := "", 0
				for {
					q := "limit=4&sort=" + url.QueryEscape(s)
					if token != "" {
						q += "&page_token=" + url.QueryEscape(token)
					}
					items, next := list(q)
					paged, token, pages = append(paged, items...), next, pages+1
					if token == "" || pages > 10 {
						break
					}
				}
				if !slices.Equal(ids(paged), ids(whole)) {
					t.Errorf("sort=%s: paged %v\nwhole %v", s, ids(paged), ids(whole))
				}
				got := slices.Clone(ids(paged))
				slices.Sort(got)
				want := ids(all)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("sort=%s: %d items paged, not every item once", s, len(paged))
				}
				desc := strings.HasPrefix(s, "-")
				for i := 1; i < len(whole); i++ {
					a, b := whole[i-1], whole[i]
					ka, exact := sortKey(s, a)
					kb, _ := sortKey(s, b)
					if desc {
						a, b, ka, kb = b, a, kb, ka
					}
					if exact && ka > kb || ka == kb && a["id"].(string) > b["id"].(string) {
						t.Errorf("sort=%s: %s (%s) before %s (%s)", s, whole[i-1]["code"], ka, whole[i]["code"], kb)
					}
				}
			}
			byDeadline, _ := list("limit=500&sort=deadline")
			if slices.Equal(ids(byDeadline), ids(all)) {
				t.Error("sorting by deadline gave the id order: the data does not test the sort")
			}

			// Bad input.
			_, token := list("limit=4&sort=deadline")
			raw, err := base64.RawURLEncoding.DecodeString(token)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(string(raw), ":")
			forged := base64.RawURLEncoding.EncodeToString([]byte("deadline:" + base64.RawURLEncoding.EncodeToString([]byte("tomorrow")) + ":" + parts[2]))
			for query, code := range map[string]string{
				"sort=due":                           "invalid_enum",
				"sort=deadline,id":                   "invalid_enum",
				"sort=code&page_token=" + token:      "invalid_page_cursor", // another sort's cursor
				"sort=-deadline&page_token=" + token: "invalid_page_cursor",
				"page_token=" + token:                "invalid_page_cursor", // a sorted cursor on the id order
				"sort=deadline&page_token=" + forged: "invalid_page_cursor",
				"sort=deadline&page_token=" + base64.RawURLEncoding.EncodeToString([]byte(all[0]["id"].(string))): "invalid_page_cursor",
			} {
				if r := e.do("admin", "GET", "/v1/items?"+query, nil); r.Status != 400 || r.code(t) != code {
					t.Errorf("GET /v1/items?%s: %d %s, want 400 %s", query, r.Status, r.Body, code)
				}
			}
		})
	}
}
