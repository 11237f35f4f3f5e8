package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/items"
)

// event is one line of an item's timeline.
type event struct {
	At   time.Time
	Kind string
	// Who did it, by display name; Text what it says.
	Who, Text, Extra string
	Status           string
	Reasons          []string
}

// photo is one file in the gallery with its flags.
type photo struct {
	E        models.Evidence
	Who      string
	Flags    []flagView
	Site     string
	Judged   bool
	HasThumb bool
}

type flagView struct {
	models.Flag
	// Field is the name of the acknowledgement's form field, when the
	// flag is one to acknowledge in this review.
	Field string
	// Evidence names the photo the flag is of ("" for a record's flag).
	Evidence string
}

// ackField is the form field of one flag acknowledgement.
func ackField(f acceptance.FlagRef) string {
	if f.EvidenceID != "" {
		return "ack|e|" + f.EvidenceID + "|" + f.Code
	}
	return "ack|v|" + f.VerificationID + "|" + f.Code
}

func (w *Console) item(c *fiber.Ctx, r *req) error {
	rv, err := w.accept.Review(c.UserContext(), r.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	return w.render(c, r, http.StatusOK, "item", rv.Item.Code+" "+rv.Item.Title, "ledger", w.itemData(&rv))
}

// itemData arranges a review for the item page.
func (w *Console) itemData(rv *acceptance.Review) map[string]any {
	people := map[string]string{}
	for _, p := range rv.People {
		people[p.ID] = p.DisplayName
		if p.DisplayName == "" {
			people[p.ID] = p.Username
		}
	}
	units := map[string]string{}
	for _, u := range rv.Units {
		units[u.ID] = u.Name
	}
	sites := map[string]models.Site{}
	for _, s := range rv.Sites {
		sites[s.ID] = s
	}
	toAck := map[string]string{}
	for _, f := range rv.Flags {
		key := f.EvidenceID + "|" + f.VerificationID + "|" + f.Code
		toAck[key] = ackField(f)
	}
	judged := map[string]bool{}
	for _, v := range rv.Judged {
		judged[v] = true
	}
	var events []event
	for _, s := range rv.Submissions {
		events = append(events, event{At: s.CreatedAt, Kind: "submission", Who: people[s.SubmittedBy], Text: s.Statement, Extra: strconv.Itoa(s.Round)})
	}
	for _, d := range rv.Decisions {
		events = append(events, event{At: d.CreatedAt, Kind: "decision_" + d.Kind, Who: people[d.DeciderID], Text: d.Comment, Reasons: d.Reasons, Extra: d.RequiredEvidence})
	}
	taskSite := map[string]string{}
	for _, t := range rv.Tasks {
		taskSite[t.ID] = sites[t.SiteID].Name
		who := ""
		if t.AssigneeID != nil {
			who = people[*t.AssigneeID]
		}
		kind := "task_" + t.Kind
		if t.ReworkOf != nil {
			kind = "task_rework"
		}
		events = append(events, event{At: t.CreatedAt, Kind: kind, Who: who, Text: t.Instructions, Status: t.Status, Reasons: t.Reasons, Extra: t.RequiredEvidence})
	}
	for _, v := range rv.Verifications {
		events = append(events, event{At: v.CreatedAt, Kind: "verification", Who: people[v.InspectorID], Text: v.Notes, Status: v.Conclusion, Extra: taskSite[v.TaskID]})
	}
	for _, n := range rv.Notes {
		events = append(events, event{At: n.CreatedAt, Kind: "note", Who: people[n.AuthorID], Text: n.Text})
	}
	// The order the server received them in: its own clock, never a phone's.
	sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })

	var photos []photo
	for _, e := range rv.Evidence {
		p := photo{E: e, Who: people[e.InspectorID], Site: sites[e.SiteID].Name, HasThumb: e.Media != nil && e.Media.HasThumbnail && e.Status == models.EvidenceVerified}
		for _, f := range e.Flags {
			p.Flags = append(p.Flags, flagView{Flag: f, Field: toAck[e.ID+"||"+f.Code], Evidence: e.ID})
		}
		photos = append(photos, p)
	}
	var recordFlags []flagView
	for _, f := range rv.Flags {
		if f.EvidenceID == "" {
			recordFlags = append(recordFlags, flagView{Flag: f.Flag, Field: ackField(f)})
		}
	}
	round := 0
	if rv.Round != nil {
		round = rv.Round.Round
	}
	return map[string]any{
		"R": rv, "Unit": units[rv.Item.ResponsibleUnitID], "Cooperating": namesOf(rv.Item.CooperatingUnitIDs, units),
		"Events": events, "Photos": photos, "RecordFlags": recordFlags, "Round": round,
		"Pending": rv.Item.Status == models.ItemPendingAcceptance,
		"Map":     w.siteMap(rv, sites),
		"CanSubmitStatus": rv.Item.Status == models.ItemNotStarted || rv.Item.Status == models.ItemInProgress ||
			rv.Item.Status == models.ItemRejected || rv.Item.Status == models.ItemReopened,
	}
}

func namesOf(ids []string, names map[string]string) string {
	var out []string
	for _, id := range ids {
		if n := names[id]; n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "、")
}

// decide sends the supervisor's decision, bound to the digest the page
// showed, with every acknowledgement; an acknowledgement of a photo's
// flag is accepted only when the page says that photo was opened in the
// viewer, and the audit entry records which photos were.
func (w *Console) decide(c *fiber.Ctx, r *req) error {
	id := c.Params("id")
	form, err := c.MultipartForm()
	var values map[string][]string
	if err == nil {
		values = form.Value
	} else {
		values = map[string][]string{}
		c.Request().PostArgs().VisitAll(func(k, v []byte) {
			values[string(k)] = append(values[string(k)], string(v))
		})
	}
	first := func(k string) string {
		if v := values[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	viewed := map[string]bool{}
	var viewedList []string
	for _, v := range values["viewed"] {
		if models.ValidID(v) && !viewed[v] {
			viewed[v] = true
			viewedList = append(viewedList, v)
		}
	}
	sort.Strings(viewedList)
	in := acceptance.DecisionInput{Decision: first("decision"), EvidenceDigest: first("digest"), ViewedEvidence: viewedList}
	if cm := first("comment"); cm != "" {
		in.Comment = &cm
	}
	if in.Decision == models.DecisionReject {
		for _, line := range strings.Split(first("reasons"), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				in.Reasons = append(in.Reasons, line)
			}
		}
		if re := first("required_evidence"); re != "" {
			in.RequiredEvidence = &re
		}
	}
	if in.Decision == models.DecisionAccept {
		keys := make([]string, 0)
		for k := range values {
			if strings.HasPrefix(k, "ack|") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts := strings.Split(k, "|")
			comment := first(k)
			if len(parts) != 4 || comment == "" {
				continue
			}
			ack := models.FlagAck{Code: parts[3], Comment: comment}
			if parts[1] == "e" {
				if !viewed[parts[2]] {
					return models.FieldError(models.CodeFlagNotAcknowledged, "flag_acks", "open photo %s in the viewer before acknowledging its flags", parts[2])
				}
				ack.EvidenceID = parts[2]
			} else {
				ack.VerificationID = parts[2]
			}
			in.FlagAcks = append(in.FlagAcks, ack)
		}
	}
	d, err := w.accept.Decide(c.UserContext(), r.Actor, id, in)
	if err != nil {
		return err
	}
	done := "rejected"
	if d.Kind == models.DecisionAccept {
		done = "accepted"
	}
	return c.Redirect("/items/"+id+"?done="+done, http.StatusSeeOther)
}

func (w *Console) submitForm(c *fiber.Ctx, r *req) error {
	it, err := w.items.GetItem(c.UserContext(), r.Actor, c.Params("id"))
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	users, err := w.items.ListUsers(ctx, r.Actor, items.UserFilter{Role: models.RoleInspector}, models.ListParams{Limit: models.MaxPageSize})
	if err != nil {
		return err
	}
	sites, err := w.items.ListSites(ctx, r.Actor, items.SiteFilter{}, models.ListParams{Limit: models.MaxPageSize})
	if err != nil {
		return err
	}
	templates, err := w.items.ListTemplates(ctx, r.Actor, models.ListParams{Limit: models.MaxPageSize})
	if err != nil {
		return err
	}
	// Tasks the item already has name its sites and last inspectors.
	tasks, _ := w.items.ListTasks(ctx, r.Actor, items.TaskFilter{ItemID: it.ID}, models.ListParams{Limit: models.MaxPageSize})
	// After a rejection the rework checks form the next round when no
	// one new is named, so nothing is ticked for the user.
	rework := false
	for _, t := range tasks.Items {
		rework = rework || t.ReworkOf != nil
	}
	return w.render(c, r, http.StatusOK, "submit", r.L.T("web.submit.title", nil), "ledger", map[string]any{
		"Item": it, "Inspectors": users.Items, "Sites": sites.Items,
		"Templates": templates.Items, "NeedTemplate": len(tasks.Items) == 0, "Rework": rework})
}

// submit is the unit's request for acceptance (acceptance.SubmitForAcceptance).
func (w *Console) submit(c *fiber.Ctx, r *req) error {
	id := c.Params("id")
	args := c.Request().PostArgs()
	statement := strings.TrimSpace(string(args.Peek("statement")))
	in := acceptance.SubmitInput{Statement: &statement}
	for _, v := range args.PeekMulti("inspector") {
		in.InspectorIDs = append(in.InspectorIDs, string(v))
	}
	for _, v := range args.PeekMulti("site") {
		in.SiteIDs = append(in.SiteIDs, string(v))
	}
	if t := string(args.Peek("template")); t != "" {
		in.TemplateID = &t
	}
	ver, err := strconv.ParseInt(string(args.Peek("version")), 10, 64)
	if err != nil {
		return models.FieldError(models.CodeValidation, "version", "version")
	}
	in.Version = &ver
	if _, err := w.accept.SubmitForAcceptance(c.UserContext(), r.Actor, id, in); err != nil {
		return err
	}
	return c.Redirect("/items/"+id+"?done=submitted", http.StatusSeeOther)
}
