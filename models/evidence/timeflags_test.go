package evidence

import (
	"slices"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// TestTimeFlags states when a photo's time is flagged, without a
// database: the clock skew between EXIF and the device, a time outside
// the task's window, and a time before the assignment, each with its
// measured value; a wall-clock EXIF time is read in the device's offset,
// and never guessed when that offset is unknown.
func TestTimeFlags(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC) // the window opens and the task is assigned
	task := &models.InspectionTask{WindowStart: t0, DueAt: t0.Add(7 * 24 * time.Hour), AssignedAt: &t0}
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	plus8 := 8 * 3600
	type flag struct {
		code  string
		value float64
	}
	for _, tc := range []struct {
		name   string
		exif   *time.Time // EXIF DateTimeOriginal, with offset unless local
		local  bool       // EXIF time had no offset
		device *time.Time // the device's capture time
		offset *int       // the device's UTC offset, seconds
		want   []flag
	}{
		{name: "in the window, clocks agree", exif: at(2 * time.Hour), device: at(2*time.Hour + time.Minute)},
		{name: "no time at all"},
		{name: "device time only, in the window", device: at(time.Hour)},
		{name: "skew over ten minutes", exif: at(2 * time.Hour), device: at(3 * time.Hour),
			want: []flag{{FlagClockSkew, 3600}}},
		{name: "taken a day before the window, and before the assignment", exif: at(-24 * time.Hour), device: at(-24 * time.Hour),
			want: []flag{{FlagOutsideTaskWindow, 24}, {FlagBeforeAssignment, 24}}},
		{name: "taken after the task was due", exif: at(8 * 24 * time.Hour), device: at(8 * 24 * time.Hour),
			want: []flag{{FlagOutsideTaskWindow, 24}}},
		// EXIF's wall time, 01:00 with no offset, read in the device's
		// +08:00 is 17:00 UTC, the device's own instant: no skew.
		{name: "wall-clock EXIF read in the device's offset", exif: at(16 * time.Hour), local: true, device: at(8 * time.Hour), offset: &plus8},
		// Without the device's offset the wall-clock EXIF time is not
		// used: the device's time decides, and no skew is claimed.
		{name: "wall-clock EXIF without an offset is not guessed", exif: at(-48 * time.Hour), local: true, device: at(time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &models.Evidence{CapturedAt: tc.device, CapturedUTCOffset: tc.offset}
			m := &models.MediaSummary{TakenAt: tc.exif, TakenAtLocal: tc.local}
			var got []flag
			add := func(code string, value float64, _, _ string, _ ...any) { got = append(got, flag{code, value}) }
			if err := (&Service{}).timeFlags(e, m, task, models.DefaultEvidencePolicy, add); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("flags %v, want %v", got, tc.want)
			}
		})
	}
}
