package main

import (
	"fmt"
	"io"
	"strings"
)

// command is one fieldctl command, for `fieldctl -h` and `fieldctl help CMD`.
type command struct {
	name     string // "unit add"
	args     string // its flags and arguments
	summary  string
	details  string
	examples []string
}

// commands lists every command fieldctl runs, in the order an
// administrator meets them.
var commands = []command{
	{name: "migrate", summary: "apply pending schema migrations and print the schema version",
		details:  "The server migrates at start-up too; this is for doing it before the first start.",
		examples: []string{"fieldctl migrate", "fieldctl -mysql-dsn 'fieldsync:PASSWORD@tcp(db:3306)/fieldsync' migrate"}},
	{name: "admin create", args: "-username NAME -unit CODE [-unit-name NAME] [-display-name NAME] [-phone P]",
		summary: "create an administrator; prompts for the password, or reads it from stdin",
		details: "The first thing to do on an empty server. -unit is the code of the administrator's unit; when\n" +
			"no unit has that code, -unit-name creates it as the root of the unit tree (the city).\n" +
			"On a terminal the password is asked twice without echo; otherwise the first line of stdin is\n" +
			"the password (at least 10 characters).",
		examples: []string{"fieldctl admin create -username chen -unit JC -unit-name 江城市人民政府 -display-name 陈工",
			"echo 'a-long-password' | fieldctl admin create -username chen -unit JC"}},
	{name: "unit add", args: "-code C -name N [-kind K] [-parent CODE]", summary: "add a responsible unit",
		details:  "Kinds: city, county, department, town, company. A unit without -parent is a root.",
		examples: []string{"fieldctl unit add -code JC-STHJ -name 江城市生态环境局 -kind department -parent JC"}},
	{name: "unit list", summary: "list the units: id, code, kind, name", examples: []string{"fieldctl unit list"}},
	{name: "user add", args: "-username U -role R -unit CODE [-display-name N] [-phone P] < password",
		summary:  "add an account; the password is the first line of stdin",
		details:  "Roles: admin, supervisor, unit_lead, inspector.",
		examples: []string{"echo 'a-long-password' | fieldctl user add -username zhou -role supervisor -unit JC -display-name 周明"}},
	{name: "user list", summary: "list the accounts: id, username, role, disabled", examples: []string{"fieldctl user list"}},
	{name: "import items", args: "[-dry-run] FILE.xlsx|FILE.csv",
		summary: "create the items of a ledger (台账), or update them by their code",
		details: "All rows or none: with any bad row nothing is imported and every row's errors are listed.\n" +
			"-dry-run checks every row and shows row by row what would be created, updated or left alone.\n" +
			"Units are found by code or name; a deadline written as a date alone ends that day in\n" +
			"FIELDSYNC_TIME_ZONE; 长期坚持 or 持续推进 as the deadline makes an open-ended item (评估周期).",
		examples: []string{"fieldctl import items -dry-run 台账.xlsx", "fieldctl import items 台账.xlsx"}},
	{name: "items escalate", summary: "raise the supervision level of long-overdue items now (the server does it hourly)",
		examples: []string{"fieldctl items escalate"}},
	{name: "audit verify", args: "[-expect-head SEQ:HASH]",
		summary: "check the audit chain and print its head; fails naming the first changed or deleted entry",
		details: "Keep the printed head outside the database and pass it back with -expect-head: that also\n" +
			"catches entries removed from the end together with a rewritten head.",
		examples: []string{"fieldctl audit verify", "fieldctl audit verify -expect-head 1234:9e8d7c…"}},
	{name: "audit list", args: "[-action A] [-limit N] [-after SEQ]", summary: "print chained audit entries",
		examples: []string{"fieldctl audit list -action auth.login_failed"}},
	{name: "sync compact", summary: "compact the change log now (the server also does it hourly)",
		examples: []string{"fieldctl sync compact"}},
	{name: "sync new-epoch", summary: "after restoring a backup: make every device reset its sync",
		examples: []string{"fieldctl sync new-epoch"}},
	{name: "sync devices", args: "[-user USERNAME]",
		summary:  "list devices: user, state, last mutation and pull, how far behind the log's head",
		examples: []string{"fieldctl sync devices -user inspector1"}},
	{name: "sync device", args: "DEVICE_ID",
		summary:  "one device's sync clients, cursor, rejected mutations and evidence not completed",
		examples: []string{"fieldctl sync device 0b5e3f7a-1c2d-4e8f-9a6b-5d4c3b2a1f00"}},
	{name: "seed", summary: "load the demo data set into an empty database", examples: []string{"fieldctl seed"}},
	{name: "verify-pack", args: "[-public-key BASE64] FILE.zip",
		summary:  "check an evidence pack's signature and every file in it (needs no database)",
		examples: []string{"fieldctl verify-pack -public-key 'jKIX…=' evidence-pack-DC-2024-017.zip"}},
	{name: "help", args: "[COMMAND]", summary: "this list, or one command's flags and examples",
		examples: []string{"fieldctl help import items"}},
}

// printUsage lists the commands.
func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: fieldctl [config flags] <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `"fieldctl help COMMAND" shows a command's flags and examples; "fieldctl -h" the config flags,`)
	fmt.Fprintln(w, "which fieldctl shares with fieldsyncd (FIELDSYNC_* variables), given before the command.")
}

// help prints one command's help, or the list when name is empty.
func help(w io.Writer, name []string) error {
	want := strings.Join(name, " ")
	if want == "" {
		printUsage(w)
		return nil
	}
	for _, c := range commands {
		if c.name != want {
			continue
		}
		fmt.Fprintf(w, "usage: fieldctl [config flags] %s %s\n\n%s\n", c.name, c.args, c.summary)
		if c.details != "" {
			fmt.Fprintf(w, "\n%s\n", c.details)
		}
		if len(c.examples) > 0 {
			fmt.Fprintln(w, "\nexamples:")
			for _, e := range c.examples {
				fmt.Fprintf(w, "  %s\n", e)
			}
		}
		return nil
	}
	printUsage(w)
	return fmt.Errorf("no command %q", want)
}
