package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage"
)

// adminCreate creates an administrator, and the root unit it belongs to
// when that does not exist yet (an empty server). The password is asked
// twice without echo on a terminal, or read from the first line of stdin.
func adminCreate(ctx context.Context, svc *models.Service, db *storage.DB, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", tr("flag.username"))
	unit := fs.String("unit", "", tr("flag.admin_unit"))
	unitName := fs.String("unit-name", "", tr("flag.unit_name_root"))
	display := fs.String("display-name", "", tr("flag.display_name"))
	phone := fs.String("phone", "", tr("flag.phone"))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *username == "" || *unit == "" {
		return usageError("admin create")
	}
	u, err := unitByCode(ctx, db, *unit)
	if err != nil && *unitName == "" {
		return fmt.Errorf("%w%s", err, tr("admin.give_unit_name"))
	}
	newUnit := err != nil
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	if *display == "" {
		display = username
	}
	role := models.RoleAdmin
	in := items.UserInput{Username: username, Password: &password, Role: &role, DisplayName: display, Phone: phone}
	var user models.User
	if newUnit {
		// The unit and the administrator are one transaction: a refused
		// password or username leaves no unit behind.
		u, user, err = items.New(svc).CreateUnitAndUser(ctx, system, items.UnitInput{Code: unit, Name: unitName, Kind: ptr("city")}, in)
		if err == nil {
			fmt.Fprintln(stdout, tr("unit.created", "Code", u.Code, "Name", u.Name, "ID", u.ID))
		}
	} else {
		in.UnitID = &u.ID
		user, err = items.New(svc).CreateUser(ctx, system, in)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tr("admin.created", "Username", user.Username, "ID", user.ID))
	return nil
}

// readPassword asks for the password twice on a terminal, without echo;
// from a pipe it reads the first line.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, tr("password.prompt"))
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, tr("password.again"))
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(first) != string(second) {
			return "", fail("password.differ")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func ptr[T any](v T) *T { return &v }
