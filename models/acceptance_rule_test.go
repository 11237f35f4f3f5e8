package models_test

import (
	"slices"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// acceptanceCase builds an evidence set around one round with one
// acceptance task at a 100 m site, its latest verification rectified
// with one verified photo: acceptable as built. Each case changes one
// thing.
func acceptanceCase() *models.EvidenceSet {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	round := models.Submission{ID: "round-1", ItemID: "item", Round: 1}
	site := models.Site{ID: "site", Lat: 30, Lng: 114, RadiusM: 100}
	task := models.InspectionTask{ID: "task", ItemID: "item", SiteID: site.ID, Kind: models.TaskAcceptanceCheck, RoundID: &round.ID, Status: models.TaskCompleted}
	ver := models.Verification{ID: "ver", TaskID: task.ID, Conclusion: models.ConclusionRectified, Lat: 30, Lng: 114, EvidenceIDs: models.StringList{"photo"}, CreatedAt: t0}
	photo := models.Evidence{ID: "photo", TaskID: task.ID, Kind: "photo", Status: models.EvidenceVerified, Flags: models.Flags{}}
	return &models.EvidenceSet{
		Item:          models.RectificationItem{ID: "item", Status: models.ItemPendingAcceptance},
		Submissions:   []models.Submission{round},
		Tasks:         []models.InspectionTask{task},
		Sites:         []models.Site{site},
		Verifications: []models.Verification{ver},
		Evidence:      []models.Evidence{photo},
	}
}

func blockerCodes(ac models.Acceptance) []string {
	var out []string
	for _, b := range ac.Blockers {
		out = append(out, b.Code)
	}
	return out
}

// TestAcceptanceOf states the rule of acceptance case by case, without a
// database: what blocks, which verification is judged, which flags must be
// acknowledged.
func TestAcceptanceOf(t *testing.T) {
	later := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		change   func(es *models.EvidenceSet)
		blockers []string
		judged   string   // the verification the task is judged by
		flags    []string // flag codes to acknowledge, in order
	}{
		{name: "acceptable", change: func(*models.EvidenceSet) {}, judged: "ver"},
		{name: "not pending", change: func(es *models.EvidenceSet) { es.Item.Status = models.ItemInProgress },
			blockers: []string{models.BlockNotPending}, judged: "ver"},
		{name: "never submitted", change: func(es *models.EvidenceSet) { es.Submissions = nil },
			blockers: []string{models.BlockNoRound}},
		{name: "no verification yet", change: func(es *models.EvidenceSet) { es.Verifications = nil },
			blockers: []string{models.BlockNotVerified}},
		{name: "not rectified", change: func(es *models.EvidenceSet) { es.Verifications[0].Conclusion = models.ConclusionSuspectedFake },
			blockers: []string{models.BlockNotRectified}, judged: "ver"},
		{name: "no file", change: func(es *models.EvidenceSet) { es.Verifications[0].EvidenceIDs = nil; es.Evidence = nil },
			blockers: []string{models.BlockNoEvidence}, judged: "ver"},
		{name: "file not arrived", change: func(es *models.EvidenceSet) { es.Evidence = nil },
			blockers: []string{models.BlockEvidenceNotExists}, judged: "ver"},
		{name: "file pending", change: func(es *models.EvidenceSet) { es.Evidence[0].Status = models.EvidencePending },
			blockers: []string{models.BlockEvidenceNotReady}, judged: "ver"},
		{name: "a file declared for the verification counts", change: func(es *models.EvidenceSet) {
			ver := "ver"
			es.Evidence = append(es.Evidence, models.Evidence{ID: "late", VerificationID: &ver, Status: models.EvidencePending})
		}, blockers: []string{models.BlockEvidenceNotReady}, judged: "ver"},
		{name: "cancelled task does not count", change: func(es *models.EvidenceSet) { es.Tasks[0].Status = models.TaskCancelled },
			blockers: []string{models.BlockNoChecks}},
		{name: "task of an earlier round does not count", change: func(es *models.EvidenceSet) {
			es.Submissions = append(es.Submissions, models.Submission{ID: "round-2", Round: 2})
		}, blockers: []string{models.BlockNoChecks}},
		// The last verification to reach the server is judged, whatever
		// the phone's clock says.
		{name: "the latest verification is judged", change: func(es *models.EvidenceSet) {
			es.Verifications = append(es.Verifications, models.Verification{ID: "redo", TaskID: "task", Conclusion: models.ConclusionNotRectified,
				RecordedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), CreatedAt: later, EvidenceIDs: models.StringList{"photo"}, Lat: 30, Lng: 114})
		}, blockers: []string{models.BlockNotRectified}, judged: "redo"},
		{name: "flags of files and records are listed, not blocking", change: func(es *models.EvidenceSet) {
			es.Evidence[0].Flags = models.Flags{{Code: models.FlagClockSkew, Value: 3600, Unit: "s"}}
			es.Verifications[0].Mocked = true
			es.Verifications[0].Lat = 30.01 // ~1.1 km north of the site
		}, judged: "ver", flags: []string{models.FlagMockedLocation, models.FlagOutsideGeofence, models.FlagClockSkew}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := acceptanceCase()
			tc.change(es)
			ac := models.AcceptanceOf(es)
			if got := blockerCodes(ac); !slices.Equal(got, tc.blockers) {
				t.Errorf("blockers %v, want %v", got, tc.blockers)
			}
			if ac.Acceptable() != (len(tc.blockers) == 0) {
				t.Errorf("Acceptable() = %v with blockers %v", ac.Acceptable(), tc.blockers)
			}
			if got := ac.Judged["task"]; got != tc.judged {
				t.Errorf("judged by %q, want %q", got, tc.judged)
			}
			var flags []string
			for _, f := range ac.Flags {
				flags = append(flags, f.Code)
			}
			if !slices.Equal(flags, tc.flags) {
				t.Errorf("flags to acknowledge %v, want %v", flags, tc.flags)
			}
		})
	}
}
