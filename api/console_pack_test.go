package api_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/api/web"
	"github.com/fieldsync/fieldsync/models/keys"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestConsolePackLimit sends the pack-check page an upload over its limit
// (larger than the JSON body limit too, so that it arrives as a stream)
// and one of unknown length: each is refused with its Chinese message
// before the form is read — without the CSRF token, which is read from
// the form, the answer is still the size's — and a pack within the limit
// is checked.
func TestConsolePackLimit(t *testing.T) {
	e := newEnv(t, storagetest.Dialects[0])
	e.cfg.Console = web.Config{Key: keys.Derive(testSecret, "web-console"), PackLimit: 1 << 20}
	e.srv = api.New(e.cfg)
	c := &console{t: t, srv: e.srv, cookies: map[string]*http.Cookie{}}
	c.signIn("supa")
	expectPage(t, "the pack-check page", c.get("/pack-verify"), 200, "本页最大可上传 1 MB")
	upload := func(size int, withToken, chunked bool) page {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if withToken {
			mw.WriteField("_csrf", c.csrf)
		}
		fw, _ := mw.CreateFormFile("pack", "pack.zip")
		fw.Write(bytes.Repeat([]byte("z"), size))
		mw.Close()
		var rd io.Reader = &body
		if chunked {
			rd = io.MultiReader(&body) // no length: sent chunked
		}
		req := httptest.NewRequest("POST", "/pack-verify", rd)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if chunked {
			req.ContentLength, req.TransferEncoding = -1, []string{"chunked"}
		}
		return c.send(req)
	}
	for _, withToken := range []bool{true, false} {
		p := upload(2<<20, withToken, false)
		expectPage(t, "a pack over the limit", p, http.StatusRequestEntityTooLarge, "证据包文件超过本页 1 MB 的上传上限，未校验")
		if strings.Contains(p.Body, `id="pack-result"`) {
			t.Errorf("a pack over the limit was checked:\n%.2000s", p.Body)
		}
	}
	expectPage(t, "a pack of unknown length", upload(1000, true, true), http.StatusLengthRequired, "浏览器没有告知文件大小")
	expectPage(t, "a pack within the limit", upload(1000, true, false), 200, "校验未通过")
	expectPage(t, "a pack within the limit without the token", upload(1000, false, false), 403, "表单已过期")
}
