package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/audit"
)

// auditVerify chains what is pending, verifies the chain and prints its
// head, for the operator to record.
func auditVerify(ctx context.Context, svc *models.Service, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	expect := fs.String("expect-head", "", "SEQ:HASH of a head printed by an earlier run; fail unless the chain still holds it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var anchors []audit.Anchor
	if *expect != "" {
		a, err := audit.ParseAnchor(*expect)
		if err != nil {
			return err
		}
		anchors = append(anchors, a)
	}
	// A chain someone tampered with may refuse new entries (a seq taken
	// twice); verifying it says why, so a chaining error waits until then.
	n, chainErr := audit.New(svc).ChainAudit(ctx)
	if n > 0 {
		fmt.Fprintf(stdout, "chained %d new entries\n", n)
	}
	rep, err := audit.New(svc).VerifyAudit(ctx, anchors...)
	if err != nil {
		return errors.Join(chainErr, err)
	}
	if !rep.OK {
		p := rep.Problem
		fmt.Fprintf(stdout, "audit chain BROKEN at entry %d (%s): %s\n", p.Seq, p.Kind, p.Message)
		fmt.Fprintf(stdout, "%d entries checked before it; the head row says %s\n", rep.Checked, rep.Head)
		return fmt.Errorf("audit chain broken at entry %d: %s", p.Seq, p.Kind)
	}
	if chainErr != nil {
		return chainErr
	}
	fmt.Fprintf(stdout, "audit chain intact: %d entries checked", rep.Checked)
	if rep.Unchained > 0 {
		fmt.Fprintf(stdout, " (%d written since, not yet chained)", rep.Unchained)
	}
	fmt.Fprintln(stdout)
	if len(anchors) > 0 {
		fmt.Fprintf(stdout, "it still holds the expected head %s\n", anchors[0])
	}
	fmt.Fprintf(stdout, "head %s\n", rep.Head)
	fmt.Fprintln(stdout, "Record this head outside the database; pass it later as -expect-head to detect entries removed from the end.")
	return nil
}

// auditList prints one page of chained entries.
func auditList(ctx context.Context, svc *models.Service, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audit list", flag.ContinueOnError)
	action := fs.String("action", "", "only this action: "+strings.Join(models.AuditActions, ", "))
	limit := fs.Int("limit", models.DefaultPageSize, fmt.Sprintf("entries to print (at most %d)", models.MaxPageSize))
	after := fs.Int64("after", 0, "start after this seq")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *action != "" && !slices.Contains(models.AuditActions, *action) {
		return fmt.Errorf("unknown action %q; one of %s", *action, strings.Join(models.AuditActions, ", "))
	}
	log := audit.New(svc)
	if _, err := log.ChainAudit(ctx); err != nil {
		return err
	}
	page, err := log.ListAudit(ctx, system, audit.Filter{Action: *action}, audit.Params{Limit: *limit, After: *after})
	if err != nil {
		return err
	}
	for _, e := range page.Items {
		actor := e.ActorName
		if actor == "" {
			actor = "-"
		}
		fmt.Fprintf(stdout, "%6d %s %-20s %-12s %-13s %-36s %s\n", *e.Seq, stamp(e.At), e.Action, actor, e.Entity, e.RecordID, e.Detail)
	}
	if page.Next > 0 {
		fmt.Fprintf(stdout, "more: audit list -after %d\n", page.Next)
	}
	return nil
}
