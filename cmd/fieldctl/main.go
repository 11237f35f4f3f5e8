// Command fieldctl administers fieldsync: migrations, the demo data set,
// units and users, the sync log and the audit trail, and it verifies
// evidence packs. It reads the same
// configuration as fieldsyncd.
//
//	fieldctl [config flags] migrate
//	fieldctl [config flags] seed
//	fieldctl [config flags] unit add -code C -name N -kind K [-parent CODE]
//	fieldctl [config flags] unit list
//	fieldctl [config flags] user add -username U -role R -unit CODE [-display-name N] [-phone P] < password
//	fieldctl [config flags] user list
//	fieldctl [config flags] sync compact
//	fieldctl [config flags] sync new-epoch
//	fieldctl [config flags] sync devices [-user USERNAME]
//	fieldctl [config flags] sync device DEVICE_ID
//	fieldctl [config flags] audit verify [-expect-head SEQ:HASH]
//	fieldctl [config flags] audit list [-action A] [-limit N] [-after SEQ]
//
// audit verify chains what the servers have not chained yet, checks the
// whole chain and prints its head; it exits non-zero, naming the first
// broken entry, when an entry was changed or deleted. Keep the printed head
// outside the database and pass it back as -expect-head: that also catches
// entries removed from the end together with a rewritten head, which the
// chain alone cannot show.
//
//	fieldctl [config flags] import items [-dry-run] FILE.xlsx|FILE.csv
//	fieldctl [config flags] items escalate
//
//	fieldctl [config flags] verify-pack [-public-key BASE64] FILE.zip
//
// verify-pack needs no database: it trusts the key given with -public-key
// (from GET /v1/evidence-pack/keys), or else the keys derived from the
// configured server secret, current and previous. It exits non-zero and
// names every changed, added or removed file, a bad signature or a digest
// mismatch.
//
// fieldctl speaks Chinese; -lang en (or FIELDSYNC_LANG=en) makes it speak
// English. Its words are the cli area of api/i18n's catalog; error codes
// stay as they are.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/api/sheets"
	"github.com/fieldsync/fieldsync/cmd/internal/config"
	"github.com/fieldsync/fieldsync/cmd/internal/demo"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fieldctl:", err)
		}
		os.Exit(1)
	}
}

// zone is where fieldctl shows times: FIELDSYNC_TIME_ZONE.
var zone = time.UTC

// system is the actor of administrative commands run on the server host.
var system = models.Actor{UserID: "fieldctl", Username: "fieldctl", Role: models.RoleAdmin}

// run runs fieldctl, and returns its error as a person reads it (see
// localize).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return localize(runCommand(ctx, args, stdin, stdout, stderr))
}

func runCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, rest, err := config.Load("fieldctl", args, os.Getenv, stderr)
	if err != nil {
		say = catalog.In(earlyLang(args, os.Getenv))
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr)
			printUsage(stderr)
		}
		return err
	}
	say = catalog.In(cfg.Language())
	if loc, err := time.LoadLocation(cfg.TimeZone); err == nil {
		zone = loc
	}
	if len(rest) == 0 {
		printUsage(stderr)
		return fail("no_command")
	}
	if rest[0] == "help" {
		return help(stdout, rest[1:])
	}
	if rest[0] == "verify-pack" {
		// A pack is checked anywhere, without the server's database.
		return verifyPack(cfg, rest[1:], stdout, stderr)
	}
	log := cfg.Logger(stderr)
	db, err := cfg.OpenStore(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := cfg.Service(db, nil)
	cmd := strings.Join(rest[:min(2, len(rest))], " ")
	switch {
	case rest[0] == "migrate":
		v, err := db.SchemaVersion(ctx)
		if err == nil {
			fmt.Fprintln(stdout, tr("migrate.done", "Version", v, "Dialect", db.Dialect()))
		}
		return err
	case rest[0] == "seed":
		// The demo's photos go through the upload pipeline, into the
		// server's blob store.
		blobs, _, err := cfg.OpenBlobs(ctx)
		if err != nil {
			return err
		}
		return seed(ctx, cfg.Service(db, blobs), stdout)
	case cmd == "unit add":
		return unitAdd(ctx, svc, db, rest[2:], stdout)
	case cmd == "unit list":
		return unitList(ctx, db, stdout)
	case cmd == "user add":
		return userAdd(ctx, svc, db, rest[2:], stdin, stdout)
	case cmd == "user list":
		return userList(ctx, db, stdout)
	case cmd == "admin create":
		return adminCreate(ctx, svc, db, rest[2:], stdin, stdout, stderr)
	case cmd == "sync compact":
		st, err := cfg.SyncEngine(db, svc, nil, nil, log).Compact(ctx, time.Now())
		if err == nil {
			fmt.Fprintln(stdout, tr("sync.compacted", "Superseded", st.Superseded, "Expired", st.ExpiredRemoves,
				"RetainedFrom", st.RetainedFrom, "Results", st.Results))
		}
		return err
	case cmd == "audit verify":
		return auditVerify(ctx, svc, rest[2:], stdout)
	case cmd == "audit list":
		return auditList(ctx, svc, rest[2:], stdout)
	case cmd == "sync devices":
		return syncDevices(ctx, db, cfg.SyncEngine(db, svc, nil, nil, log), rest[2:], stdout)
	case cmd == "sync device":
		return syncDevice(ctx, db, cfg.SyncEngine(db, svc, nil, nil, log), rest[2:], stdout)
	case cmd == "sync new-epoch":
		epoch, err := cfg.SyncEngine(db, svc, nil, nil, log).NewEpoch(ctx)
		if err == nil {
			fmt.Fprintln(stdout, tr("sync.new_epoch", "Epoch", epoch))
		}
		return err
	case cmd == "import items":
		return importItems(ctx, svc, rest[2:], stdout)
	case cmd == "items escalate":
		return escalate(ctx, svc, stdout)
	}
	printUsage(stderr)
	return fail("unknown_command", "Command", strings.Join(rest, " "))
}

// importItems reads a ledger file and creates or updates its items (by
// code) in one transaction, or lists every row's errors and writes none;
// -dry-run shows what it would do.
func importItems(ctx context.Context, svc *models.Service, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("import items", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, tr("flag.dry_run"))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("import items")
	}
	name := fs.Arg(0)
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	read := sheets.ReadItems
	if strings.EqualFold(filepath.Ext(name), ".csv") {
		read = sheets.ReadItemsCSV
	}
	imp, err := read(f, svc.Deadlines.Location())
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(imp.Unknown) > 0 {
		fmt.Fprintln(stdout, tr("import.unknown_columns", "Name", name, "Columns", strings.Join(imp.Unknown, ", ")))
	}
	rep, err := items.New(svc).ImportItems(ctx, system, imp.Rows, items.ImportOptions{DryRun: *dryRun})
	for _, e := range rep.Errors {
		// The column is named before the code, so the code's words go
		// without it (as the console's import page says them).
		column := ""
		if e.Field != "" {
			column = sheets.FieldHeader(e.Field)
		}
		words := say.Detail(string(e.Code), "", e.Args, e.Message)
		fmt.Fprintln(stdout, tr("import.row_error", "Row", e.Row, "Column", column, "Code", string(e.Code), "Message", words))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if *dryRun {
		for _, r := range rep.Results {
			fmt.Fprintln(stdout, tr("import.row_plan", "Row", r.Row, "Code", r.Code, "Action", tr("import.action."+r.Action)))
		}
		fmt.Fprintln(stdout, tr("import.dry_run", "Name", name, "Created", rep.Created, "Updated", rep.Updated, "Unchanged", rep.Unchanged))
		return nil
	}
	fmt.Fprintln(stdout, tr("import.done", "N", rep.Created+rep.Updated, "Name", name,
		"Created", rep.Created, "Updated", rep.Updated, "Unchanged", rep.Unchanged))
	return nil
}

func escalate(ctx context.Context, svc *models.Service, stdout io.Writer) error {
	after := svc.Deadlines.EscalateAfter
	if after <= 0 {
		fmt.Fprintln(stdout, tr("escalate.disabled"))
		return nil
	}
	n, err := items.New(svc).EscalateOverdue(ctx, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tr("escalate.done", "N", n, "After", days(after)))
	return nil
}

func seed(ctx context.Context, svc *models.Service, stdout io.Writer) error {
	sum, err := demo.Load(ctx, svc, time.Now())
	if errors.Is(err, demo.ErrNotEmpty) {
		return fail("seed.not_empty")
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tr("seed.done", "Units", sum.Units, "Users", sum.Users, "Items", sum.Items, "Sites", sum.Sites,
		"Templates", sum.Templates, "Tasks", sum.Tasks, "Photos", sum.Photos))
	return nil
}

// unitByCode finds a unit by its code.
func unitByCode(ctx context.Context, db *storage.DB, code string) (models.Unit, error) {
	var u models.Unit
	err := db.Tx(ctx, func(tx models.Tx) error {
		return tx.First(&u, models.Query{Where: []models.Cond{models.Eq("code", code)}})
	})
	if models.IsNotFound(err) {
		return u, fail("no_unit", "Code", code)
	}
	return u, err
}

func unitAdd(ctx context.Context, svc *models.Service, db *storage.DB, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("unit add", flag.ContinueOnError)
	code := fs.String("code", "", tr("flag.unit_code"))
	name := fs.String("name", "", tr("flag.unit_name"))
	kind := fs.String("kind", "department", strings.Join(models.UnitKinds, ", "))
	parent := fs.String("parent", "", tr("flag.parent"))
	if err := fs.Parse(args); err != nil {
		return err
	}
	in := items.UnitInput{Code: code, Name: name, Kind: kind}
	if *parent != "" {
		p, err := unitByCode(ctx, db, *parent)
		if err != nil {
			return err
		}
		in.ParentID = &p.ID
	}
	u, err := items.New(svc).CreateUnit(ctx, system, in)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tr("unit.created", "Code", u.Code, "Name", u.Name, "ID", u.ID))
	return nil
}

func userAdd(ctx context.Context, svc *models.Service, db *storage.DB, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	username := fs.String("username", "", tr("flag.username"))
	role := fs.String("role", "", strings.Join(models.Roles, ", "))
	unit := fs.String("unit", "", tr("flag.user_unit"))
	display := fs.String("display-name", "", tr("flag.display_name"))
	phone := fs.String("phone", "", tr("flag.phone"))
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := unitByCode(ctx, db, *unit)
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	password := strings.TrimRight(line, "\r\n")
	user, err := items.New(svc).CreateUser(ctx, system, items.UserInput{
		Username: username, Password: &password, Role: role, UnitID: &u.ID, DisplayName: display, Phone: phone,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tr("user.created", "Username", user.Username, "Role", user.Role, "ID", user.ID))
	return nil
}

func unitList(ctx context.Context, db *storage.DB, stdout io.Writer) error {
	var units []models.Unit
	if err := db.Tx(ctx, func(tx models.Tx) error { return tx.List(&units, models.Query{}) }); err != nil {
		return err
	}
	for _, u := range units {
		fmt.Fprintf(stdout, "%-36s %-16s %-10s %s\n", u.ID, u.Code, u.Kind, u.Name)
	}
	return nil
}

func userList(ctx context.Context, db *storage.DB, stdout io.Writer) error {
	var users []models.User
	if err := db.Tx(ctx, func(tx models.Tx) error { return tx.List(&users, models.Query{}) }); err != nil {
		return err
	}
	for _, u := range users {
		state := ""
		if u.Disabled {
			state = tr("user.disabled")
		}
		fmt.Fprintf(stdout, "%-36s %-16s %-10s %s\n", u.ID, u.Username, u.Role, state)
	}
	return nil
}
