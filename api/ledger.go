package api

import (
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/api/download"
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

// sendSpooled sends the file write makes as an attachment, spooled
// first (package download); fasthttp closes the body stream once it is
// sent (or the connection fails), which removes the file.
func sendSpooled(c *fiber.Ctx, contentType, name, localName string, write func(io.Writer) error) error {
	f, size, err := download.Spool(write)
	if err != nil {
		return err
	}
	download.Attachment(c, contentType, name, localName)
	return sendStream(c, f, int(size))
}
