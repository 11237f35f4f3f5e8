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
	expect := fs.String("expect-head", "", tr("flag.expect_head"))
	if err := fs.Parse(args); err != nil {
		return err
	}
	var anchors []audit.Anchor
	if *expect != "" {
		a, err := audit.ParseAnchor(*expect)
		if err != nil {
			return fail("audit.bad_anchor", "Value", *expect)
		}
		anchors = append(anchors, a)
	}
	// A chain someone tampered with may refuse new entries (a seq taken
	// twice); verifying it says why, so a chaining error waits until then.
	n, chainErr := audit.New(svc).ChainAudit(ctx)
	if n > 0 {
		fmt.Fprintln(stdout, tr("audit.chained", "N", n))
	}
	rep, err := audit.New(svc).VerifyAudit(ctx, anchors...)
	if err != nil {
		return errors.Join(chainErr, err)
	}
	if !rep.OK {
		p := rep.Problem
		fmt.Fprintln(stdout, tr("audit.broken", "Seq", p.Seq, "Kind", string(p.Kind), "Explain", tr("audit.kind."+string(p.Kind))))
		fmt.Fprintln(stdout, tr("audit.broken_detail", "Message", p.Message))
		fmt.Fprintln(stdout, tr("audit.broken_checked", "N", rep.Checked, "Head", rep.Head.String()))
		return fail("audit.broken_error", "Seq", p.Seq, "Kind", string(p.Kind))
	}
	if chainErr != nil {
		return chainErr
	}
	fmt.Fprint(stdout, tr("audit.intact", "N", rep.Checked))
	if rep.Unchained > 0 {
		fmt.Fprint(stdout, tr("audit.unchained", "N", rep.Unchained))
	}
	fmt.Fprintln(stdout)
	if len(anchors) > 0 {
		fmt.Fprintln(stdout, tr("audit.holds_expected", "Head", anchors[0].String()))
	}
	fmt.Fprintln(stdout, tr("audit.head", "Head", rep.Head.String()))
	fmt.Fprintln(stdout, tr("audit.record_head"))
	return nil
}

// auditList prints one page of chained entries.
func auditList(ctx context.Context, svc *models.Service, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audit list", flag.ContinueOnError)
	action := fs.String("action", "", tr("flag.action", "Actions", strings.Join(models.AuditActions, ", ")))
	limit := fs.Int("limit", models.DefaultPageSize, tr("flag.limit", "Max", models.MaxPageSize))
	after := fs.Int64("after", 0, tr("flag.after"))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *action != "" && !slices.Contains(models.AuditActions, *action) {
		return fail("audit.unknown_action", "Action", *action, "Actions", strings.Join(models.AuditActions, ", "))
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
		fmt.Fprintln(stdout, tr("audit.more", "Next", page.Next))
	}
	return nil
}
