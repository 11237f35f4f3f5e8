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
	username := fs.String("username", "", "login name")
	unit := fs.String("unit", "", "code of the administrator's unit")
	unitName := fs.String("unit-name", "", "name of the unit, to create it as the root of the unit tree when no unit has the code")
	display := fs.String("display-name", "", "name shown to others")
	phone := fs.String("phone", "", "phone number")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *username == "" || *unit == "" {
		return errors.New(`usage: fieldctl admin create -username NAME -unit CODE [-unit-name NAME] (see "fieldctl help admin create")`)
	}
	u, err := unitByCode(ctx, db, *unit)
	if err != nil {
		if *unitName == "" {
			return fmt.Errorf("%w; give -unit-name to create it", err)
		}
		u, err = items.New(svc).CreateUnit(ctx, system, items.UnitInput{Code: unit, Name: unitName, Kind: ptr("city")})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "unit %s %s created: %s\n", u.Code, u.Name, u.ID)
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	if *display == "" {
		display = username
	}
	role := models.RoleAdmin
	user, err := items.New(svc).CreateUser(ctx, system, items.UserInput{
		Username: username, Password: &password, Role: &role, UnitID: &u.ID, DisplayName: display, Phone: phone,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "administrator %s created: %s; sign in with POST /v1/auth/login\n", user.Username, user.ID)
	return nil
}

// readPassword asks for the password twice on a terminal, without echo;
// from a pipe it reads the first line.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password (at least 10 characters): ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(first) != string(second) {
			return "", errors.New("the two passwords differ")
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
