package main

import (
	"fmt"
	"io"
	"strings"
)

// command is one fieldctl command, for `fieldctl -h` and `fieldctl help CMD`.
// Its summary and details are the catalog's cli.cmd.<key>.summary and
// cli.cmd.<key>.details (see key); its name, arguments and examples are
// what an operator types, in no language.
type command struct {
	name     string // "unit add"
	args     string // its flags and arguments
	details  bool   // whether the catalog has details beyond the summary
	examples []string
}

// key is the command's part of its message ids: "unit add" is unit_add.
func (c command) key() string { return strings.NewReplacer(" ", "_", "-", "_").Replace(c.name) }

// summary is the command's one line, in fieldctl's language.
func (c command) summary() string { return tr("cmd." + c.key() + ".summary") }

// commands lists every command fieldctl runs, in the order an
// administrator meets them.
var commands = []command{
	{name: "migrate", details: true,
		examples: []string{"fieldctl migrate", "fieldctl -mysql-dsn 'fieldsync:PASSWORD@tcp(db:3306)/fieldsync' migrate"}},
	{name: "admin create", args: "-username NAME -unit CODE [-unit-name NAME] [-display-name NAME] [-phone P]", details: true,
		examples: []string{"fieldctl admin create -username chen -unit JC -unit-name 江城市人民政府 -display-name 陈工",
			"echo 'a-long-password' | fieldctl admin create -username chen -unit JC"}},
	{name: "unit add", args: "-code C -name N [-kind K] [-parent CODE]", details: true,
		examples: []string{"fieldctl unit add -code JC-STHJ -name 江城市生态环境局 -kind department -parent JC"}},
	{name: "unit list", examples: []string{"fieldctl unit list"}},
	{name: "user add", args: "-username U -role R -unit CODE [-display-name N] [-phone P] < password", details: true,
		examples: []string{"echo 'a-long-password' | fieldctl user add -username zhou -role supervisor -unit JC -display-name 周明"}},
	{name: "user list", examples: []string{"fieldctl user list"}},
	{name: "import items", args: "[-dry-run] FILE.xlsx|FILE.csv", details: true,
		examples: []string{"fieldctl import items -dry-run 台账.xlsx", "fieldctl import items 台账.xlsx"}},
	{name: "items escalate", examples: []string{"fieldctl items escalate"}},
	{name: "audit verify", args: "[-expect-head SEQ:HASH]", details: true,
		examples: []string{"fieldctl audit verify", "fieldctl audit verify -expect-head 1234:9e8d7c…"}},
	{name: "audit list", args: "[-action A] [-limit N] [-after SEQ]",
		examples: []string{"fieldctl audit list -action auth.login_failed"}},
	{name: "sync compact", examples: []string{"fieldctl sync compact"}},
	{name: "sync new-epoch", examples: []string{"fieldctl sync new-epoch"}},
	{name: "sync devices", args: "[-user USERNAME]",
		examples: []string{"fieldctl sync devices -user inspector1"}},
	{name: "sync device", args: "DEVICE_ID",
		examples: []string{"fieldctl sync device 0b5e3f7a-1c2d-4e8f-9a6b-5d4c3b2a1f00"}},
	{name: "seed", examples: []string{"fieldctl seed"}},
	{name: "verify-pack", args: "[-public-key BASE64] FILE.zip",
		examples: []string{"fieldctl verify-pack -public-key 'jKIX…=' evidence-pack-DC-2024-017.zip"}},
	{name: "help", args: "[COMMAND]", examples: []string{"fieldctl help import items"}},
}

// printUsage lists the commands.
func printUsage(w io.Writer) {
	fmt.Fprintln(w, tr("help.usage"))
	fmt.Fprintln(w)
	fmt.Fprintln(w, tr("help.commands"))
	for _, c := range commands {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary())
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, tr("help.more"))
}

// usageLine is a command's usage: fieldctl, the config flags, the command
// and its arguments.
func usageLine(c command) string {
	return strings.TrimSpace(tr("help.usage_line", "Command", c.name, "Args", c.args))
}

// usageError is the error of a command given the wrong arguments: its
// usage, and where its help is.
func usageError(name string) error {
	return fail("usage_error", "Usage", usageLine(commandNamed(name)), "Command", name)
}

// commandNamed is the command of that name, which fieldctl's own code
// names; one it lacks is a defect.
func commandNamed(name string) command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	panic("fieldctl: no command " + name)
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
		fmt.Fprintf(w, "%s\n\n%s\n", usageLine(c), c.summary())
		if c.details {
			fmt.Fprintf(w, "\n%s\n", tr("cmd."+c.key()+".details"))
		}
		if len(c.examples) > 0 {
			fmt.Fprintf(w, "\n%s\n", tr("help.examples"))
			for _, e := range c.examples {
				fmt.Fprintf(w, "  %s\n", e)
			}
		}
		return nil
	}
	printUsage(w)
	return fail("no_such_command", "Command", want)
}
