package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
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
	username := fs.String("user", "", tr("flag.user"))
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
					return fail("sync.no_user", "Username", *username)
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

	fmt.Fprintln(stdout, tr("sync.head", "Seq", head.Seq, "Epoch", head.Epoch))
	var t table
	t.row(strings.Split(tr("sync.devices_header"), "|")...)
	for _, d := range devices {
		cs := byDevice[d.ID]
		mutation, pulled, behind := "-", "-", "-"
		if c := current(cs); c != nil {
			mutation = fmt.Sprint(c.LastMutationID)
			if c.PulledAt != nil {
				pulled, behind = stamp(*c.PulledAt), lag(*c, head)
			}
		}
		t.row(d.ID, names[d.UserID], orDash(d.Name), stamp(d.LastSeenAt), deviceState(d, signedIn[d.ID]),
			fmt.Sprint(len(cs)), mutation, pulled, behind, fmt.Sprint(pendingOf[d.ID]))
	}
	return t.write(stdout)
}

// syncDevice prints everything the server knows about one device's sync.
func syncDevice(ctx context.Context, db *storage.DB, eng *fsync.Engine, args []string, stdout io.Writer) error {
	if len(args) != 1 || !models.ValidID(args[0]) {
		return fail("sync.device_usage", "Usage", usageLine(commandNamed("sync device")))
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
				return fail("sync.no_device", "ID", id)
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

	// The lines' labels are padded to one width, in either language.
	label := func(id string) string { return pad(tr("sync.label."+id), 14) }
	line := func(id, text string) { fmt.Fprintln(stdout, label(id)+text) }
	line("device", tr("sync.device_line", "ID", d.ID, "Name", fmt.Sprintf("%q", d.Name), "Platform", orDash(d.Platform), "At", stamp(d.CreatedAt)))
	line("user", fmt.Sprintf("%s (%s) %s", u.Username, u.Role, u.ID))
	line("last_sign_in", stamp(d.LastSeenAt))
	state := deviceState(d, len(live) > 0)
	switch {
	case d.RevokedAt != nil:
		state = tr("sync.state_revoked_at", "State", state, "At", stamp(*d.RevokedAt))
	case len(live) > 0:
		state = tr("sync.state_session", "State", state, "At", stamp(live[0].ExpiresAt))
	}
	line("state", state)
	line("sync_log", tr("sync.log_line", "Seq", head.Seq, "Epoch", head.Epoch, "RetainedFrom", head.RetainedFrom))
	if len(clients) == 0 {
		fmt.Fprintln(stdout, "\n"+tr("sync.no_client"))
	}
	sub := func(id, text string) { fmt.Fprintln(stdout, "  "+pad(tr("sync.label."+id), 15)+text) }
	for _, c := range clients {
		other := ""
		if c.UserID != d.UserID {
			other = c.UserID
		}
		fmt.Fprintln(stdout, "\n"+tr("sync.client", "ID", c.ID, "At", stamp(c.CreatedAt), "Other", other))
		if c.LastMutationID > 0 {
			sub("last_mutation", tr("sync.mutation_applied", "ID", c.LastMutationID, "At", stamp(c.LastMutationAt)))
		} else {
			sub("last_mutation", tr("sync.none_pushed"))
		}
		if c.PulledAt == nil {
			sub("last_pull", tr("sync.none_noted"))
		} else {
			sub("last_pull", tr("sync.pulled", "At", stamp(*c.PulledAt), "Seq", *c.PulledSeq, "Lag", describeLag(c, head)))
		}
		if c.PulledAt != nil && c.PulledEpoch == head.Epoch && c.UserID == u.ID {
			n, err := eng.Waiting(ctx, models.Actor{UserID: u.ID, Username: u.Username, Role: u.Role, UnitID: u.UnitID, UnitPath: u.UnitPath}, *c.PulledSeq)
			if err != nil {
				return err
			}
			sub("waiting", tr("sync.waiting", "N", n))
		}
		rej, err := eng.Rejections(ctx, c.ID, rejectionsShown)
		if err != nil {
			return err
		}
		if len(rej) == 0 {
			sub("rejected", tr("sync.no_rejections", "Days", days(eng.ResultRetention)))
			continue
		}
		sub("rejected", tr("sync.rejections", "N", len(rej), "Days", days(eng.ResultRetention)))
		t := table{indent: "    "}
		for _, r := range rej {
			t.row(fmt.Sprint(r.MutationID), stamp(r.At), r.Name, r.Code, rejection(r.Code, r.Message))
		}
		if err := t.write(stdout); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "\n"+tr("sync.pending", "N", len(pending)))
	t := table{indent: "  "}
	for _, e := range pending {
		cells := []string{e.ID, tr("sync.pending_task", "ID", e.TaskID), e.Kind, tr("sync.bytes", "N", e.Size), tr("sync.declared", "At", stamp(e.CreatedAt))}
		if e.UploadID != "" {
			cells = append(cells, tr("sync.multipart"))
		}
		t.row(cells...)
	}
	return t.write(stdout)
}

// rejection is a rejected mutation's words in fieldctl's language: its
// code's message from the catalog, or, in English, the words it was
// rejected with.
func rejection(code, message string) string {
	return say.Detail(code, "", nil, message)
}

// liveSession selects sessions that are neither revoked nor expired.
func liveSession(now time.Time) []models.Cond {
	return []models.Cond{{Column: "revoked_at", Op: models.OpNull}, {Column: "expires_at", Op: models.OpGt, Value: now.UTC()}}
}

func deviceState(d models.Device, signedIn bool) string {
	switch {
	case d.RevokedAt != nil:
		return tr("sync.state.revoked")
	case signedIn:
		return tr("sync.state.signed_in")
	}
	return tr("sync.state.signed_out")
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
// the word for a reset (cli.sync.reset) when it was in an epoch before
// the log's.
func lag(c fsync.Client, head fsync.LogHead) string {
	if c.PulledEpoch != head.Epoch {
		return tr("sync.reset")
	}
	return fmt.Sprint(max(0, head.Seq-*c.PulledSeq))
}

func describeLag(c fsync.Client, head fsync.LogHead) string {
	switch {
	case c.PulledEpoch != head.Epoch:
		return tr("sync.lag_epoch", "Epoch", c.PulledEpoch)
	case head.Seq <= *c.PulledSeq:
		return tr("sync.lag_none")
	}
	return tr("sync.lag_behind", "N", head.Seq-*c.PulledSeq)
}

// stamp writes a time in the configured zone (FIELDSYNC_TIME_ZONE), with
// its offset.
func stamp(t time.Time) string { return t.In(zone).Format(time.RFC3339) }

// days writes a retention in days, as it is configured.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return tr("sync.days", "N", int64(d/(24*time.Hour)))
	}
	return d.String()
}
