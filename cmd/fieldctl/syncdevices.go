package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/storage"
	fsync "github.com/fieldsync/fieldsync/sync"
)

// rejectionsShown is how many of a client's rejected mutations sync
// device prints.
const rejectionsShown = 10

// syncDevices prints one line per device: its user, state, its current
// sync client's last mutation and pull, how far that pull was behind the
// log's head, and the evidence it declared without completing.
func syncDevices(ctx context.Context, db *storage.DB, eng *fsync.Engine, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sync devices", flag.ContinueOnError)
	username := fs.String("user", "", "only this user's devices (a username)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var (
		filter  fsync.ClientFilter
		devices []models.Device
		users   []models.User
		live    []models.Session
		pending []models.Group
	)
	now := time.Now()
	err := db.Tx(ctx, func(tx models.Tx) error {
		var devConds, evConds []models.Cond
		if *username != "" {
			var u models.User
			if err := tx.First(&u, models.Query{Where: []models.Cond{models.Eq("username", *username)}}); err != nil {
				if models.IsNotFound(err) {
					return fmt.Errorf("no user %q", *username)
				}
				return err
			}
			filter.UserID = u.ID
			devConds = []models.Cond{models.Eq("user_id", u.ID)}
			evConds = []models.Cond{models.Eq("inspector_id", u.ID)}
		}
		if err := tx.List(&devices, models.Query{Where: devConds, OrderBy: "last_seen_at DESC, id"}); err != nil {
			return err
		}
		if err := tx.List(&users, models.Query{}); err != nil {
			return err
		}
		if err := tx.List(&live, models.Query{Where: append(liveSession(now), devConds...)}); err != nil {
			return err
		}
		var err error
		pending, err = tx.CountBy(&models.Evidence{}, []models.Column{models.EvidenceCols.DeviceID}, append(evConds, models.Eq(models.EvidenceCols.Status, models.EvidencePending)))
		return err
	})
	if err != nil {
		return err
	}
	clients, err := eng.Clients(ctx, filter)
	if err != nil {
		return err
	}
	head, err := eng.Head(ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.Username
	}
	signedIn := map[string]bool{}
	for _, s := range live {
		signedIn[s.DeviceID] = true
	}
	pendingOf := map[string]int64{}
	for _, g := range pending {
		pendingOf[g.Keys[0]] = g.Count
	}
	byDevice := map[string][]fsync.Client{}
	for _, c := range clients {
		byDevice[c.DeviceID] = append(byDevice[c.DeviceID], c)
	}

	fmt.Fprintf(stdout, "sync log head %d, epoch %s\n", head.Seq, head.Epoch)
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "DEVICE\tUSER\tNAME\tLAST SIGN-IN\tSTATE\tCLIENTS\tLAST MUTATION\tLAST PULL\tBEHIND\tPENDING EVIDENCE")
	for _, d := range devices {
		cs := byDevice[d.ID]
		mutation, pulled, behind := "-", "-", "-"
		if c := current(cs); c != nil {
			mutation = fmt.Sprint(c.LastMutationID)
			if c.PulledAt != nil {
				pulled, behind = stamp(*c.PulledAt), lag(*c, head)
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\n", d.ID, names[d.UserID], orDash(d.Name), stamp(d.LastSeenAt),
			deviceState(d, signedIn[d.ID]), len(cs), mutation, pulled, behind, pendingOf[d.ID])
	}
	return w.Flush()
}

// syncDevice prints everything the server knows about one device's sync.
func syncDevice(ctx context.Context, db *storage.DB, eng *fsync.Engine, args []string, stdout io.Writer) error {
	if len(args) != 1 || !models.ValidID(args[0]) {
		return errors.New("usage: fieldctl sync device DEVICE_ID (a UUID; see fieldctl sync devices)")
	}
	id := args[0]
	var (
		d       models.Device
		u       models.User
		live    []models.Session
		pending []models.Evidence
	)
	now := time.Now()
	err := db.Tx(ctx, func(tx models.Tx) error {
		if err := tx.Get(&d, id); err != nil {
			if models.IsNotFound(err) {
				return fmt.Errorf("no device %s has signed in", id)
			}
			return err
		}
		if err := tx.Get(&u, d.UserID); err != nil {
			return err
		}
		if err := tx.List(&live, models.Query{Where: append(liveSession(now), models.Eq("device_id", id)), OrderBy: "expires_at DESC"}); err != nil {
			return err
		}
		return tx.List(&pending, models.Query{Where: []models.Cond{models.Eq(models.EvidenceCols.DeviceID, id), models.Eq(models.EvidenceCols.Status, models.EvidencePending)}, OrderBy: models.OrderBy(models.EvidenceCols.CreatedAt, models.EvidenceCols.ID)})
	})
	if err != nil {
		return err
	}
	clients, err := eng.Clients(ctx, fsync.ClientFilter{DeviceID: id})
	if err != nil {
		return err
	}
	head, err := eng.Head(ctx)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "device        %s %q (%s), registered %s\n", d.ID, d.Name, orDash(d.Platform), stamp(d.CreatedAt))
	fmt.Fprintf(stdout, "user          %s (%s) %s\n", u.Username, u.Role, u.ID)
	fmt.Fprintf(stdout, "last sign-in  %s\n", stamp(d.LastSeenAt))
	state := deviceState(d, len(live) > 0)
	switch {
	case d.RevokedAt != nil:
		state += " at " + stamp(*d.RevokedAt)
	case len(live) > 0:
		state += " (the session expires " + stamp(live[0].ExpiresAt) + " unless refreshed)"
	}
	fmt.Fprintf(stdout, "state         %s\n", state)
	fmt.Fprintf(stdout, "sync log      head %d, epoch %s, removes compacted up to %d\n", head.Seq, head.Epoch, head.RetainedFrom)
	if len(clients) == 0 {
		fmt.Fprintln(stdout, "\nno sync client: the device has neither pulled nor pushed")
	}
	for _, c := range clients {
		fmt.Fprintf(stdout, "\nsync client %s (registered %s", c.ID, stamp(c.CreatedAt))
		if c.UserID != d.UserID {
			fmt.Fprintf(stdout, ", another user: %s", c.UserID)
		}
		fmt.Fprintln(stdout, ")")
		if c.LastMutationID > 0 {
			fmt.Fprintf(stdout, "  last mutation  %d, applied %s\n", c.LastMutationID, stamp(c.LastMutationAt))
		} else {
			fmt.Fprintln(stdout, "  last mutation  none pushed")
		}
		if c.PulledAt == nil {
			fmt.Fprintln(stdout, "  last pull      none noted")
		} else {
			fmt.Fprintf(stdout, "  last pull      %s, cursor at %d: %s (noted at most once a minute)\n", stamp(*c.PulledAt), *c.PulledSeq, describeLag(c, head))
		}
		if c.PulledAt != nil && c.PulledEpoch == head.Epoch && c.UserID == u.ID {
			n, err := eng.Waiting(ctx, models.Actor{UserID: u.ID, Username: u.Username, Role: u.Role, UnitID: u.UnitID, UnitPath: u.UnitPath}, *c.PulledSeq)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "  waiting        %d change-log row(s) in its scopes after that cursor\n", n)
		}
		rej, err := eng.Rejections(ctx, c.ID, rejectionsShown)
		if err != nil {
			return err
		}
		if len(rej) == 0 {
			fmt.Fprintf(stdout, "  rejected       none in the last %s\n", days(eng.ResultRetention))
			continue
		}
		fmt.Fprintf(stdout, "  rejected       %d most recent (results are kept %s):\n", len(rej), days(eng.ResultRetention))
		w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, r := range rej {
			fmt.Fprintf(w, "    %d\t%s\t%s\t%s\t%s\n", r.MutationID, stamp(r.At), r.Name, r.Code, r.Message)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\npending evidence (declared, not completed): %d\n", len(pending))
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range pending {
		fmt.Fprintf(w, "  %s\ttask %s\t%s\t%d bytes\tdeclared %s", e.ID, e.TaskID, e.Kind, e.Size, stamp(e.CreatedAt))
		if e.UploadID != "" {
			fmt.Fprint(w, "\tmultipart upload started")
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// liveSession selects sessions that are neither revoked nor expired.
func liveSession(now time.Time) []models.Cond {
	return []models.Cond{{Column: "revoked_at", Op: models.OpNull}, {Column: "expires_at", Op: models.OpGt, Value: now.UTC()}}
}

func deviceState(d models.Device, signedIn bool) string {
	switch {
	case d.RevokedAt != nil:
		return "revoked"
	case signedIn:
		return "signed in"
	}
	return "signed out"
}

// current is the client a device used last: a device has several when
// its app was reinstalled or another user signed in on it.
func current(cs []fsync.Client) *fsync.Client {
	var best *fsync.Client
	var bestAt time.Time
	for i := range cs {
		at := cs[i].LastMutationAt
		if p := cs[i].PulledAt; p != nil && p.After(at) {
			at = *p
		}
		if best == nil || at.After(bestAt) {
			best, bestAt = &cs[i], at
		}
	}
	return best
}

// lag is how many log numbers the noted pull was behind the head, or
// "reset" when it was in an epoch before the log's.
func lag(c fsync.Client, head fsync.LogHead) string {
	if c.PulledEpoch != head.Epoch {
		return "reset"
	}
	return fmt.Sprint(max(0, head.Seq-*c.PulledSeq))
}

func describeLag(c fsync.Client, head fsync.LogHead) string {
	switch l := lag(c, head); l {
	case "reset":
		return "in epoch " + c.PulledEpoch + ", before the log's; the device resets at its next pull"
	case "0":
		return "at the head"
	default:
		return l + " behind the head"
	}
}

// stamp writes a time in the configured zone (FIELDSYNC_TIME_ZONE), with
// its offset.
func stamp(t time.Time) string { return t.In(zone).Format(time.RFC3339) }

// days writes a retention in days, as it is configured.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
