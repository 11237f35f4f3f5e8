package evidence

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Flag codes: each is shown to the supervisor with its measured value.
const (
	FlagOutsideGeofence    = "outside_geofence"
	FlagExifGPSMismatch    = "exif_gps_mismatch"
	FlagNoExifGPS          = "no_exif_gps"
	FlagOutsideTaskWindow  = "outside_task_window"
	FlagBeforeAssignment   = "before_assignment"
	FlagClockSkew          = "clock_skew"
	FlagMockedLocation     = "mocked_location"
	FlagDuplicatePhoto     = "duplicate_photo"
	FlagNearDuplicatePhoto = "near_duplicate_photo"
)

// FlagCodes lists every flag, for the catalogs that explain them.
var FlagCodes = []string{
	FlagOutsideGeofence, FlagExifGPSMismatch, FlagNoExifGPS, FlagOutsideTaskWindow, FlagBeforeAssignment,
	FlagClockSkew, FlagMockedLocation, FlagDuplicatePhoto, FlagNearDuplicatePhoto,
}

// maxAccuracyM caps the device accuracy counted in the GPS tolerance.
const maxAccuracyM = 100

// evidenceFlags measures what a supervisor must look at in verified
// evidence. Flags never block; they are acknowledged one by one.
func (s *Service) evidenceFlags(tx models.Tx, e *models.Evidence) (models.Flags, error) {
	p := s.evidencePolicy()
	var t models.InspectionTask
	if err := tx.Get(&t, e.TaskID); err != nil {
		return nil, err
	}
	var site models.Site
	if err := tx.Get(&site, t.SiteID); err != nil {
		return nil, err
	}
	flags := models.Flags{}
	add := func(code string, value float64, unit, format string, args ...any) {
		flags = append(flags, models.Flag{Code: code, Value: math.Round(value*10) / 10, Unit: unit, Detail: fmt.Sprintf(format, args...)})
	}
	m := e.Media
	if m == nil {
		m = &models.MediaSummary{}
	}
	dev := e.Location
	if dev != nil && dev.Mocked {
		add(FlagMockedLocation, 1, "", "the device reported a mock location")
	}
	if e.Kind == "photo" && !m.HasGPS {
		add(FlagNoExifGPS, 0, "", "the photo carries no GPS position")
	}
	// Where the photo was taken: EXIF when present, else the device fix.
	var lat, lng float64
	known := true
	switch {
	case m.HasGPS:
		lat, lng = *m.Lat, *m.Lng
	case dev != nil:
		lat, lng = dev.Lat, dev.Lng
	default:
		known = false
	}
	if known {
		if out := site.DistanceOutsideM(lat, lng); out > 0 {
			if site.Polygon != nil {
				add(FlagOutsideGeofence, out, "m", "taken %.0f m outside the site's boundary", out)
			} else {
				d := models.DistanceM(site.Lat, site.Lng, lat, lng)
				add(FlagOutsideGeofence, d, "m", "taken %.0f m from the site centre; the geofence radius is %.0f m", d, site.RadiusM)
			}
		}
	}
	if m.HasGPS && dev != nil {
		// The device's own accuracy widens the tolerance, but only so far:
		// a claimed accuracy of kilometres must not hide a mismatch.
		if d := models.DistanceM(*m.Lat, *m.Lng, dev.Lat, dev.Lng); d > p.GPSMismatchM+math.Min(dev.AccuracyM, maxAccuracyM) {
			add(FlagExifGPSMismatch, d, "m", "the photo's GPS is %.0f m from the device's fix (accuracy %.0f m)", d, dev.AccuracyM)
		}
	}
	if err := s.timeFlags(e, m, &t, p, add); err != nil {
		return nil, err
	}
	return s.duplicateFlags(tx, e, flags, p)
}

// exifTime reads the photo's EXIF time; a time without offset is read in
// the device's offset.
func exifTime(e *models.Evidence, m *models.MediaSummary) *time.Time {
	if m.TakenAt == nil {
		return nil
	}
	t := *m.TakenAt
	if m.TakenAtLocal {
		if e.CapturedUTCOffset == nil {
			return nil // a wall-clock time in an unknown zone: do not guess
		}
		t = t.Add(-time.Duration(*e.CapturedUTCOffset) * time.Second)
	}
	return &t
}

func (s *Service) timeFlags(e *models.Evidence, m *models.MediaSummary, t *models.InspectionTask, p models.EvidencePolicy, add func(string, float64, string, string, ...any)) error {
	exif := exifTime(e, m)
	if exif != nil && e.CapturedAt != nil {
		if skew := exif.Sub(*e.CapturedAt); skew.Abs() > p.ClockSkew {
			add(FlagClockSkew, skew.Abs().Seconds(), "s", "the photo's EXIF time differs from the device's time by %s", skew.Abs().Round(time.Second))
		}
	}
	taken := exif
	if taken == nil {
		taken = e.CapturedAt
	}
	if taken == nil {
		return nil
	}
	switch {
	case taken.Before(t.WindowStart):
		h := t.WindowStart.Sub(*taken).Hours()
		add(FlagOutsideTaskWindow, h, "h", "taken %.1f h before the task window opened", h)
	case taken.After(t.DueAt):
		h := taken.Sub(t.DueAt).Hours()
		add(FlagOutsideTaskWindow, h, "h", "taken %.1f h after the task was due", h)
	}
	if t.AssignedAt != nil && taken.Before(*t.AssignedAt) {
		h := t.AssignedAt.Sub(*taken).Hours()
		add(FlagBeforeAssignment, h, "h", "taken %.1f h before the task was assigned", h)
	}
	return nil
}

// EvidencePHash is one perceptual hash of a verified photo in the
// near-duplicate index: Part 0 is the whole picture, the others parts of
// it (MediaInfo.PHashes). Q0..Q3 are its 16-bit quarters, each indexed.
type EvidencePHash struct {
	EvidenceID string `gorm:"primaryKey"`
	Part       int    `gorm:"primaryKey"`
	PHash      int64  `gorm:"column:phash"`
	Q0         int32  `gorm:"column:q0"`
	Q1         int32  `gorm:"column:q1"`
	Q2         int32  `gorm:"column:q2"`
	Q3         int32  `gorm:"column:q3"`
}

// TableName names the table.
func (EvidencePHash) TableName() string { return "evidence_phashes" }

// EvidencePHashCols are the columns of the near-duplicate index.
var EvidencePHashCols = struct {
	EvidenceID, Part, PHash, Q0, Q1, Q2, Q3 models.Column
}{EvidenceID: "evidence_id", Part: "part", PHash: "phash", Q0: "q0", Q1: "q1", Q2: "q2", Q3: "q3"}

// ec and pc name the columns of the evidence and of its hashes.
var (
	ec = &models.EvidenceCols
	pc = &EvidencePHashCols
)

// maxPHashCandidates bounds the rows one near-duplicate lookup reads. At
// one million photos a lookup reads about 6,000 (BENCHMARKS.md).
const maxPHashCandidates = 20000

// indexPHashes adds a verified photo's hashes to the near-duplicate index.
func indexPHashes(tx models.Tx, e *models.Evidence) error {
	if e.Status != models.EvidenceVerified {
		return nil
	}
	for i, h := range e.PHashes {
		q := phashQuarters(h)
		row := EvidencePHash{EvidenceID: e.ID, Part: i, PHash: int64(h), Q0: q[0], Q1: q[1], Q2: q[2], Q3: q[3]}
		if err := tx.Create(&row); err != nil {
			return err
		}
	}
	return nil
}

// duplicateFlags finds the same photo (SHA-256) or a near-identical one
// (perceptual hashes, evidence_phashes) already used as other evidence.
func (s *Service) duplicateFlags(tx models.Tx, e *models.Evidence, flags models.Flags, p models.EvidencePolicy) (models.Flags, error) {
	// Any other evidence counts, the same task's included: one photo used
	// for both "before" and "after" is the classic fake.
	others := []models.Cond{models.Eq(ec.Status, models.EvidenceVerified), {Column: ec.ID, Op: models.OpNe, Value: e.ID}}
	var dup models.Evidence
	err := tx.First(&dup, models.Query{Where: append([]models.Cond{models.Eq(ec.SHA256, e.SHA256)}, others...), OrderBy: models.OrderBy(ec.CreatedAt)})
	switch {
	case err == nil:
		flags = append(flags, models.Flag{Code: FlagDuplicatePhoto, Value: 0, Unit: "", Ref: dup.ID,
			Detail: fmt.Sprintf("the same file is evidence of task %s (evidence %s)", dup.TaskID, dup.ID)})
		return flags, nil
	case !models.IsNotFound(err):
		return nil, err
	}
	if len(e.PHashes) == 0 {
		return flags, nil
	}
	// Candidates: stored hashes that share a 16-bit quarter with one of
	// this photo's hashes (an indexed lookup per quarter column), then the
	// closest by full Hamming distance.
	var qs [4][]int32
	for _, h := range e.PHashes {
		q := phashQuarters(h)
		for i := range qs {
			qs[i] = append(qs[i], q[i])
		}
	}
	var candidates []EvidencePHash
	err = tx.List(&candidates, models.Query{Where: []models.Cond{{Op: models.OpAny, Value: []models.Cond{
		{Column: pc.Q0, Op: models.OpIn, Value: qs[0]}, {Column: pc.Q1, Op: models.OpIn, Value: qs[1]},
		{Column: pc.Q2, Op: models.OpIn, Value: qs[2]}, {Column: pc.Q3, Op: models.OpIn, Value: qs[3]},
	}}, {Column: pc.EvidenceID, Op: models.OpNe, Value: e.ID}}, OrderBy: models.OrderBy(pc.EvidenceID, pc.Part), Limit: maxPHashCandidates})
	if err != nil {
		return nil, err
	}
	dist := map[string]int{}
	for _, c := range candidates {
		for _, h := range e.PHashes {
			if d := bits.OnesCount64(uint64(c.PHash) ^ h); d <= p.NearDuplicateDistance {
				if old, ok := dist[c.EvidenceID]; !ok || d < old {
					dist[c.EvidenceID] = d
				}
			}
		}
	}
	if len(dist) == 0 {
		return flags, nil
	}
	ids := make([]string, 0, len(dist))
	for id := range dist {
		ids = append(ids, id)
	}
	var near []models.Evidence
	if err := tx.List(&near, models.Query{Where: append([]models.Cond{{Column: ec.ID, Op: models.OpIn, Value: ids}}, others...)}); err != nil {
		return nil, err
	}
	var best *models.Evidence
	for i := range near {
		if best == nil || dist[near[i].ID] < dist[best.ID] || dist[near[i].ID] == dist[best.ID] && near[i].CreatedAt.Before(best.CreatedAt) {
			best = &near[i]
		}
	}
	if best != nil {
		d := dist[best.ID]
		flags = append(flags, models.Flag{Code: FlagNearDuplicatePhoto, Value: float64(d), Unit: "bits", Ref: best.ID,
			Detail: fmt.Sprintf("a near-identical photo (perceptual distance %d of 64, after allowing for mirroring, turning and cropping) is evidence of task %s (evidence %s)", d, best.TaskID, best.ID)})
	}
	return flags, nil
}
