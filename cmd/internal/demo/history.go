package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/cmd/internal/exifjpeg"
	"github.com/fieldsync/fieldsync/models"
	accsvc "github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/auth"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/fieldwork"
	"github.com/fieldsync/fieldsync/models/items"
	"github.com/fieldsync/fieldsync/models/reporting"
)

// The campaign so far, played day by day through the services with the
// loader's clock set to each step's time, so that every record, audit
// entry, change row and flag is what the server would have made then:
//
//   - progress checks on a dozen items spread over the 40 days, with
//     answers, verification notes and notes (the dispatch report's
//     progress of last month);
//   - ZY1-SHJ-01 and JSP-SHJ-01 accepted on clean evidence, their photos
//     public (the disclosure page), their evidence packs exportable;
//   - SJ-DQ-02 rejected, its rework out with inspector2;
//   - JSP-GF-01 pending acceptance with flagged photos: one taken away
//     from where the phone stood and outside the site (exif_gps_mismatch,
//     outside_geofence), one the same picture as ZY1-SHJ-01's accepted
//     evidence (near_duplicate_photo);
//   - ZY1-DQ-01's deadline extended (延期), requested and approved;
//   - ZY1-GF-01 worked on but long overdue, so escalated; ZY2-ST-01
//     (open-ended) reviewed for its quarter.

// Each shipped photo is evidence once, so that only the reuse meant to be
// flagged is: the perceptual hash sees through the EXIF and re-encoding.

// shotSpec is one photo of a visit: a shipped photo whose EXIF places it
// north/east metres from the site's centre, with the phone's own fix
// fixNorth/fixEast metres from it.
type shotSpec struct {
	file                                  string
	north, east, fixNorth, fixEast, accur float64
}

// visitSpec is one inspection done in the past: day and hour (local) of
// the visit, and what the inspector recorded.
type visitSpec struct {
	item, site, template, inspector string
	day, hour                       int
	conclusion, notes, note         string
	shots                           []shotSpec
}

// progressVisits are the progress checks of the campaign so far, oldest
// first; the tasks are created a day before the visit.
var progressVisits = []visitSpec{
	{item: "ZY2-SHJ-02", site: "S04", template: tplSite, inspector: "inspector2", day: -36, hour: 10,
		conclusion: models.ConclusionNotRectified,
		notes:      "人民路至滨江路段沿线仍有3处雨污混接排口旱天出水，柳湾桥下游水体发黑、有异味，现场快检氨氮12.6mg/L。",
		note:       "已将3处混接点位清单交江北区住建局，要求月底前完成截污。"},
	{item: "ZY1-SHJ-01", site: "S07", template: tplSite, inspector: "inspector3", day: -33, hour: 9,
		conclusion: models.ConclusionPartiallyRectified,
		notes:      "扩建工程主体完工，正在调试；日处理量已由1.0万吨提高到1.6万吨，两家入园企业“一企一管”改造完成。"},
	{item: "ZY2-SHJ-03", site: "S06", template: tplSite, inspector: "inspector1", day: -31, hour: 14,
		conclusion: models.ConclusionPartiallyRectified,
		notes:      "近三个月进水BOD均值72mg/L，较去年同期提高14mg/L；老城区雨污混接点已改造410处，尚余890处。",
		note:       "建议住建局按月通报混接点改造进度。"},
	{item: "ZY1-GF-01", site: "S21", template: tplSite, inspector: "inspector1", day: -30, hour: 10,
		conclusion: models.ConclusionNotRectified,
		notes:      "填埋场积存渗滤液约1.2万吨，应急处理设备日处理300吨，按此进度需40天以上；调节池液位接近警戒线。",
		note:       "已超过整改时限，建议升级督办并增加应急处理能力。",
		shots:      []shotSpec{{file: photoLandfill, north: 80, east: 60, fixNorth: 85, fixEast: 55, accur: 10}}},
	{item: "ZY1-DQ-01", site: "S14", template: tplSite, inspector: "inspector3", day: -27, hour: 15,
		conclusion: models.ConclusionPartiallyRectified,
		notes:      "污水处理场加盖密闭已完成，废气收集处理设施运行正常；储罐内浮顶改造须停产检修，企业计划明年一季度实施。",
		note:       "企业提出延期申请，理由为改造须结合装置停产检修。"},
	{item: "SJ-DQ-02", site: "S16", template: tplSite, inspector: "inspector2", day: -25, hour: 9,
		conclusion: models.ConclusionNotRectified,
		notes:      "抽查汽配城B区12家企业，3家仍在露天喷涂，5家喷烤漆房活性炭超过3个月未更换。",
		note:       "已现场责令停止露天喷涂。"},
	{item: "ZY2-GF-01", site: "S17", template: tplHazWaste, inspector: "inspector1", day: -22, hour: 10,
		conclusion: models.ConclusionPartiallyRectified,
		notes:      "贮存库现存危废1840吨，较上月减少420吨；二期焚烧线土建完成60%。",
		note:       "转移联单抽查20份，与台账一致。"},
	{item: "ZY2-ST-01", site: "S23", template: tplSite, inspector: "inspector1", day: -20, hour: 11,
		conclusion: models.ConclusionRectified,
		notes:      "生态流量泄放管已建成，在线监测装置已与水利局平台联网，实测下泄流量0.42m³/s，满足核定值0.38m³/s。"},
	{item: "ZY2-DQ-02", site: "S13", template: tplSite, inspector: "inspector3", day: -18, hour: 16,
		conclusion: models.ConclusionPartiallyRectified,
		notes:      "园区东侧边界仍可闻到异味；抽查3家企业，1家活性炭更换台账缺失，LDAR检测报告已补齐。"},
	{item: "ZY2-SHJ-02", site: "S05", template: tplSite, inspector: "inspector2", day: -15, hour: 10,
		conclusion: models.ConclusionPartiallyRectified,
		notes:      "白塔港长虹大道段清淤完成约70%，沿线2处截污井已建成，水体透明度32cm。",
		note:       "走访沿线居民5户，反映异味明显减轻。"},
	{item: "JSP-GF-01", site: "S20", template: tplSite, inspector: "inspector2", day: -13, hour: 9,
		conclusion: models.ConclusionPartiallyRectified,
		notes:      "倾倒点已清运建筑垃圾约2600吨，工业固废已委托有资质单位处置，岸线警示牌已设置。"},
	{item: "ZY1-GF-01", site: "S21", template: tplSite, inspector: "inspector1", day: -8, hour: 14,
		conclusion: models.ConclusionNotRectified,
		notes:      "新增一套移动式应急处理设备，日处理能力提高到600吨；积存渗滤液尚余约8600吨。"},
}

// acceptanceVisits are the acceptance checks of the submitted items,
// each done on the task the submission opened.
var acceptanceVisits = map[string]visitSpec{
	"ZY1-SHJ-01": {site: "S03", inspector: "inspector3", day: -12, hour: 10, conclusion: models.ConclusionRectified,
		notes: "出水在线数据近30日连续达标，排口标识规范，“一口一档”资料齐全，与现场一致。",
		shots: []shotSpec{
			{file: photoOutfall, north: 15, east: -20, fixNorth: 14, fixEast: -18, accur: 5},
			{file: photoRiverbank, north: -25, east: 10, fixNorth: -22, fixEast: 12, accur: 6},
		}},
	"JSP-SHJ-01": {site: "S09", inspector: "inspector2", day: -5, hour: 15, conclusion: models.ConclusionRectified,
		notes: "沉淀池和废水回用设施已建成运行，明沟已封堵，堆场全部覆盖，从江面一侧未见冲洗废水外排。",
		shots: []shotSpec{{file: photoHarbour, north: 30, east: 40, fixNorth: 32, fixEast: 38, accur: 8}}},
	"SJ-DQ-02": {site: "S16", inspector: "inspector2", day: -8, hour: 10, conclusion: models.ConclusionRectified,
		notes: "露天喷涂已停止，喷烤漆房均已更换活性炭。",
		shots: []shotSpec{{file: photoYard, north: -10, east: 15, fixNorth: -12, fixEast: 14, accur: 5}}},
	// The photos a supervisor must look at: the second was taken 380 m
	// from where the phone stood, outside the shoreline site; the third is
	// ZY1-SHJ-01's accepted outfall photo again.
	"JSP-GF-01": {site: "S20", inspector: "inspector2", day: -2, hour: 11, conclusion: models.ConclusionRectified,
		notes: "倾倒固废已全部清运，岸线已平整复绿，视频监控已安装。",
		shots: []shotSpec{
			{file: photoShore, north: 20, east: -30, fixNorth: 18, fixEast: -28, accur: 6},
			{file: photoStreet, north: 380, east: 40, fixNorth: 5, fixEast: 10, accur: 12},
			{file: photoOutfall, north: -15, east: 25, fixNorth: -14, fixEast: 24, accur: 8},
		}},
}

// submissions are the items submitted for acceptance: day submitted, the
// unit's statement, and how the supervisor decided (none: still pending).
var submissions = []struct {
	item, statement string
	day, decideDay  int
	decision        string
	reasons         []string
	required        string
}{
	{item: "ZY1-SHJ-01", day: -14, decideDay: -9, decision: models.DecisionAccept,
		statement: "园区污水集中处理厂扩建工程已投运，出水稳定达到一级A标准，入江排口已规范整治，申请验收销号。"},
	{item: "SJ-DQ-02", day: -10, decideDay: -6, decision: models.DecisionReject,
		statement: "汽修喷涂企业已全部停止露天喷涂，喷烤漆房活性炭已更换，申请验收。",
		reasons:   []string{"未提供喷烤漆房活性炭更换台账及购买凭证", "现场照片未显示喷烤漆房内部治理设施"},
		required:  "各企业喷烤漆房内部及活性炭箱近景照片、更换台账"},
	{item: "JSP-SHJ-01", day: -6, decideDay: -3, decision: models.DecisionAccept,
		statement: "砂石码头沉淀池和废水回用设施已建成，明沟已封堵，冲洗废水零排放，申请验收销号。"},
	{item: "JSP-GF-01", day: -4,
		statement: "江北段岸线倾倒的建筑垃圾和工业固废已全部清运处置，岸线已平整复绿，申请验收。"},
}

// publicSummaries are what the disclosure page says of the accepted items.
var publicSummaries = map[string]string{
	"ZY1-SHJ-01": "湖滨工业园区污水集中处理厂扩建工程已投运，日处理能力由1万吨提高到2万吨，出水稳定达标，入江排口已规范整治。",
	"JSP-SHJ-01": "城北砂石码头已建成冲洗废水沉淀回用设施，冲洗废水不再直排长江，堆场全部覆盖。",
}

// extension is the deadline extension of the campaign.
var extension = struct {
	item, reason, comment string
	requestDay, decideDay int
	newDeadline           int // days from the load's clock
}{
	item: "ZY1-DQ-01", requestDay: -11, decideDay: -9, newDeadline: 135,
	reason:  "储罐内浮顶改造须结合装置停产检修实施，企业检修计划安排在明年一季度，申请延期至检修完成后。",
	comment: "同意延期，请湖滨县督促企业按检修计划完成改造，每月报送进度。",
}

// at is day n of the campaign (from the load's clock) at hour:00 in the
// server's time zone.
func (l *loader) at(n, hour int) time.Time {
	loc := l.svc.Deadlines.Location()
	y, m, d := l.now.AddDate(0, 0, n).In(loc).Date()
	return time.Date(y, m, d, hour, 0, 0, 0, loc).UTC()
}

// signIn logs a demo account in from a device of its own, as the app or
// the console would, and returns the actor its session acts as.
func (l *loader) signIn(ctx context.Context, username string) (models.Actor, error) {
	if a, ok := l.actors[username]; ok {
		return a, nil
	}
	g, err := auth.New(l.svc).Login(ctx, auth.LoginInput{Username: username, Password: Password, DeviceID: uuid.NewString(),
		DeviceName: "演示设备（" + username + "）", Platform: "android"})
	if err != nil {
		return models.Actor{}, fmt.Errorf("demo: sign in %s: %w", username, err)
	}
	a, err := auth.New(l.svc).Authenticate(ctx, g.Session.ID)
	if err != nil {
		return models.Actor{}, fmt.Errorf("demo: sign in %s: %w", username, err)
	}
	l.actors[username] = a
	return a, nil
}

// history plays the campaign up to the load's clock.
func (l *loader) history(ctx context.Context) error {
	type step struct {
		day, hour int
		run       func(context.Context) error
	}
	var steps []step
	for _, v := range progressVisits {
		steps = append(steps, step{v.day, v.hour, func(ctx context.Context) error { return l.progressVisit(ctx, v) }})
	}
	for _, s := range submissions {
		v := acceptanceVisits[s.item]
		steps = append(steps,
			step{s.day, 9, func(ctx context.Context) error { return l.submit(ctx, s.item, s.statement, v) }},
			step{v.day, v.hour, func(ctx context.Context) error { return l.acceptanceVisit(ctx, s.item, v) }})
		if s.decision != "" {
			steps = append(steps, step{s.decideDay, 16, func(ctx context.Context) error {
				return l.decide(ctx, s.item, s.decision, s.reasons, s.required)
			}})
		}
		if s.decision == models.DecisionAccept {
			steps = append(steps, step{s.decideDay + 1, 10, func(ctx context.Context) error { return l.publish(ctx, s.item) }})
		}
	}
	steps = append(steps,
		step{extension.requestDay, 10, l.requestExtension},
		step{extension.decideDay, 15, l.approveExtension})
	// Stable by time: steps of the same hour keep the order above.
	for i := 1; i < len(steps); i++ {
		for j := i; j > 0 && l.at(steps[j].day, steps[j].hour).Before(l.at(steps[j-1].day, steps[j-1].hour)); j-- {
			steps[j], steps[j-1] = steps[j-1], steps[j]
		}
	}
	for _, s := range steps {
		l.clock = l.at(s.day, s.hour)
		if err := s.run(ctx); err != nil {
			return err
		}
	}
	return nil
}

// progressVisit creates a progress check the day before and does it.
func (l *loader) progressVisit(ctx context.Context, v visitSpec) error {
	item, err := l.ref(l.items, "item", v.item)
	if err != nil {
		return err
	}
	site, err := l.ref(l.sites, "site", v.site)
	if err != nil {
		return err
	}
	tmpl, err := l.ref(l.templates, "template", v.template)
	if err != nil {
		return err
	}
	who, err := l.ref(l.users, "user", v.inspector)
	if err != nil {
		return err
	}
	visit := l.clock
	l.clock = visit.AddDate(0, 0, -1)
	start := l.clock
	t, err := items.New(l.svc).CreateTask(ctx, system, items.TaskInput{
		ItemID: &item, SiteID: &site, AssigneeID: &who, Kind: ptr(models.TaskProgressCheck), TemplateID: &tmpl,
		WindowStart: &start, DueAt: ptr(start.AddDate(0, 0, 5)), Instructions: ptr("现场核查整改进展，记录存在问题并拍照。"),
	})
	if err != nil {
		return fmt.Errorf("demo: progress check of %s on day %d: %w", v.item, v.day, err)
	}
	l.sum.Tasks++
	l.clock = visit
	return l.inspect(ctx, t, v)
}

// submit submits an item for acceptance by the supervisor, naming the
// acceptance visit's inspector and site.
func (l *loader) submit(ctx context.Context, code, statement string, v visitSpec) error {
	sup, err := l.signIn(ctx, "supervisor")
	if err != nil {
		return err
	}
	item, err := l.ref(l.items, "item", code)
	if err != nil {
		return err
	}
	site, err := l.ref(l.sites, "site", v.site)
	if err != nil {
		return err
	}
	tmpl, err := l.ref(l.templates, "template", tplAcceptance)
	if err != nil {
		return err
	}
	who, err := l.ref(l.users, "user", v.inspector)
	if err != nil {
		return err
	}
	it, err := items.New(l.svc).GetItem(ctx, sup, item)
	if err != nil {
		return err
	}
	_, err = accsvc.New(l.svc).SubmitForAcceptance(ctx, sup, item, accsvc.SubmitInput{
		Version: &it.Version, Statement: &statement, InspectorIDs: []string{who}, SiteIDs: []string{site}, TemplateID: &tmpl,
		DueAt: ptr(l.clock.AddDate(0, 0, 5)),
	})
	if err != nil {
		return fmt.Errorf("demo: submit %s: %w", code, err)
	}
	l.sum.Tasks++
	return nil
}

// acceptanceVisit does the acceptance check the item's latest submission
// opened.
func (l *loader) acceptanceVisit(ctx context.Context, code string, v visitSpec) error {
	item, err := l.ref(l.items, "item", code)
	if err != nil {
		return err
	}
	who, err := l.ref(l.users, "user", v.inspector)
	if err != nil {
		return err
	}
	page, err := items.New(l.svc).ListTasks(ctx, system, items.TaskFilter{ItemID: item, Kind: models.TaskAcceptanceCheck, AssigneeID: who, Status: models.TaskAssigned},
		models.ListParams{Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Items) == 0 {
		return fmt.Errorf("demo: %s has no acceptance check for %s", code, v.inspector)
	}
	v.item = code
	return l.inspect(ctx, page.Items[0], v)
}

// inspect does a task as its inspector's phone would: start, photos
// (declared, uploaded, completed), checklist answers, the verification,
// a note, complete.
func (l *loader) inspect(ctx context.Context, t models.InspectionTask, v visitSpec) error {
	insp, err := l.signIn(ctx, v.inspector)
	if err != nil {
		return err
	}
	var site models.Site
	if err := l.svc.Store.Tx(ctx, func(tx models.Tx) error { return tx.Get(&site, t.SiteID) }); err != nil {
		return err
	}
	fail := func(what string, err error) error {
		return fmt.Errorf("demo: %s at %s on day %d: %s: %w", v.item, v.site, v.day, what, err)
	}
	if err := l.push(ctx, insp, mutation{fieldwork.MutTaskStart, map[string]any{"task_id": t.ID}}); err != nil {
		return fail("start", err)
	}
	var photos []string
	for i, s := range v.shots {
		l.clock = l.clock.Add(time.Duration(5+3*i) * time.Minute)
		id, err := l.photo(ctx, insp, t, site, s)
		if err != nil {
			return fail("photo "+s.file, err)
		}
		photos = append(photos, id)
	}
	var tmpl models.ChecklistTemplate
	if err := l.svc.Store.Tx(ctx, func(tx models.Tx) error { return tx.Get(&tmpl, t.TemplateID) }); err != nil {
		return err
	}
	// The record of the visit goes in one push, as the phone sends it.
	var batch []mutation
	done := v.conclusion == models.ConclusionRectified
	for _, q := range tmpl.Questions {
		var value any
		switch q.Type {
		case models.QuestionYesNo:
			// The questions ask whether the work is done, except the ones
			// asking whether the problem (or fake work) is still there.
			value = done != (strings.HasPrefix(q.Text, "现场是否仍存在") || strings.HasPrefix(q.Text, "是否存在"))
		case models.QuestionNumber:
			value = 0
		case models.QuestionText:
			value = v.notes
		case models.QuestionPhoto:
			if len(photos) == 0 {
				continue
			}
			value = photos[0]
		}
		batch = append(batch, mutation{fieldwork.MutChecklistAnswer, map[string]any{"id": uuid.NewString(), "task_id": t.ID, "question_id": q.ID, "value": value}})
	}
	lat, lng := exifjpeg.OffsetMetres(site.Lat, site.Lng, 12, -8)
	batch = append(batch, mutation{fieldwork.MutVerificationRecord, map[string]any{
		"id": uuid.NewString(), "task_id": t.ID, "conclusion": v.conclusion, "notes": v.notes,
		"location":    map[string]any{"lat": lat, "lng": lng, "datum": models.DatumWGS84, "accuracy_m": 6},
		"recorded_at": l.clock, "evidence_ids": photos,
	}})
	if v.note != "" {
		batch = append(batch, mutation{fieldwork.MutNoteAdd, map[string]any{"id": uuid.NewString(), "task_id": t.ID, "text": v.note}})
	}
	if err := l.push(ctx, insp, batch...); err != nil {
		return fail("the visit's record", err)
	}
	l.clock = l.clock.Add(10 * time.Minute)
	if err := l.push(ctx, insp, mutation{fieldwork.MutTaskComplete, map[string]any{"task_id": t.ID}}); err != nil {
		return fail("complete", err)
	}
	return nil
}

// mutation is one device mutation: its name and arguments.
type mutation struct {
	name string
	args map[string]any
}

// push applies device mutations in one transaction, as the sync engine
// applies a pushed batch.
func (l *loader) push(ctx context.Context, a models.Actor, muts ...mutation) error {
	return l.svc.Store.Tx(ctx, func(tx models.Tx) error {
		for _, m := range muts {
			raw, err := json.Marshal(m.args)
			if err != nil {
				return err
			}
			if _, err := fieldwork.New(l.svc).ApplyMutation(tx, a, m.name, raw); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		return nil
	})
}

// photo takes a shot at the site and sends it through the upload path:
// declare, upload the bytes, complete (which analyses the photo, makes
// its thumbnail and flags it).
func (l *loader) photo(ctx context.Context, a models.Actor, t models.InspectionTask, site models.Site, s shotSpec) (string, error) {
	lat, lng := exifjpeg.OffsetMetres(site.Lat, site.Lng, s.north, s.east)
	data, err := stampedPhoto(s.file, lat, lng, l.clock.In(l.svc.Deadlines.Location()))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	fixLat, fixLng := exifjpeg.OffsetMetres(site.Lat, site.Lng, s.fixNorth, s.fixEast)
	ev := evidence.New(l.svc)
	e, err := ev.CreateEvidence(ctx, a, evidence.EvidenceInput{
		ID: uuid.NewString(), TaskID: t.ID, Kind: "photo", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		ContentType: "image/jpeg", CapturedAt: ptr(l.clock),
		Location: &models.LocationInput{Lat: fixLat, Lng: fixLng, Datum: models.DatumWGS84, AccuracyM: s.accur},
	})
	if err != nil {
		return "", err
	}
	if _, err := ev.UploadEvidence(ctx, a, e.ID, bytes.NewReader(data), int64(len(data))); err != nil {
		return "", err
	}
	if e, err = ev.CompleteEvidence(ctx, a, e.ID); err != nil {
		return "", err
	}
	if e.Status != models.EvidenceVerified {
		return "", fmt.Errorf("the photo was %s, not verified", e.Status)
	}
	l.sum.Photos++
	return e.ID, nil
}

// decide has the supervisor review the item and decide on that review,
// acknowledging every flag it shows.
func (l *loader) decide(ctx context.Context, code, decision string, reasons []string, required string) error {
	sup, err := l.signIn(ctx, "supervisor")
	if err != nil {
		return err
	}
	item, err := l.ref(l.items, "item", code)
	if err != nil {
		return err
	}
	acc := accsvc.New(l.svc)
	r, err := acc.Review(ctx, sup, item)
	if err != nil {
		return fmt.Errorf("demo: review %s: %w", code, err)
	}
	in := accsvc.DecisionInput{Decision: decision, EvidenceDigest: r.EvidenceDigest, Reasons: reasons}
	if decision == models.DecisionAccept {
		in.Comment = ptr("整改到位，同意销号。")
		for _, f := range r.Flags {
			in.FlagAcks = append(in.FlagAcks, models.FlagAck{EvidenceID: f.EvidenceID, VerificationID: f.VerificationID, Code: f.Code,
				Comment: "已核实，不影响验收结论。"})
		}
	} else {
		in.Comment = ptr("佐证材料不足，退回补充核查。")
		in.RequiredEvidence = &required
		in.ReworkDueAt = ptr(l.clock.AddDate(0, 0, 10))
	}
	for _, e := range r.Evidence {
		in.ViewedEvidence = append(in.ViewedEvidence, e.ID)
	}
	if _, err := acc.Decide(ctx, sup, item, in); err != nil {
		return fmt.Errorf("demo: %s %s: %w", decision, code, err)
	}
	if decision == models.DecisionReject {
		l.sum.Tasks++ // the rework
	}
	return nil
}

// publish makes an accepted item's photos public.
func (l *loader) publish(ctx context.Context, code string) error {
	sup, err := l.signIn(ctx, "supervisor")
	if err != nil {
		return err
	}
	item, err := l.ref(l.items, "item", code)
	if err != nil {
		return err
	}
	page, err := evidence.New(l.svc).ListEvidence(ctx, sup, evidence.EvidenceFilter{ItemID: item}, models.ListParams{Limit: 20})
	if err != nil {
		return err
	}
	for _, e := range page.Items {
		if e.Status != models.EvidenceVerified || len(e.Flags) > 0 {
			continue
		}
		if _, err := reporting.New(l.svc).SetEvidencePublic(ctx, sup, e.ID, true); err != nil {
			return fmt.Errorf("demo: publish a photo of %s: %w", code, err)
		}
	}
	return nil
}

func (l *loader) requestExtension(ctx context.Context) error {
	admin, err := l.signIn(ctx, "admin")
	if err != nil {
		return err
	}
	item, err := l.ref(l.items, "item", extension.item)
	if err != nil {
		return err
	}
	ext, err := accsvc.New(l.svc).RequestExtension(ctx, admin, item, models.ExtensionRequest{
		Deadline: l.date(extension.newDeadline), Reason: ptr(extension.reason)})
	if err != nil {
		return fmt.Errorf("demo: extension of %s: %w", extension.item, err)
	}
	l.extensionID = ext.ID
	return nil
}

func (l *loader) approveExtension(ctx context.Context) error {
	sup, err := l.signIn(ctx, "supervisor")
	if err != nil {
		return err
	}
	item, err := l.ref(l.items, "item", extension.item)
	if err != nil {
		return err
	}
	_, err = accsvc.New(l.svc).DecideExtension(ctx, sup, item, l.extensionID, models.ExtensionDecision{
		Decision: ptr(models.ExtensionDecisionApprove), Comment: ptr(extension.comment)})
	if err != nil {
		return fmt.Errorf("demo: approve the extension of %s: %w", extension.item, err)
	}
	return nil
}
