package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	contract "github.com/fieldsync/fieldsync/mobile-contract"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/fieldwork"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// syncSeed pins TestSyncConvergence's schedule; 0 picks a new one, which
// the test logs so that a failing run can be repeated.
var syncSeed = flag.Uint64("sync.seed", 0, "seed of TestSyncConvergence (0: a new one each run)")

const (
	cvRounds   = 15
	cvDropRate = 0.15 // a response lost after the server acted on the request
	cvDupRate  = 0.10 // a request delivered twice
	cvDownRate = 0.05 // a request that never reaches the server
)

// TestSyncConvergence runs inspectors' phones (some users on two phones)
// and a supervisor's through rounds of offline work and syncs over a
// network that loses answers and repeats requests, while the supervisor
// reassigns and cancels tasks. Once the network heals and every phone has
// synced, each phone must hold exactly the server's view of its user,
// every mutation must have been applied once or rejected with a reason,
// and the tasks' statuses and versions must be explained by the applied
// mutations alone.
//
// In "sequential" every step runs after the other, so a seed repeats a
// run exactly. In "concurrent" the phones that go online in a round sync
// at the same time while the supervisor acts, which is where transient
// conflicts between transactions show; the server then decides the
// interleaving, so a seed repeats only the plan.
func TestSyncConvergence(t *testing.T) {
	seed := *syncSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (repeat with: go test ./api -run 'TestSyncConvergence' -sync.seed=%d)", seed, seed)
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			for _, mode := range []string{"sequential", "concurrent"} {
				t.Run(mode, func(t *testing.T) {
					w := newConvergenceWorld(t, dialect, seed)
					w.concurrent = mode == "concurrent"
					w.run()
					w.check()
				})
			}
		})
	}
}

// cvWorld is one run: the server, the phones, and everything that was
// done, to check the end state against.
type cvWorld struct {
	t    *testing.T
	e    *env
	ctx  context.Context
	rng  *rand.Rand
	base string

	users      map[string]models.User // by username
	inspectors []string               // usernames
	templates  []models.ChecklistTemplate
	items      []models.RectificationItem
	sites      []models.Site
	taskIDs    []string // every task, in creation order

	concurrent bool // the phones of a round sync at the same time

	devices []*cvDevice
	muts    []*cvMut // every mutation, in the order it was enqueued

	// What the supervisor did, per task.
	supChanges  map[string]int    // changes (each bumps the version)
	resets      map[string]int    // reassignments or unassignments of a task in progress
	cancelledAt map[string]string // status the task was cancelled from
}

// cvDevice is one phone.
type cvDevice struct {
	name     string
	user     models.User
	c        *contract.Client
	net      *cvFlaky
	rng      *rand.Rand
	readOnly bool // a supervisor's phone: it pulls only

	muts     map[int64]*cvMut
	rejected map[int64]contract.MutationResult
	applied  int // as the push reports counted them
	// overlay is the status this phone gave a task offline, until its
	// next pull brings the server's.
	overlay map[string]string
}

// cvMut is one enqueued mutation and what it would create.
type cvMut struct {
	dev            *cvDevice
	id             int64
	name           string
	taskID         string
	recID          string   // the verification, answer or note it creates
	evidence       []string // evidence ids it creates or links
	verificationID string   // evidence.attach
	content        string   // two creates with one id are "the same" when this is equal
	text           string   // note.add
	badCode        string   // the code a deliberately invalid mutation must get
	shared         bool     // the user's other phone sends recID too
}

func (m *cvMut) String() string {
	return fmt.Sprintf("%s mutation %d %s(task %s, record %s)", m.dev.name, m.id, m.name, m.taskID, m.recID)
}

func (m *cvMut) isApplied() bool {
	_, rejected := m.dev.rejected[m.id]
	return !rejected
}

func cvNoSleep(context.Context, time.Duration) error { return nil }

// cvUUID is a version-4 UUID drawn from r, so that a seed repeats a run.
func cvUUID(r *rand.Rand) string {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], r.Uint64())
	binary.BigEndian.PutUint64(u[8:], r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// cvPick returns an index drawn with the given weights.
func cvPick(r *rand.Rand, weights ...float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// errCvNetwork is what the flaky network reports.
var errCvNetwork = errors.New("flaky network: connection reset")

// cvFlaky is a network that, at random, loses a request before it reaches
// the server, loses the answer after the server acted on it, or delivers
// a request twice (one after the other, or both at once).
type cvFlaky struct {
	base    http.RoundTripper
	perfect atomic.Bool

	mu  gosync.Mutex
	rng *rand.Rand

	downs, drops, dups atomic.Int64
}

func (f *cvFlaky) RoundTrip(req *http.Request) (*http.Response, error) {
	if f.perfect.Load() {
		return f.base.RoundTrip(req)
	}
	f.mu.Lock()
	down, drop, dup, together := f.rng.Float64() < cvDownRate, f.rng.Float64() < cvDropRate, f.rng.Float64() < cvDupRate, f.rng.IntN(2) == 0
	f.mu.Unlock()
	if down {
		if req.Body != nil {
			req.Body.Close()
		}
		f.downs.Add(1)
		return nil, errCvNetwork
	}
	var wg gosync.WaitGroup
	if dup && req.GetBody != nil {
		f.dups.Add(1)
		twin := req.Clone(req.Context())
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		twin.Body = body
		send := func() {
			if res, err := f.base.RoundTrip(twin); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}
		// Two logins of one device at once leave one of the two sessions
		// revoked (a login ends the device's previous session), and the
		// phone may keep the dead one; repeated logins are only sent one
		// after the other.
		if together && strings.HasPrefix(req.URL.Path, "/v1/sync/") {
			wg.Go(send)
		} else {
			send()
		}
	}
	res, err := f.base.RoundTrip(req)
	wg.Wait()
	if err != nil || !drop {
		return res, err
	}
	f.drops.Add(1)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return nil, errCvNetwork
}

func newConvergenceWorld(t *testing.T, dialect string, seed uint64) *cvWorld {
	e := newEnv(t, dialect)
	w := &cvWorld{t: t, e: e, ctx: context.Background(), rng: rand.New(rand.NewPCG(seed, 0)),
		users: map[string]models.User{}, supChanges: map[string]int{}, resets: map[string]int{}, cancelledAt: map[string]string{}}
	f := e.fx
	ctx := w.ctx
	for name, u := range f.users {
		w.users[name] = u
	}

	// Eight inspectors: the fixture's two and six more, some in county B.
	w.inspectors = []string{"insp1", "insp2"}
	for i := 3; i <= 8; i++ {
		name := fmt.Sprintf("insp%d", i)
		unit := f.deptA
		if i%2 == 0 {
			unit = f.countyB
		}
		w.users[name] = must(items.New(e.svc).CreateUser(ctx, system, items.UserInput{Username: ptr(name), Password: ptr("password-" + name),
			Role: ptr(models.RoleInspector), UnitID: &unit.ID, DisplayName: ptr("用户" + name), Phone: ptr("13800000000")}))
		w.inspectors = append(w.inspectors, name)
	}
	w.templates = []models.ChecklistTemplate{f.tmpl, must(items.New(e.svc).CreateTemplate(ctx, system, items.TemplateInput{Name: ptr("扬尘核查表"),
		Questions: &[]models.Question{
			{ID: "q1", Text: "是否苫盖", Type: models.QuestionYesNo, Required: true},
			{ID: "q2", Text: "PM10", Type: models.QuestionNumber, Unit: "µg/m³"},
			{ID: "q3", Text: "说明", Type: models.QuestionText},
			{ID: "q4", Text: "现场照片", Type: models.QuestionPhoto},
		}}))}
	w.items = []models.RectificationItem{f.itemA, f.itemB}
	w.sites = []models.Site{f.siteA, f.siteB}
	for i, unit := range []models.Unit{f.countyA, f.countyB, f.deptA} {
		w.items = append(w.items, must(items.New(e.svc).CreateItem(ctx, system, items.ItemInput{
			Code: ptr(fmt.Sprintf("C-%d", i)), Title: ptr("扬尘污染整治"), Source: ptr("第二轮中央生态环境保护督察"), Category: ptr("扬尘"),
			Area: ptr("大气环境"), Target: ptr("达标"), Measures: ptr("苫盖、洒水"), ResponsibleUnitID: &unit.ID,
			FirstResponsible: ptr("区长"), Deadline: models.At(e.now.AddDate(0, 3, 0)), SupervisionLevel: ptr(models.SupervisionSpecial),
		})))
		for j := range 2 {
			w.sites = append(w.sites, must(items.New(e.svc).CreateSite(ctx, system, items.SiteInput{UnitID: &unit.ID, Name: ptr(fmt.Sprintf("工地 %d-%d", i, j)),
				Kind: ptr("construction_site"), Lat: ptr(29.6 + float64(i)/10 + float64(j)/100), Lng: ptr(116.1), RadiusM: ptr(150.0)})))
		}
	}
	w.taskIDs = []string{f.task1.ID, f.task2.ID, f.taskB.ID}
	for i := range 17 {
		who := ""
		if i%8 != 7 { // a few start unassigned
			who = w.inspectors[w.rng.IntN(len(w.inspectors))]
		}
		w.newTask(who)
	}
	w.base = e.listen()

	// Phones: every inspector has one, insp1, insp3 and insp5 a second;
	// supa's phone pulls the county.
	for _, name := range append(slices.Clone(w.inspectors), "insp1", "insp3", "insp5", "supa") {
		w.addDevice(name)
	}
	return w
}

// newTask creates a task on a random item and site, assigned to who ("":
// unassigned).
func (w *cvWorld) newTask(who string) string {
	it := w.items[w.rng.IntN(len(w.items))]
	st := w.sites[w.rng.IntN(len(w.sites))]
	tm := w.templates[w.rng.IntN(len(w.templates))]
	in := items.TaskInput{ItemID: &it.ID, SiteID: &st.ID, Kind: ptr(models.TaskProgressCheck), TemplateID: &tm.ID,
		WindowStart: ptr(w.e.now), DueAt: ptr(w.e.now.Add(72 * time.Hour))}
	if who != "" {
		in.AssigneeID = ptr(w.users[who].ID)
	}
	task := must(items.New(w.e.svc).CreateTask(w.ctx, system, in))
	w.taskIDs = append(w.taskIDs, task.ID)
	return task.ID
}

func (w *cvWorld) addDevice(username string) {
	n := 1
	for _, d := range w.devices {
		if d.user.Username == username {
			n++
		}
	}
	net := &cvFlaky{base: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}, rng: rand.New(rand.NewPCG(w.rng.Uint64(), 1))}
	w.t.Cleanup(net.base.(*http.Transport).CloseIdleConnections)
	limit := []int{0, 4, 25}[w.rng.IntN(3)] // some phones page in small pages
	d := &cvDevice{
		name: fmt.Sprintf("%s#%d", username, n), user: w.users[username], net: net, rng: rand.New(rand.NewPCG(w.rng.Uint64(), 2)),
		readOnly: w.users[username].Role != models.RoleInspector,
		muts:     map[int64]*cvMut{}, rejected: map[int64]contract.MutationResult{}, overlay: map[string]string{},
	}
	d.c = contract.New(contract.Config{BaseURL: w.base, DeviceID: cvUUID(w.rng), HTTP: &http.Client{Transport: net, Timeout: time.Minute},
		Sleep: cvNoSleep, PullLimit: limit})
	var err error
	for range 20 {
		if err = d.c.Login(w.ctx, username, "password-"+username); err == nil {
			break
		}
	}
	if err != nil {
		w.t.Fatalf("%s: login: %v", d.name, err)
	}
	w.devices = append(w.devices, d)
}

func (w *cvWorld) run() {
	ctx, cancel := context.WithCancel(w.ctx)
	// The background stamper every server runs, beside the stamping each
	// push does itself.
	var bg gosync.WaitGroup
	bg.Go(func() { w.e.sync.Run(ctx, 20*time.Millisecond, time.Hour) })
	defer func() { cancel(); bg.Wait() }()

	// Early, so that what follows is checked without a reset covering it.
	newEpochAt := 2 + w.rng.IntN(3)
	for round := range cvRounds {
		// One step per phone and a few of the supervisor's, in a random
		// order; run one after the other so that a seed repeats a run,
		// or with the syncs at the end of the round, all at once.
		steps := make([]int, 0, len(w.devices)+2)
		for i := range w.devices {
			steps = append(steps, i)
		}
		for range w.rng.IntN(3) {
			steps = append(steps, -1)
		}
		w.rng.Shuffle(len(steps), func(i, j int) { steps[i], steps[j] = steps[j], steps[i] })
		var online []*cvDevice
		for _, s := range steps {
			if s < 0 {
				w.supervise()
				continue
			}
			d := w.devices[s]
			switch {
			case !d.readOnly && d.rng.Float64() >= 0.45:
				w.work(d)
			case w.concurrent:
				online = append(online, d)
			default:
				w.mustSync(d)
			}
		}
		if len(online) > 0 {
			errs := make([]error, len(online))
			var wg gosync.WaitGroup
			for i, d := range online {
				wg.Go(func() { errs[i] = w.syncDevice(d) })
			}
			w.supervise()
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				w.t.Fatal(err)
			}
		}
		switch {
		case round == newEpochAt:
			// The server is restored from a backup: every phone resets.
			if _, err := w.e.sync.NewEpoch(w.ctx); err != nil {
				w.t.Fatal(err)
			}
		case w.rng.IntN(3) == 0:
			if _, err := w.e.sync.Compact(w.ctx, w.e.now); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	// The network heals; every phone syncs twice.
	for _, d := range w.devices {
		d.net.perfect.Store(true)
	}
	for range 2 {
		for _, d := range w.devices {
			w.mustSync(d)
		}
	}
	var downs, drops, dups, retries int64
	for _, d := range w.devices {
		downs += d.net.downs.Load()
		drops += d.net.drops.Load()
		dups += d.net.dups.Load()
		retries += d.c.Stats().Retries
	}
	applied, codes := 0, map[string]int{}
	for _, m := range w.muts {
		if m.isApplied() {
			applied++
		} else {
			codes[m.dev.rejected[m.id].Code]++
		}
	}
	w.t.Logf("%d phones, %d tasks, %d mutations: %d applied, rejected %v; network: %d requests lost, %d answers lost, %d duplicated; %d client retries",
		len(w.devices), len(w.taskIDs), len(w.muts), applied, codes, downs, drops, dups, retries)
	if drops == 0 || dups == 0 {
		w.t.Errorf("the flaky network never dropped (%d) or duplicated (%d) anything", drops, dups)
	}
}

func (w *cvWorld) mustSync(d *cvDevice) {
	w.t.Helper()
	if err := w.syncDevice(d); err != nil {
		w.t.Fatal(err)
	}
}

// syncDevice pushes and pulls until both succeed, collecting what the
// pushes report.
func (w *cvWorld) syncDevice(d *cvDevice) error {
	var err error
	for range 25 {
		var rep contract.PushReport
		rep, err = d.c.Push(w.ctx)
		d.applied += rep.Applied
		for _, r := range rep.Rejected {
			if prev, dup := d.rejected[r.ID]; dup {
				w.t.Errorf("%s: mutation %d reported rejected twice (%v, %v)", d.name, r.ID, prev, r)
			}
			d.rejected[r.ID] = r
		}
		if err != nil {
			continue
		}
		if _, err = d.c.Pull(w.ctx); err == nil {
			clear(d.overlay)
			return nil
		}
	}
	return fmt.Errorf("%s: no successful sync in 25 tries: %w", d.name, err)
}

// cvLocalTask is what a phone knows of a task.
type cvLocalTask struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	TemplateID string `json:"template_id"`
}

// work records one to three things offline, on tasks the phone holds.
func (w *cvWorld) work(d *cvDevice) {
	recs := d.c.Records(models.EntityTasks)
	ids := make([]string, 0, len(recs))
	for id := range recs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return
	}
	for range 1 + d.rng.IntN(4) {
		var tk cvLocalTask
		if err := json.Unmarshal(recs[ids[d.rng.IntN(len(ids))]], &tk); err != nil {
			w.t.Fatal(err)
		}
		if s, ok := d.overlay[tk.ID]; ok {
			tk.Status = s
		}
		var choice string
		switch tk.Status {
		case models.TaskAssigned:
			choice = []string{"start", "note", "answer", "verification", "complete"}[cvPick(d.rng, 45, 20, 15, 10, 10)]
		case models.TaskInProgress:
			choice = []string{"answer", "verification", "note", "complete", "attach", "start"}[cvPick(d.rng, 30, 20, 15, 20, 10, 5)]
		default:
			choice = []string{"note", "answer", "verification"}[cvPick(d.rng, 60, 20, 20)]
		}
		w.enqueue(d, tk, choice)
	}
}

func (w *cvWorld) enqueue(d *cvDevice, tk cvLocalTask, choice string) {
	m := &cvMut{dev: d, taskID: tk.ID}
	var args any
	switch choice {
	case "start", "complete":
		m.name = fieldwork.MutTaskStart
		d.overlay[tk.ID] = models.TaskInProgress
		if choice == "complete" {
			m.name = fieldwork.MutTaskComplete
			d.overlay[tk.ID] = models.TaskCompleted
		}
		args = contract.TaskArgs{TaskID: tk.ID}
	case "answer":
		m.name, m.recID = fieldwork.MutChecklistAnswer, cvUUID(d.rng)
		qid, value := w.answerFor(d, tk, m)
		m.content = tk.ID + "|" + qid + "|" + string(value)
		args = contract.AnswerArgs{ID: m.recID, TaskID: tk.ID, QuestionID: qid, Value: value}
	case "verification":
		m.name, m.recID = fieldwork.MutVerificationRecord, cvUUID(d.rng)
		for range d.rng.IntN(3) {
			m.evidence = append(m.evidence, cvUUID(d.rng))
		}
		args = contract.VerificationArgs{ID: m.recID, TaskID: tk.ID,
			Conclusion: models.Conclusions[d.rng.IntN(len(models.Conclusions))], Notes: "现场核查",
			Location:   contract.Location{Lat: 29.7 + d.rng.Float64()/100, Lng: 116.0, AccuracyM: 5 + d.rng.Float64()*20, Mocked: d.rng.IntN(10) == 0},
			RecordedAt: w.e.now.Add(time.Duration(d.rng.IntN(600)) * time.Minute), EvidenceIDs: m.evidence}
		if m.evidence == nil {
			m.evidence = []string{}
		}
	case "attach":
		// A photo added to a verification this user recorded, on this
		// phone or their other one (which may not have pushed it yet).
		var vs []*cvMut
		for _, o := range w.muts {
			if o.name == fieldwork.MutVerificationRecord && o.dev.user.ID == d.user.ID {
				vs = append(vs, o)
			}
		}
		if len(vs) == 0 {
			w.enqueue(d, tk, "note")
			return
		}
		v := vs[d.rng.IntN(len(vs))]
		m.name, m.taskID, m.verificationID, m.evidence = fieldwork.MutEvidenceAttach, v.taskID, v.recID, []string{cvUUID(d.rng)}
		args = contract.AttachArgs{EvidenceID: m.evidence[0], VerificationID: v.recID}
	case "note":
		m.name, m.recID = fieldwork.MutNoteAdd, cvUUID(d.rng)
		text := fmt.Sprintf("%s 的备注 %d", d.name, d.rng.IntN(1000))
		// Now and then the same note comes from the user's other phone:
		// the same content (accepted once more) or other content under the
		// same id (refused as record_exists).
		if d.rng.IntN(8) == 0 {
			for _, o := range slices.Backward(w.muts) {
				if o.name == fieldwork.MutNoteAdd && o.dev.user.ID == d.user.ID && o.dev != d {
					m.recID, m.taskID, text = o.recID, o.taskID, o.text
					m.shared, o.shared = true, true
					if d.rng.IntN(3) == 0 {
						text += "（改）"
					}
					break
				}
			}
		}
		tb, _ := json.Marshal(text)
		m.text, m.content = text, m.taskID+"|"+string(tb)
		args = contract.NoteArgs{ID: m.recID, TaskID: m.taskID, Text: text}
	}
	id, err := d.c.Enqueue(m.name, args)
	if err != nil {
		w.t.Fatal(err)
	}
	m.id = id
	d.muts[id] = m
	w.muts = append(w.muts, m)
}

// answerFor picks a question of the task's template and a value for it;
// about one answer in eight is deliberately wrong.
func (w *cvWorld) answerFor(d *cvDevice, tk cvLocalTask, m *cvMut) (string, json.RawMessage) {
	var tmpl struct {
		Questions []models.Question `json:"questions"`
	}
	raw, ok := d.c.Store().Get(models.EntityTemplates, tk.TemplateID)
	if !ok || json.Unmarshal(raw, &tmpl) != nil || len(tmpl.Questions) == 0 {
		w.t.Fatalf("%s holds task %s without its template %s", d.name, tk.ID, tk.TemplateID)
	}
	if d.rng.IntN(25) == 0 {
		m.badCode = string(models.CodeUnknownQuestion)
		return "q99", json.RawMessage(`true`)
	}
	q := tmpl.Questions[d.rng.IntN(len(tmpl.Questions))]
	bad := d.rng.IntN(10) == 0
	if bad {
		m.badCode = string(models.CodeAnswerType)
	}
	switch q.Type {
	case models.QuestionYesNo:
		if bad {
			return q.ID, json.RawMessage(`"是"`)
		}
		return q.ID, json.RawMessage(fmt.Sprint(d.rng.IntN(2) == 0))
	case models.QuestionNumber:
		if bad {
			return q.ID, json.RawMessage(`"很高"`)
		}
		return q.ID, json.RawMessage(fmt.Sprintf("%.1f", d.rng.Float64()*100))
	case models.QuestionText:
		if bad {
			return q.ID, json.RawMessage(`42`)
		}
		return q.ID, json.RawMessage(fmt.Sprintf(`"记录 %d"`, d.rng.IntN(100)))
	default: // photo: an evidence id
		if bad {
			return q.ID, json.RawMessage(`"IMG_0001.jpg"`)
		}
		return q.ID, json.RawMessage(`"` + cvUUID(d.rng) + `"`)
	}
}

// supervise is one act of the supervisor: reassign, unassign, cancel or
// assign a task, or create a new one.
func (w *cvWorld) supervise() {
	if w.rng.IntN(10) == 0 {
		w.newTask(w.inspectors[w.rng.IntN(len(w.inspectors))])
		return
	}
	id := w.taskIDs[w.rng.IntN(len(w.taskIDs))]
	// A phone's push may change the task between the read and the write
	// (in concurrent rounds): read it again, as a supervisor would.
	for range 10 {
		if err := w.superviseTask(id); !errors.Is(err, models.ErrVersionConflict) {
			if err != nil {
				w.t.Fatalf("supervisor on task %s: %v", id, err)
			}
			return
		}
	}
	w.t.Fatalf("supervisor on task %s: version conflicts without end", id)
}

func (w *cvWorld) superviseTask(id string) error {
	ctx := w.ctx
	task := must(items.New(w.e.svc).GetTask(ctx, system, id))
	other := func() string {
		for {
			u := w.users[w.inspectors[w.rng.IntN(len(w.inspectors))]]
			if task.AssigneeID == nil || u.ID != *task.AssigneeID {
				return u.ID
			}
		}
	}
	var err error
	cancel := false
	switch task.Status {
	case models.TaskAssigned, models.TaskInProgress:
		switch cvPick(w.rng, 55, 15, 30) {
		case 0:
			_, err = items.New(w.e.svc).AssignTask(ctx, system, id, other(), &task.Version)
		case 1:
			_, err = items.New(w.e.svc).AssignTask(ctx, system, id, "", &task.Version)
		case 2:
			_, err = items.New(w.e.svc).CancelTask(ctx, system, id, &task.Version)
			cancel = true
		}
	case models.TaskUnassigned:
		if w.rng.IntN(5) == 0 {
			_, err = items.New(w.e.svc).CancelTask(ctx, system, id, &task.Version)
			cancel = true
		} else {
			_, err = items.New(w.e.svc).AssignTask(ctx, system, id, other(), &task.Version)
		}
	default:
		return nil // completed or cancelled: nothing to do
	}
	if err != nil {
		return fmt.Errorf("%s v%d: %w", task.Status, task.Version, err)
	}
	switch {
	case cancel:
		w.cancelledAt[id] = task.Status
	case task.Status == models.TaskInProgress:
		w.resets[id]++ // the progress is dropped: another start may follow
	}
	w.supChanges[id]++
	return nil
}

// check compares the end state with what happened.
func (w *cvWorld) check() {
	t := w.t
	for _, d := range w.devices {
		if out := d.c.Outbox(); len(out) != 0 {
			t.Errorf("%s: outbox not empty at the end: %d mutations, first %d %s", d.name, len(out), out[0].ID, out[0].Name)
		}
		if d.applied+len(d.rejected) != len(d.muts) {
			t.Errorf("%s: pushes reported %d applied and %d rejected of %d mutations", d.name, d.applied, len(d.rejected), len(d.muts))
		}
		for id := range d.rejected {
			if d.muts[id] == nil {
				t.Errorf("%s: mutation %d reported rejected was never enqueued", d.name, id)
			}
		}
	}
	w.checkStores()
	w.checkRecords()
	w.checkTasks()
}

// checkStores compares every phone with a fresh phone of the same user
// that pulls everything from a null cursor, and its tasks with the
// database.
func (w *cvWorld) checkStores() {
	t := w.t
	oracles := map[string]*contract.Client{}
	for _, d := range w.devices {
		o := oracles[d.user.ID]
		if o == nil {
			o = contract.New(contract.Config{BaseURL: w.base, DeviceID: uuid.NewString(), Sleep: cvNoSleep})
			if err := o.Login(w.ctx, d.user.Username, "password-"+d.user.Username); err != nil {
				t.Fatal(err)
			}
			if _, err := o.Pull(w.ctx); err != nil {
				t.Fatal(err)
			}
			oracles[d.user.ID] = o
		}
		for _, entity := range contract.Entities {
			got, want := d.c.Records(entity), o.Records(entity)
			if missing, extra := cvDiff(want, got); len(missing)+len(extra) > 0 {
				t.Errorf("%s: %s differ from the server's view: missing %v, extra %v", d.name, entity, missing, extra)
				continue
			}
			for id, rec := range want {
				if gv, wv := cvVersion(got[id]), cvVersion(rec); gv != wv {
					t.Errorf("%s: %s %s is version %d, the server's is %d", d.name, entity, id, gv, wv)
				} else if !cvSameJSON(got[id], rec) {
					t.Errorf("%s: %s %s differs from the server's at the same version %d:\nphone  %s\nserver %s", d.name, entity, id, gv, got[id], rec)
				}
			}
		}
		// The tasks, against the database itself.
		a := models.Actor{UserID: d.user.ID, Username: d.user.Username, Role: d.user.Role, UnitID: d.user.UnitID, UnitPath: d.user.UnitPath}
		page := must(items.New(w.e.svc).ListTasks(w.ctx, a, items.TaskFilter{}, models.ListParams{Limit: models.MaxPageSize}))
		db := map[string]json.RawMessage{}
		for _, task := range page.Items {
			db[task.ID] = nil
		}
		if missing, extra := cvDiff(db, d.c.Records(models.EntityTasks)); len(missing)+len(extra) > 0 {
			t.Errorf("%s: tasks differ from the database: missing %v, extra %v", d.name, missing, extra)
		}
	}
}

// checkRecords checks every record a mutation creates: it exists once if
// some mutation creating it was applied, not at all otherwise, with the
// content of the applied mutations, and nothing else exists.
func (w *cvWorld) checkRecords() {
	t := w.t
	byID := map[string]map[string]*cvWant{} // mutation name → record id → mutations
	evidence := map[string]*cvWant{}        // evidence id → mutations naming it
	attached := map[string][]string{}       // verification id → evidence ids of applied attaches
	for _, m := range w.muts {
		if m.recID != "" {
			if byID[m.name] == nil {
				byID[m.name] = map[string]*cvWant{}
			}
			x := byID[m.name][m.recID]
			if x == nil {
				x = &cvWant{}
				byID[m.name][m.recID] = x
			}
			if m.isApplied() {
				x.applied = append(x.applied, m)
			} else {
				x.rejected = append(x.rejected, m)
			}
		}
		for _, ev := range m.evidence {
			if evidence[ev] == nil {
				evidence[ev] = &cvWant{}
			}
			if m.isApplied() {
				evidence[ev].applied = append(evidence[ev].applied, m)
			} else {
				evidence[ev].rejected = append(evidence[ev].rejected, m)
			}
		}
		if m.name == fieldwork.MutEvidenceAttach && m.isApplied() {
			attached[m.verificationID] = append(attached[m.verificationID], m.evidence[0])
		}
		w.checkRejection(m)
	}
	var (
		verifications []models.Verification
		answers       []models.Answer
		notes         []models.Note
		evs           []models.Evidence
	)
	count := func(model any, id string) int64 {
		var n int64
		if err := w.e.svc.Store.Tx(w.ctx, func(tx models.Tx) (err error) {
			n, err = tx.Count(model, []models.Cond{models.Eq("id", id)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := w.e.svc.Store.Tx(w.ctx, func(tx models.Tx) error {
		return errors.Join(tx.List(&verifications, models.Query{}), tx.List(&answers, models.Query{}),
			tx.List(&notes, models.Query{}), tx.List(&evs, models.Query{}))
	}); err != nil {
		t.Fatal(err)
	}
	content := map[string]map[string]string{fieldwork.MutVerificationRecord: {}, fieldwork.MutChecklistAnswer: {}, fieldwork.MutNoteAdd: {}}
	for _, v := range verifications {
		content[fieldwork.MutVerificationRecord][v.ID] = ""
		var ids []string
		if x := byID[fieldwork.MutVerificationRecord][v.ID]; x != nil && len(x.applied) > 0 {
			ids = slices.Clone(x.applied[0].evidence)
		}
		ids = append(ids, attached[v.ID]...)
		if !cvSameSet(v.EvidenceIDs, ids) {
			t.Errorf("verification %s has evidence %v, the applied mutations name %v", v.ID, v.EvidenceIDs, ids)
		}
		if want := int64(1 + len(attached[v.ID])); v.Version != want {
			t.Errorf("verification %s is version %d; one record and %d attaches make %d", v.ID, v.Version, len(attached[v.ID]), want)
		}
	}
	for _, a := range answers {
		content[fieldwork.MutChecklistAnswer][a.ID] = a.TaskID + "|" + a.QuestionID + "|" + string(a.Value)
	}
	for _, n := range notes {
		tb, _ := json.Marshal(n.Text)
		content[fieldwork.MutNoteAdd][n.ID] = n.TaskID + "|" + string(tb)
	}
	tables := map[string]any{fieldwork.MutVerificationRecord: &models.Verification{}, fieldwork.MutChecklistAnswer: &models.Answer{}, fieldwork.MutNoteAdd: &models.Note{}}
	for name, ids := range byID {
		distinct := 0
		for id, x := range ids {
			n := count(tables[name], id)
			if len(x.applied) > 0 {
				distinct++
			}
			switch {
			case len(x.applied) > 0 && n != 1:
				t.Errorf("%s %s: %d rows after %d applied mutations (%v)", name, id, n, len(x.applied), x.applied[0])
			case len(x.applied) == 0 && n != 0:
				t.Errorf("%s %s: %d rows though every mutation was rejected (%v: %v)", name, id, n, x.rejected[0], x.rejected[0].dev.rejected[x.rejected[0].id])
			}
			for _, m := range x.applied {
				if m.content != "" && m.content != x.applied[0].content {
					t.Errorf("%s %s: mutations with other content both applied: %v and %v", name, id, x.applied[0], m)
				}
				if got := content[name][id]; m.content != "" && got != m.content {
					t.Errorf("%s %s holds %q, the applied mutation %v sent %q", name, id, got, m, m.content)
				}
			}
		}
		if len(content[name]) != distinct {
			t.Errorf("%s: %d rows in the database, %d distinct ids applied", name, len(content[name]), distinct)
		}
	}
	appliedEvidence := 0
	have := map[string]models.Evidence{}
	for _, ev := range evs {
		have[ev.ID] = ev
	}
	for id, x := range evidence {
		ev, ok := have[id]
		switch {
		case len(x.applied) > 0 && !ok:
			t.Errorf("evidence %s missing though %v was applied", id, x.applied[0])
		case len(x.applied) == 0 && ok:
			t.Errorf("evidence %s exists though every mutation naming it was rejected (%v)", id, x.rejected[0])
		case ok:
			appliedEvidence++
			m := x.applied[0]
			vid := m.recID
			if m.name == fieldwork.MutEvidenceAttach {
				vid = m.verificationID
			}
			if ev.VerificationID == nil || *ev.VerificationID != vid || ev.Status != models.EvidencePending || ev.Version != 1 {
				t.Errorf("evidence %s: verification %v status %s version %d, want verification %s, pending, version 1", id, ev.VerificationID, ev.Status, ev.Version, vid)
			}
		}
	}
	if len(evs) != appliedEvidence {
		t.Errorf("evidence: %d rows, %d ids applied", len(evs), appliedEvidence)
	}
}

// cvWant gathers the mutations that create one record.
type cvWant struct{ applied, rejected []*cvMut }

// checkRejection checks that a rejection has a reason the scenario can
// produce, and that a deliberately invalid mutation was not applied.
func (w *cvWorld) checkRejection(m *cvMut) {
	r, rejected := m.dev.rejected[m.id]
	if !rejected {
		if m.badCode != "" {
			w.t.Errorf("%v: applied though it is invalid (%s)", m, m.badCode)
		}
		return
	}
	ok := r.Code == string(models.CodeNotFound)
	switch m.name {
	case fieldwork.MutTaskStart, fieldwork.MutTaskComplete:
		ok = ok || strings.HasPrefix(r.Code, "task_transition_")
	case fieldwork.MutChecklistAnswer:
		ok = ok || r.Code == string(models.CodeTaskClosed) || (m.badCode != "" && r.Code == m.badCode)
	case fieldwork.MutVerificationRecord, fieldwork.MutEvidenceAttach:
		ok = ok || r.Code == string(models.CodeTaskClosed)
	case fieldwork.MutNoteAdd:
		ok = ok || (m.shared && r.Code == string(models.CodeRecordExists))
	}
	if !ok || r.Message == "" {
		w.t.Errorf("%v: rejected with %q (%s), which this scenario cannot explain", m, r.Code, r.Message)
	}
}

// checkTasks explains every task's status and version by the supervisor's
// acts and the applied mutations: each applied start and complete changed
// the task once, and nothing else did.
func (w *cvWorld) checkTasks() {
	t := w.t
	starts, completes := map[string]int{}, map[string]int{}
	startedBy := map[string]map[string]bool{}
	for _, m := range w.muts {
		if !m.isApplied() {
			continue
		}
		switch m.name {
		case fieldwork.MutTaskStart:
			starts[m.taskID]++
			if startedBy[m.taskID] == nil {
				startedBy[m.taskID] = map[string]bool{}
			}
			startedBy[m.taskID][m.dev.user.ID] = true
		case fieldwork.MutTaskComplete:
			completes[m.taskID]++
		}
	}
	page := must(items.New(w.e.svc).ListTasks(w.ctx, system, items.TaskFilter{}, models.ListParams{Limit: models.MaxPageSize}))
	if len(page.Items) != len(w.taskIDs) {
		t.Errorf("%d tasks in the database, %d created", len(page.Items), len(w.taskIDs))
	}
	for _, task := range page.Items {
		id := task.ID
		open := task.Status == models.TaskInProgress || task.Status == models.TaskCompleted || w.cancelledAt[id] == models.TaskInProgress
		wantStarts := w.resets[id]
		if open {
			wantStarts++
		}
		if starts[id] != wantStarts {
			t.Errorf("task %s is %s after %d resets by the supervisor (cancelled from %q), yet %d starts were applied",
				id, task.Status, w.resets[id], w.cancelledAt[id], starts[id])
		}
		if wantC := map[bool]int{true: 1}[task.Status == models.TaskCompleted]; completes[id] != wantC {
			t.Errorf("task %s is %s, yet %d completes were applied", id, task.Status, completes[id])
		}
		if (task.Status == models.TaskCancelled) != (w.cancelledAt[id] != "") {
			t.Errorf("task %s is %s; the supervisor cancelled it from %q", id, task.Status, w.cancelledAt[id])
		}
		if task.Status == models.TaskInProgress || task.Status == models.TaskCompleted {
			if task.AssigneeID == nil || !startedBy[id][*task.AssigneeID] {
				t.Errorf("task %s is %s for %v, who never started it", id, task.Status, task.AssigneeID)
			}
		}
		if want := int64(1 + w.supChanges[id] + starts[id] + completes[id]); task.Version != want {
			t.Errorf("task %s is version %d; 1 + %d supervisor changes + %d starts + %d completes make %d",
				id, task.Version, w.supChanges[id], starts[id], completes[id], want)
		}
	}
}

// cvDiff returns the ids only in want (missing) and only in got (extra),
// sorted.
func cvDiff(want, got map[string]json.RawMessage) (missing, extra []string) {
	for id := range want {
		if _, ok := got[id]; !ok {
			missing = append(missing, id)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			extra = append(extra, id)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

func cvVersion(rec json.RawMessage) int64 {
	var v struct {
		Version int64 `json:"version"`
	}
	json.Unmarshal(rec, &v)
	return v.Version
}

func cvSameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func cvSameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
