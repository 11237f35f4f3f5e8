package api

import (
	"bufio"
	"io"
	"net/url"
	"os"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// Content types of the spreadsheets.
const (
	mimeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	mimeCSV  = "text/csv; charset=utf-8"
)

// ledgerXLSX answers GET /v1/ledger.xlsx: the items /v1/items would
// list, with the same filters, as a spreadsheet.
func (s *Server) ledgerXLSX(c *fiber.Ctx) error {
	f, err := s.itemFilter(c)
	if err != nil {
		return err
	}
	loc := s.svc.Deadlines.Location()
	x, err := sheets.NewLedgerXLSX(loc)
	if err != nil {
		return err
	}
	defer x.Close()
	if err := s.report.Ledger(c.UserContext(), actor(c), f, x.Row); err != nil {
		return err
	}
	name, local := s.ledgerNames(".xlsx")
	return sendSpooled(c, mimeXLSX, name, local, func(w io.Writer) error {
		_, err := x.WriteTo(w)
		return err
	})
}

// ledgerCSV answers GET /v1/ledger.csv, the same ledger as CSV.
func (s *Server) ledgerCSV(c *fiber.Ctx) error {
	f, err := s.itemFilter(c)
	if err != nil {
		return err
	}
	name, local := s.ledgerNames(".csv")
	return sendSpooled(c, mimeCSV, name, local, func(w io.Writer) error {
		cw, err := sheets.NewLedgerCSV(w, s.svc.Deadlines.Location())
		if err != nil {
			return err
		}
		if err := s.report.Ledger(c.UserContext(), actor(c), f, cw.Row); err != nil {
			return err
		}
		return cw.Flush()
	})
}

func dispatchQuery(c *fiber.Ctx) reporting.DispatchQuery {
	return reporting.DispatchQuery{Period: c.Query("period"), Start: c.Query("start")}
}

// dispatch answers GET /v1/reports/dispatch.
func (s *Server) dispatch(c *fiber.Ctx) error {
	rep, err := s.report.Dispatch(c.UserContext(), actor(c), dispatchQuery(c))
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

// dispatchXLSX answers GET /v1/reports/dispatch.xlsx.
func (s *Server) dispatchXLSX(c *fiber.Ctx) error {
	rep, err := s.report.Dispatch(c.UserContext(), actor(c), dispatchQuery(c))
	if err != nil {
		return err
	}
	loc := s.svc.Deadlines.Location()
	month := rep.Start.In(loc).Format("2006-01")
	return sendSpooled(c, mimeXLSX, "dispatch-"+rep.Period+"-"+month+".xlsx", "调度-"+month+".xlsx", func(w io.Writer) error {
		return sheets.WriteDispatch(w, rep, loc)
	})
}

// ledgerNames are the file names of a ledger exported today.
func (s *Server) ledgerNames(ext string) (name, local string) {
	day := s.svc.Now().In(s.svc.Deadlines.Location()).Format("20060102")
	return "ledger-" + day + ext, "台账-" + day + ext
}

// sendSpooled writes a file with write into a temporary file, then sends
// it as an attachment. The whole file is made before the answer starts,
// so that a failure half-way is a proper error answer rather than a cut
// download, and the memory it needs stays bounded whatever its size. The
// ASCII name is for old clients; filename* gives the Chinese one.
func sendSpooled(c *fiber.Ctx, contentType, name, localName string, write func(io.Writer) error) error {
	f, err := os.CreateTemp("", "fieldsync-export-*")
	if err != nil {
		return err
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
		return err
	}
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"; filename*=UTF-8''`+url.PathEscape(localName))
	// fasthttp closes the body stream once it is sent (or the connection
	// fails), which removes the file.
	return sendStream(c, sp, int(size))
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
