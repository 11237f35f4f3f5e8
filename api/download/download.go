// Package download makes the files the API and the console hand out as
// downloads (ledgers, dispatch reports): spooled to a temporary file before
// the answer starts, so that a failure half-way is a proper error answer
// rather than a cut download, and memory stays bounded whatever the size.
package download

import (
	"bufio"
	"io"
	"net/url"
	"os"

	"github.com/gofiber/fiber/v2"
)

// Spool writes a file with write into a temporary file and returns it
// positioned at its start, with its size. Closing it removes the file, so
// a body stream that fasthttp closes once sent cleans up after itself.
func Spool(write func(io.Writer) error) (io.ReadCloser, int64, error) {
	f, err := os.CreateTemp("", "fieldsync-download-*")
	if err != nil {
		return nil, 0, err
	}
	sp := &spool{f}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	var size int64
	if err == nil {
		size, err = f.Seek(0, io.SeekCurrent)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		sp.Close()
		return nil, 0, err
	}
	return sp, size, nil
}

// Attachment sets the headers of a private download: name is the ASCII
// file name for old clients, local the Chinese one (filename*).
func Attachment(c *fiber.Ctx, contentType, name, local string) {
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"; filename*=UTF-8''`+url.PathEscape(local))
}

// spool is a temporary file that removes itself when closed.
type spool struct{ *os.File }

func (s *spool) Close() error {
	err := s.File.Close()
	if rerr := os.Remove(s.Name()); err == nil {
		err = rerr
	}
	return err
}
