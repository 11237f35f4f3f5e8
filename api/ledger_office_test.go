package api_test

import (
	"encoding/csv"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/storage/storagetest"
	"github.com/fieldsync/fieldsync/storage/testenv"
)

// TestLedgerOpensInLibreOffice hands the exported workbook to a real
// spreadsheet program: LibreOffice Calc converts it to CSV headless, and
// the Chinese headings, the items and their dates come out as the server
// wrote them.
func TestLedgerOpensInLibreOffice(t *testing.T) {
	bin, err := exec.LookPath("soffice")
	if err != nil {
		err = errors.New("no soffice on PATH (apt-get install libreoffice-calc)")
	}
	testenv.Require(t, "LibreOffice Calc", err)
	e := newEnv(t, storagetest.Dialects[0])
	d := loadLedgerData(t, e)
	dir := t.TempDir()
	xlsx := filepath.Join(dir, "ledger.xlsx")
	if err := os.WriteFile(xlsx, e.do("admin", "GET", "/v1/ledger.xlsx", nil).Body, 0o600); err != nil {
		t.Fatal(err)
	}
	// A profile of its own, so that a LibreOffice already running for
	// someone else is not asked to do the work.
	cmd := exec.Command(bin, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--headless",
		"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", dir, xlsx)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "ledger.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][1] != "问题编号" || rows[0][2] != "问题名称" {
		t.Fatalf("LibreOffice read %d rows, headings %v", len(rows), rows[0])
	}
	row := strings.Join(rows[1], "|")
	deadline := d.itemA.Deadline.In(shanghai).Format(time.DateTime)
	for _, want := range []string{"A-1", "黑臭水体整治 A-1", "单位 CTY-A", "重点督办", deadline} {
		if !strings.Contains(row, want) {
			t.Errorf("LibreOffice's row lacks %q: %s", want, row)
		}
	}
}
