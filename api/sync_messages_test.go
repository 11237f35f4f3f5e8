package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestPushRejectionLanguage: a rejected mutation's message comes from the
// message catalog in the language of the push's Accept-Language, like a
// problem's detail; its code never changes. A retried batch is answered
// from the stored results, again in the retry's language.
func TestPushRejectionLanguage(t *testing.T) {
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			client := uuid.NewString()
			push := func(id int, lang string) map[string]any {
				t.Helper()
				body, _ := json.Marshal(map[string]any{"client_id": client, "schema_version": 1, "mutations": []map[string]any{
					{"id": id, "name": "note.add", "args": map[string]any{"id": "../../etc/passwd", "task_id": e.fx.task1.ID, "text": "x"}}}})
				r := e.send("insp1", "POST", "/v1/sync/push", "application/json", body, map[string]string{"Accept-Language": lang})
				if r.Status != 200 {
					t.Fatalf("push: %d %s", r.Status, r.Body)
				}
				return r.json(t)["results"].([]any)[0].(map[string]any)
			}
			for _, c := range []struct {
				id         int
				lang, want string
			}{
				{1, "zh-CN", "编号格式不正确（id）"},
				{2, "en-US,en;q=0.9", "id"},
				{1, "zh-CN,zh;q=0.9", "编号格式不正确"}, // the retried batch, from the stored result
				{1, "en", "id"},
			} {
				got := push(c.id, c.lang)
				msg, _ := got["message"].(string)
				zh := strings.ContainsFunc(msg, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff })
				if got["status"] != "rejected" || got["code"] != "invalid_id" || !strings.Contains(msg, c.want) || zh != strings.HasPrefix(c.lang, "zh") {
					t.Errorf("mutation %d in %s: %v", c.id, c.lang, got)
				}
			}
		})
	}
}
