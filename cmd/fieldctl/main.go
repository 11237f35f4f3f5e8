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

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, rest, err := config.Load("fieldctl", args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr)
		printUsage(stderr)
	}
	if err != nil {
		return err
	}
	if loc, err := time.LoadLocation(cfg.TimeZone); err == nil {
		zone = loc
	}
	if len(rest) == 0 {
		printUsage(stderr)
		return errors.New("no command")
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
			fmt.Fprintf(stdout, "schema version %d (%s)\n", v, db.Dialect())
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
			fmt.Fprintf(stdout, "removed %d superseded changes, %d expired removes (devices below seq %d will reset), %d old mutation results\n",
				st.Superseded, st.ExpiredRemoves, st.RetainedFrom, st.Results)
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
			fmt.Fprintf(stdout, "new sync epoch %s: every device will reset at its next pull\n", epoch)
		}
		return err
	case cmd == "import items":
		return importItems(ctx, svc, rest[2:], stdout)
	case cmd == "items escalate":
		return escalate(ctx, svc, stdout)
	}
	printUsage(stderr)
	return fmt.Errorf("unknown command %q", strings.Join(rest, " "))
}

// importItems reads a ledger file and creates or updates its items (by
// code) in one transaction, or lists every row's errors and writes none;
// -dry-run shows what it would do.
func importItems(ctx context.Context, svc *models.Service, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("import items", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "check every row and show what would be created or updated; write nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: fieldctl import items [-dry-run] FILE.xlsx|FILE.csv")
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
		fmt.Fprintf(stdout, "%s: not reading the columns %s\n", name, strings.Join(imp.Unknown, ", "))
	}
	rep, err := items.New(svc).ImportItems(ctx, system, imp.Rows, items.ImportOptions{DryRun: *dryRun})
	for _, e := range rep.Errors {
		where := ""
		if e.Field != "" {
			where = " " + sheets.FieldHeader(e.Field) + ":"
		}
		fmt.Fprintf(stdout, "row %d:%s %s: %s\n", e.Row, where, e.Code, e.Message)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if *dryRun {
		for _, r := range rep.Results {
			fmt.Fprintf(stdout, "row %d: %s %s\n", r.Row, r.Code, r.Action)
		}
		fmt.Fprintf(stdout, "dry run of %s: %d items would be created, %d updated, %d unchanged; nothing was written\n",
			name, rep.Created, rep.Updated, rep.Unchanged)
		return nil
	}
	fmt.Fprintf(stdout, "imported %d items from %s: %d created, %d updated, %d unchanged\n",
		rep.Created+rep.Updated, name, rep.Created, rep.Updated, rep.Unchanged)
	return nil
}

func escalate(ctx context.Context, svc *models.Service, stdout io.Writer) error {
	after := svc.Deadlines.EscalateAfter
	if after <= 0 {
		fmt.Fprintln(stdout, "escalation is disabled (FIELDSYNC_ESCALATE_AFTER is 0)")
		return nil
	}
	n, err := items.New(svc).EscalateOverdue(ctx, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "raised the supervision level of %d items overdue for %s or more\n", n, after)
	return nil
}

func seed(ctx context.Context, svc *models.Service, stdout io.Writer) error {
	sum, err := demo.Load(ctx, svc, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loaded %d units, %d users, %d items, %d sites, %d templates, %d tasks, %d photos\n",
		sum.Units, sum.Users, sum.Items, sum.Sites, sum.Templates, sum.Tasks, sum.Photos)
	return nil
}

// unitByCode finds a unit by its code.
func unitByCode(ctx context.Context, db *storage.DB, code string) (models.Unit, error) {
	var u models.Unit
	err := db.Tx(ctx, func(tx models.Tx) error {
		return tx.First(&u, models.Query{Where: []models.Cond{models.Eq("code", code)}})
	})
	if models.IsNotFound(err) {
		return u, fmt.Errorf("no unit with code %q", code)
	}
	return u, err
}

func unitAdd(ctx context.Context, svc *models.Service, db *storage.DB, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("unit add", flag.ContinueOnError)
	code := fs.String("code", "", "unit code (letters, digits, . _ -)")
	name := fs.String("name", "", "unit name")
	kind := fs.String("kind", "department", strings.Join(models.UnitKinds, ", "))
	parent := fs.String("parent", "", "code of the parent unit; empty for a root")
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
	fmt.Fprintf(stdout, "unit %s %s created: %s\n", u.Code, u.Name, u.ID)
	return nil
}

func userAdd(ctx context.Context, svc *models.Service, db *storage.DB, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	username := fs.String("username", "", "login name")
	role := fs.String("role", "", strings.Join(models.Roles, ", "))
	unit := fs.String("unit", "", "code of the user's unit")
	display := fs.String("display-name", "", "name shown to others")
	phone := fs.String("phone", "", "phone number")
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
	fmt.Fprintf(stdout, "user %s (%s) created: %s\n", user.Username, user.Role, user.ID)
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
			state = "disabled"
		}
		fmt.Fprintf(stdout, "%-36s %-16s %-10s %s\n", u.ID, u.Username, u.Role, state)
	}
	return nil
}
