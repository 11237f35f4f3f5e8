package pack

import (
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
)

//go:embed report.tmpl
var reportFS embed.FS

// reportTmpl is the parsed report; it is never executed itself, only
// cloned for each pack with the functions that depend on the writer (the
// zone of its times, the words of its flags): html/template cannot clone
// a template once executed.
var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"when":    when(time.UTC),
	"explain": func(f models.Flag) string { return f.Detail },
	"coord":   func(v float64) string { return trimFloat(v, 6) },
	"metres":  metres,
	"bytes":   humanBytes,
	"label":   label,
	"flag":    flagText,
	"answer":  answerText,
	"inc":     func(i int) int { return i + 1 },
	"short":   func(s string) string { return s[:min(8, len(s))] },
	"nonzero": func(t *time.Time) bool { return t != nil && !t.IsZero() },
	"deref":   func(t *time.Time) time.Time { return *t },
	"local":   func(t time.Time) string { return t.Format("2006-01-02 15:04:05") },
	"add":     func(a, b float64) float64 { return round1(a + b) },
}).ParseFS(reportFS, "report.tmpl"))

// reportView is what report.html shows.
type reportView struct {
	Item        models.RectificationItem
	Server      string
	KeyID       string
	Digest      string
	GeneratedAt time.Time
	Responsible string
	Cooperating []string
	Units       []models.Unit
	People      []acceptance.Person
	Timeline    []event
	Maps        []siteMap
	Unmapped    []models.Site // sites without a position to plot
	Photos      []photoView
	Tasks       []taskView
	Decisions   []decisionView
	Flagged     int
}

type event struct {
	At           time.Time
	Kind, Detail string
	Who          string
}

type photoView struct {
	N         int
	Evidence  models.Evidence
	File      EvidenceFile
	Site      string
	Inspector string
	HasThumb  bool
}

type taskView struct {
	Task          models.InspectionTask
	Site          string
	Assignee      string
	Verifications []verificationView
	Answers       []answerView
	Notes         []noteView
}

type verificationView struct {
	N            int
	Verification models.Verification
	Inspector    string
	Photos       []int
}

type answerView struct {
	Question, Type, Unit string
	Value                models.RawJSON
}

type noteView struct {
	Note   models.Note
	Author string
}

type decisionView struct {
	Decision       models.Decision
	Decider        string
	OnThisEvidence bool
	Acks           []ackView
}

// ackView is a flag acknowledgement, naming the evidence by its number
// in the report (0 when the evidence is not in the pack).
type ackView struct {
	N int
	models.FlagAck
}

// newReportView gathers the facts of p for people, in the order they read
// them.
func newReportView(p acceptance.EvidencePack, digest, keyID, server string) *reportView {
	es := &p.Set
	v := &reportView{Item: es.Item, Server: server, KeyID: keyID, Digest: digest, GeneratedAt: p.GeneratedAt, Units: es.Units, People: es.People}
	units := map[string]string{}
	for _, u := range es.Units {
		units[u.ID] = u.Name
	}
	v.Responsible = units[es.Item.ResponsibleUnitID]
	for _, id := range es.Item.CooperatingUnitIDs {
		v.Cooperating = append(v.Cooperating, units[id])
	}
	people := map[string]string{}
	for _, u := range append(es.People, p.Deciders...) {
		people[u.ID] = u.DisplayName + " (" + u.Username + ")"
	}
	name := func(id string) string {
		if n, ok := people[id]; ok {
			return n
		}
		return id
	}
	sites := map[string]models.Site{}
	for _, s := range es.Sites {
		sites[s.ID] = s
	}
	templates := map[string]models.ChecklistTemplate{}
	for _, t := range es.Templates {
		templates[t.ID] = t
	}
	number := map[string]int{}
	for i, e := range es.Evidence {
		number[e.ID] = i + 1
		f := evidenceFile(&e)
		v.Photos = append(v.Photos, photoView{N: i + 1, Evidence: e, File: f, Site: sites[e.SiteID].Name, Inspector: name(e.InspectorID), HasThumb: f.Thumbnail != ""})
		if len(e.Flags) > 0 {
			v.Flagged++
		}
	}
	v.Tasks = tasksOf(es, sites, templates, number, name)
	v.Maps, v.Unmapped = mapsOf(es, number)
	for _, d := range p.Decisions {
		dv := decisionView{Decision: d, Decider: name(d.DeciderID), OnThisEvidence: d.EvidenceDigest == digest}
		for _, a := range d.FlagAcks {
			dv.Acks = append(dv.Acks, ackView{N: number[a.EvidenceID], FlagAck: a})
		}
		v.Decisions = append(v.Decisions, dv)
	}
	v.Timeline = timelineOf(p, sites, number, name)
	return v
}

func tasksOf(es *acceptance.EvidenceSet, sites map[string]models.Site, templates map[string]models.ChecklistTemplate, number map[string]int, name func(string) string) []taskView {
	var out []taskView
	vn := 0
	for _, t := range es.Tasks {
		tv := taskView{Task: t, Site: sites[t.SiteID].Name}
		if t.AssigneeID != nil {
			tv.Assignee = name(*t.AssigneeID)
		}
		for _, vr := range es.Verifications {
			if vr.TaskID != t.ID {
				continue
			}
			vn++
			vv := verificationView{N: vn, Verification: vr, Inspector: name(vr.InspectorID)}
			for _, id := range vr.EvidenceIDs {
				if n, ok := number[id]; ok {
					vv.Photos = append(vv.Photos, n)
				}
			}
			tv.Verifications = append(tv.Verifications, vv)
		}
		questions := map[string]models.Question{}
		for _, q := range templates[t.TemplateID].Questions {
			questions[q.ID] = q
		}
		for _, a := range es.Answers {
			if a.TaskID == t.ID {
				q := questions[a.QuestionID]
				if q.Text == "" {
					q.Text = a.QuestionID
				}
				tv.Answers = append(tv.Answers, answerView{Question: q.Text, Type: q.Type, Unit: q.Unit, Value: a.Value})
			}
		}
		for _, n := range es.Notes {
			if n.TaskID == t.ID {
				tv.Notes = append(tv.Notes, noteView{Note: n, Author: name(n.AuthorID)})
			}
		}
		out = append(out, tv)
	}
	return out
}

// mapsOf draws one map per site with a position to plot: its geofence,
// each photo's EXIF position and device fix, and each verification's fix.
// The sites with none are returned apart.
func mapsOf(es *acceptance.EvidenceSet, number map[string]int) (maps []siteMap, unmapped []models.Site) {
	for _, s := range es.Sites {
		var pts []mapPoint
		for _, e := range es.Evidence {
			if e.SiteID != s.ID {
				continue
			}
			n := number[e.ID]
			exif := -1
			if m := e.Media; m != nil && m.HasGPS && m.Lat != nil && m.Lng != nil {
				exif = len(pts)
				pts = append(pts, sitePoint(s, markExif, itoa(n), *m.Lat, *m.Lng, 0, -1))
			}
			if d := e.Location; d != nil {
				pts = append(pts, sitePoint(s, markDevice, itoa(n), d.Lat, d.Lng, d.AccuracyM, exif))
			}
		}
		vn := 0
		for _, t := range es.Tasks {
			for _, vr := range es.Verifications {
				if vr.TaskID != t.ID {
					continue
				}
				vn++
				if t.SiteID == s.ID {
					pts = append(pts, sitePoint(s, markVerification, "V"+itoa(vn), vr.Lat, vr.Lng, vr.AccuracyM, -1))
				}
			}
		}
		if len(pts) == 0 {
			unmapped = append(unmapped, s)
			continue
		}
		maps = append(maps, buildMap(s, pts))
	}
	return maps, unmapped
}

// sitePoint projects a position for the site's map (see buildMap).
func sitePoint(s models.Site, kind, label string, lat, lng, accM float64, link int) mapPoint {
	east, north := projection(s)(lat, lng)
	return mapPoint{mapMarker: mapMarker{Kind: kind, Label: label, Outside: s.DistanceOutsideM(lat, lng) > 0},
		east: east, north: north, accM: accM, link: link}
}

func timelineOf(p acceptance.EvidencePack, sites map[string]models.Site, number map[string]int, name func(string) string) []event {
	es := &p.Set
	ev := []event{{At: es.Item.CreatedAt, Kind: "item", Detail: es.Item.Code + " " + es.Item.Title}}
	for _, s := range es.Submissions {
		ev = append(ev, event{At: s.CreatedAt, Kind: "submission", Who: name(s.SubmittedBy), Detail: label("round") + " " + itoa(s.Round) + ": " + s.Statement})
	}
	for _, t := range es.Tasks {
		ev = append(ev, event{At: t.CreatedAt, Kind: "task", Detail: label(t.Kind) + " · " + sites[t.SiteID].Name + " · " + label(t.Status)})
		if t.AssignedAt != nil && t.AssigneeID != nil {
			ev = append(ev, event{At: *t.AssignedAt, Kind: "assignment", Who: name(*t.AssigneeID), Detail: label(t.Kind) + " · " + sites[t.SiteID].Name})
		}
	}
	for _, v := range es.Verifications {
		ev = append(ev, event{At: v.RecordedAt, Kind: "verification", Who: name(v.InspectorID), Detail: label(v.Conclusion) + " " + v.Notes})
	}
	for _, e := range es.Evidence {
		if e.CompletedAt != nil {
			ev = append(ev, event{At: *e.CompletedAt, Kind: "evidence", Who: name(e.InspectorID), Detail: "#" + itoa(number[e.ID]) + " " + label(e.Kind) + " · " + label("evidence."+e.Status)})
		}
	}
	for _, n := range es.Notes {
		ev = append(ev, event{At: n.CreatedAt, Kind: "note", Who: name(n.AuthorID), Detail: n.Text})
	}
	for _, d := range p.Decisions {
		ev = append(ev, event{At: d.CreatedAt, Kind: "decision", Who: name(d.DeciderID), Detail: label(d.Kind) + " · " + label(d.FromStatus) + " → " + label(d.ToStatus)})
	}
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].At.Before(ev[j].At) })
	return ev
}

// write renders the page. Thumbnails are streamed into it as base64 data
// URIs between template parts: html/template escapes every value, and
// the only bytes written around it are constants and base64, whose
// alphabet needs no escaping in an attribute.
func (v *reportView) write(w io.Writer, reportTmpl *template.Template, thumbnail func(io.Writer, string) error) error {
	if err := reportTmpl.ExecuteTemplate(w, "head", v); err != nil {
		return err
	}
	for i := range v.Photos {
		ph := &v.Photos[i]
		if err := reportTmpl.ExecuteTemplate(w, "photo-open", ph); err != nil {
			return err
		}
		if ph.HasThumb {
			if _, err := io.WriteString(w, `<img alt="" src="data:image/jpeg;base64,`); err != nil {
				return err
			}
			enc := base64.NewEncoder(base64.StdEncoding, w)
			if err := thumbnail(enc, ph.Evidence.ID); err != nil {
				return err
			}
			if err := enc.Close(); err != nil {
				return err
			}
			if _, err := io.WriteString(w, `">`); err != nil {
				return err
			}
		}
		if err := reportTmpl.ExecuteTemplate(w, "photo-close", ph); err != nil {
			return err
		}
	}
	return reportTmpl.ExecuteTemplate(w, "tail", v)
}

// when writes times in loc, with the zone's offset from UTC.
func when(loc *time.Location) func(time.Time) string {
	return func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(loc).Format("2006-01-02 15:04:05（UTC-07:00）")
	}
}

// reportTemplate is the report with its times in loc and its flags
// explained by explain (nil: the flag's own detail).
func reportTemplate(loc *time.Location, explain func(models.Flag) string) (*template.Template, error) {
	if loc == nil {
		loc = time.UTC
	}
	if explain == nil {
		explain = func(f models.Flag) string { return f.Detail }
	}
	t, err := reportTmpl.Clone()
	if err != nil {
		return nil, err
	}
	return t.Funcs(template.FuncMap{"when": when(loc), "explain": explain}), nil
}

// trimFloat writes v with at most prec decimals, without trailing zeros.
func trimFloat(v float64, prec int) string {
	s := formatFloat(v, prec)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return formatFloat(float64(n)/(1<<30), 2) + " GiB"
	case n >= 1<<20:
		return formatFloat(float64(n)/(1<<20), 1) + " MiB"
	case n >= 1<<10:
		return formatFloat(float64(n)/(1<<10), 1) + " KiB"
	}
	return itoa(int(n)) + " B"
}
