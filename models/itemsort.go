package models

import (
	"encoding/base64"
	"strings"
	"time"
)

// ItemSorts are the orders an item list may take besides entry order (by
// id, the default): each names a column of items, and a leading "-"
// reverses it. Every one of these columns is NOT NULL (an open-ended item
// carries the date of its next review as its deadline), so there is no
// NULL to place; ties are broken by id, in the same direction.
var ItemSorts = []string{"code", "title", "deadline", "status", "supervision_level", "unit", "category", "area"}

var itemSortColumns = map[string]Column{
	"code": "code", "title": "title", "deadline": "deadline", "status": "status",
	"supervision_level": "supervision_level", "unit": "responsible_unit_id",
	"category": "category", "area": "area",
}

// ValidItemSort reports whether s is empty (entry order) or one of
// ItemSorts, with or without a leading "-".
func ValidItemSort(s string) bool {
	_, ok := itemSortColumns[strings.TrimPrefix(s, "-")]
	return s == "" || ok
}

// PageItems reads one page of the items matching conds in tx, in the order
// sort names (ItemSorts; empty for entry order). A sorted list is a real
// keyset over (sort column, id): its cursor (Page.Next, taken back as
// ListParams.After) carries the sort, the column's value and the id of
// the last item shown, so paging through it yields every item once, in
// order, however many pages it spans. A cursor made for another sort is
// invalid_page_cursor.
func PageItems(tx Tx, conds []Cond, sort string, p ListParams) (Page[RectificationItem], error) {
	if sort == "" {
		return PageOf[RectificationItem](tx, conds, p)
	}
	key, desc := strings.CutPrefix(sort, "-")
	col, ok := itemSortColumns[key]
	if !ok {
		return Page[RectificationItem]{}, FieldError(CodeInvalidEnum, "sort", "sort must be one of %s, optionally with a leading -", strings.Join(ItemSorts, ", "))
	}
	limit, err := pageLimit(p)
	if err != nil {
		return Page[RectificationItem]{}, err
	}
	dir, after := "", OpGt
	if desc {
		dir, after = " DESC", OpLt
	}
	where := conds
	if p.After != "" {
		v, id, ok := parseItemCursor(sort, string(col), p.After)
		if !ok {
			return Page[RectificationItem]{}, FieldError(CodeInvalidCursor, "page_token", "the page cursor is not valid for this sort")
		}
		// (col, id) after (v, id): col past v, or col at v and id past.
		where = append(append([]Cond{}, conds...), Cond{Op: OpAny, Value: []Cond{
			{Column: col, Op: after, Value: v},
			{Op: OpAll, Value: []Cond{Eq(col, v), {Column: "id", Op: after, Value: id}}},
		}})
	}
	var rows []RectificationItem
	if err := tx.List(&rows, Query{Where: where, Limit: limit + 1, OrderBy: string(col) + dir + ", id" + dir}); err != nil {
		return Page[RectificationItem]{}, err
	}
	page := Page[RectificationItem]{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		page.Next = itemCursor(sort, string(col), &rows[limit-1])
	}
	if page.Items == nil {
		page.Items = []RectificationItem{}
	}
	return page, nil
}

// An item cursor is "sort:value:id", the value base64url-encoded (times
// in RFC 3339, UTC).
func itemCursor(sort, col string, it *RectificationItem) string {
	var v string
	switch col {
	case "deadline":
		v = it.Deadline.UTC().Format(time.RFC3339Nano)
	default:
		v = itemText(col, it)
	}
	return sort + ":" + base64.RawURLEncoding.EncodeToString([]byte(v)) + ":" + it.ID
}

func itemText(col string, it *RectificationItem) string {
	switch col {
	case "code":
		return it.Code
	case "title":
		return it.Title
	case "status":
		return it.Status
	case "supervision_level":
		return it.SupervisionLevel
	case "responsible_unit_id":
		return it.ResponsibleUnitID
	case "category":
		return it.Category
	}
	return it.Area
}

func parseItemCursor(sort, col, c string) (any, string, bool) {
	parts := strings.Split(c, ":")
	if len(parts) != 3 || parts[0] != sort || !ValidID(parts[2]) {
		return nil, "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, "", false
	}
	if col != "deadline" {
		return string(raw), parts[2], true
	}
	t, err := time.Parse(time.RFC3339Nano, string(raw))
	if err != nil || !StorableTime(t) {
		return nil, "", false
	}
	return Stamp(t), parts[2], true
}
