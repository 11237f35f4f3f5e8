package main

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fieldsync/fieldsync/cmd/internal/config"
	"github.com/fieldsync/fieldsync/models/pack"
)

// verifyPack checks an evidence pack and prints what it found. The
// trusted key comes from -public-key, or else from the configured server
// secret (current and previous), never from the pack.
func verifyPack(cfg config.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-pack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pub := fs.String("public-key", "", tr("flag.public_key"))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("verify-pack")
	}
	var trusted []ed25519.PublicKey
	if *pub != "" {
		k, err := pack.ParsePublicKey(*pub)
		if err != nil {
			return fail("pack.bad_key", "Err", err.Error())
		}
		trusted = append(trusted, k)
	} else {
		current, previous, err := cfg.ExistingSecrets()
		if err != nil {
			return fmt.Errorf("%w%s", err, tr("pack.or_public_key"))
		}
		keys, err := pack.KeysFor(current, previous)
		if err != nil {
			return err
		}
		trusted = keys.Trusted()
	}
	name := fs.Arg(0)
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	r, err := pack.Verify(f, st.Size(), trusted...)
	if err != nil && !errors.Is(err, pack.ErrNotVerified) {
		return fmt.Errorf("%s: %s: %w", name, tr("pack.unreadable"), err)
	}
	printReport(stdout, name, &r)
	if err != nil {
		return fail("pack.not_verified_error", "Name", name, "Summary", summary(&r))
	}
	return nil
}

func printReport(w io.Writer, name string, r *pack.Report) {
	const at = "2006-01-02 15:04:05 -07:00"
	// The lines' labels are padded to one width, in either language.
	line := func(label, text string) { fmt.Fprintln(w, "  "+pad(tr("pack.label."+label), 12)+text) }
	fmt.Fprintln(w, tr("pack.title", "Name", name))
	line("item", r.ItemCode+" "+r.ItemTitle)
	if !r.GeneratedAt.IsZero() {
		line("generated", tr("pack.generated", "At", r.GeneratedAt.In(zone).Format(at), "Server", r.Server))
	}
	if r.SignedBy != "" {
		line("signature", tr("pack.signature_good", "Key", r.SignedBy))
	} else {
		line("signature", tr("pack.signature_bad", "Key", orDash(r.SigKeyID)))
	}
	line("files", tr("pack.files", "N", r.Files))
	if r.EvidenceDigest != "" {
		id := "pack.digest_ok"
		if !r.DigestOK {
			id = "pack.digest_bad"
		}
		line("evidence", tr(id, "Digest", r.EvidenceDigest))
	}
	if len(r.Decisions) > 0 {
		fmt.Fprintln(w, "  "+tr("pack.label.decisions"))
	}
	for _, d := range r.Decisions {
		on := tr("pack.on_this")
		if !d.OnThisEvidence {
			on = tr("pack.on_other", "Digest", d.EvidenceDigest)
		}
		fmt.Fprintf(w, "    %s  %s %s  %s\n", d.CreatedAt.In(zone).Format(at), pad(decisionWord(d.Kind), 8), d.ID, on)
	}
	if r.OK() {
		fmt.Fprintln(w, tr("pack.verified"))
		return
	}
	fmt.Fprintln(w, tr("pack.not_verified"))
	for _, l := range []struct {
		what  string
		names []string
	}{{"changed", r.Changed}, {"added", r.Added}, {"removed", r.Removed}, {"mismatch", r.EvidenceMismatch}} {
		for _, n := range l.names {
			fmt.Fprintf(w, "  %s %s\n", pad(tr("pack.what."+l.what), 8), n)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
}

// summary names what failed, for the error a script sees.
func summary(r *pack.Report) string {
	var parts []string
	for _, l := range []struct {
		what  string
		names []string
	}{{"changed", r.Changed}, {"added", r.Added}, {"removed", r.Removed}, {"not_its_file", r.EvidenceMismatch}} {
		if len(l.names) > 0 {
			parts = append(parts, tr("pack.summary."+l.what, "Names", strings.Join(l.names, ", ")))
		}
	}
	if r.SignedBy == "" {
		parts = append(parts, tr("pack.summary.bad_signature"))
	}
	if r.EvidenceDigest != "" && !r.DigestOK {
		parts = append(parts, tr("pack.summary.digest_mismatch"))
	}
	if len(parts) == 0 {
		return strings.Join(r.Problems, "; ")
	}
	return strings.Join(parts, tr("pack.summary.sep"))
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// decisionWord is a decision's kind in fieldctl's language; a kind this
// build does not know (a pack from a newer server) is shown as written.
func decisionWord(kind string) string {
	if w := tr("decision." + kind); w != "cli.decision."+kind {
		return w
	}
	return kind
}
