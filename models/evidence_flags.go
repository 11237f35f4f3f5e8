package models

import (
	"fmt"
	"math"
	"math/bits"
	"time"
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
func (s *Service) evidenceFlags(tx Tx, e *Evidence) (Flags, error) {
	p := s.evidencePolicy()
	var t InspectionTask
	if err := tx.Get(&t, e.TaskID); err != nil {
		return nil, err
	}
	var site Site
	if err := tx.Get(&site, t.SiteID); err != nil {
		return nil, err
	}
	flags := Flags{}
	add := func(code string, value float64, unit, format string, args ...any) {
		flags = append(flags, Flag{Code: code, Value: math.Round(value*10) / 10, Unit: unit, Detail: fmt.Sprintf(format, args...)})
	}
	m := e.Media
	if m == nil {
		m = &MediaSummary{}
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
				d := DistanceM(site.Lat, site.Lng, lat, lng)
				add(FlagOutsideGeofence, d, "m", "taken %.0f m from the site centre; the geofence radius is %.0f m", d, site.RadiusM)
			}
		}
	}
	if m.HasGPS && dev != nil {
		// The device's own accuracy widens the tolerance, but only so far:
		// a claimed accuracy of kilometres must not hide a mismatch.
		if d := DistanceM(*m.Lat, *m.Lng, dev.Lat, dev.Lng); d > p.GPSMismatchM+math.Min(dev.AccuracyM, maxAccuracyM) {
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
func exifTime(e *Evidence, m *MediaSummary) *time.Time {
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

func (s *Service) timeFlags(e *Evidence, m *MediaSummary, t *InspectionTask, p EvidencePolicy, add func(string, float64, string, string, ...any)) error {
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

// duplicateFlags finds the same photo (SHA-256) or a near-identical one
// (perceptual hash) already used as other evidence. Near
// candidates come from the four indexed quarters of the hash.
func (s *Service) duplicateFlags(tx Tx, e *Evidence, flags Flags, p EvidencePolicy) (Flags, error) {
	// Any other evidence counts, the same task's included: one photo used
	// for both "before" and "after" is the classic fake.
	others := []Cond{Eq("status", EvidenceVerified), {Column: "id", Op: OpNe, Value: e.ID}}
	var dup Evidence
	err := tx.First(&dup, Query{Where: append([]Cond{Eq("sha256", e.SHA256)}, others...), OrderBy: "created_at"})
	switch {
	case err == nil:
		flags = append(flags, Flag{Code: FlagDuplicatePhoto, Value: 0, Unit: "", Ref: dup.ID,
			Detail: fmt.Sprintf("the same file is evidence of task %s (evidence %s)", dup.TaskID, dup.ID)})
		return flags, nil
	case !IsNotFound(err):
		return nil, err
	}
	if e.PHash == nil {
		return flags, nil
	}
	var candidates []Evidence
	err = tx.List(&candidates, Query{Where: append([]Cond{{Op: OpAny, Value: []Cond{
		Eq("phash_q0", *e.PHashQ0), Eq("phash_q1", *e.PHashQ1), Eq("phash_q2", *e.PHashQ2), Eq("phash_q3", *e.PHashQ3),
	}}}, others...), Limit: 500})
	if err != nil {
		return nil, err
	}
	best, bestD := "", p.NearDuplicateDistance+1
	var bestTask string
	for _, c := range candidates {
		if c.PHash == nil {
			continue
		}
		if d := bits.OnesCount64(uint64(*c.PHash) ^ uint64(*e.PHash)); d < bestD {
			best, bestD, bestTask = c.ID, d, c.TaskID
		}
	}
	if best != "" {
		flags = append(flags, Flag{Code: FlagNearDuplicatePhoto, Value: float64(bestD), Unit: "bits", Ref: best,
			Detail: fmt.Sprintf("a near-identical photo (perceptual distance %d of 64) is evidence of task %s (evidence %s)", bestD, bestTask, best)})
	}
	return flags, nil
}
