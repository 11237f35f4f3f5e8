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
	pub := fs.String("public-key", "", "trust this Ed25519 public key (standard base64, as GET /v1/evidence-pack/keys lists it) instead of the server secret's keys")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: fieldctl verify-pack [-public-key BASE64] FILE.zip")
	}
	var trusted []ed25519.PublicKey
	if *pub != "" {
		k, err := pack.ParsePublicKey(*pub)
		if err != nil {
			return err
		}
		trusted = append(trusted, k)
	} else {
		current, previous, err := cfg.ExistingSecrets()
		if err != nil {
			return fmt.Errorf("%w; or pass -public-key", err)
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
		return fmt.Errorf("%s: %w", name, err)
	}
	printReport(stdout, name, &r)
	if err != nil {
		return fmt.Errorf("%s is NOT verified: %s", name, summary(&r))
	}
	return nil
}

func printReport(w io.Writer, name string, r *pack.Report) {
	fmt.Fprintf(w, "evidence pack %s\n", name)
	fmt.Fprintf(w, "  item        %s %s\n", r.ItemCode, r.ItemTitle)
	if !r.GeneratedAt.IsZero() {
		fmt.Fprintf(w, "  generated   %s by %s\n", r.GeneratedAt.In(zone).Format("2006-01-02 15:04:05 -07:00"), r.Server)
	}
	if r.SignedBy != "" {
		fmt.Fprintf(w, "  signature   good, by trusted key %s\n", r.SignedBy)
	} else {
		fmt.Fprintf(w, "  signature   NOT verified (manifest.sig names key %s)\n", orDash(r.SigKeyID))
	}
	fmt.Fprintf(w, "  files       %d checked against the manifest\n", r.Files)
	if r.EvidenceDigest != "" {
		state := "matches the manifest"
		if !r.DigestOK {
			state = "does NOT match the manifest"
		}
		fmt.Fprintf(w, "  evidence    digest %s %s\n", r.EvidenceDigest, state)
	}
	if len(r.Decisions) > 0 {
		fmt.Fprintf(w, "  decisions\n")
	}
	for _, d := range r.Decisions {
		on := "made on exactly this evidence"
		if !d.OnThisEvidence {
			on = "made on other evidence (digest " + d.EvidenceDigest + ")"
		}
		fmt.Fprintf(w, "    %s  %-7s %s  %s\n", d.CreatedAt.In(zone).Format("2006-01-02 15:04:05 -07:00"), d.Kind, d.ID, on)
	}
	if r.OK() {
		fmt.Fprintln(w, "VERIFIED: the signature, every file and the evidence digest check out")
		return
	}
	fmt.Fprintln(w, "NOT VERIFIED:")
	for _, l := range []struct {
		what  string
		names []string
	}{{"changed", r.Changed}, {"added", r.Added}, {"removed", r.Removed}, {"mismatch", r.EvidenceMismatch}} {
		for _, n := range l.names {
			fmt.Fprintf(w, "  %-8s %s\n", l.what, n)
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
	}{{"changed", r.Changed}, {"added", r.Added}, {"removed", r.Removed}, {"not its record's file", r.EvidenceMismatch}} {
		if len(l.names) > 0 {
			parts = append(parts, l.what+" "+strings.Join(l.names, ", "))
		}
	}
	if r.SignedBy == "" {
		parts = append(parts, "bad or untrusted signature")
	}
	if r.EvidenceDigest != "" && !r.DigestOK {
		parts = append(parts, "evidence digest mismatch")
	}
	if len(parts) == 0 {
		return strings.Join(r.Problems, "; ")
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
