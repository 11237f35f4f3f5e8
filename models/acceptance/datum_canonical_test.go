package acceptance_test

import (
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
)

// TestDatumCanonical: a WGS-84 fix is encoded in an evidence set's
// canonical form as before datums were recorded (no datum member), so the
// digests earlier decisions recorded still match; a GCJ-02 fix names its
// datum and original coordinates, so converting it differently would
// change the digest.
func TestDatumCanonical(t *testing.T) {
	orig := 39.9
	wgs := acceptance.EvidenceSet{Verifications: []models.Verification{{ID: "v", Datum: models.DatumWGS84}},
		Evidence: []models.Evidence{{ID: "e", Location: &models.EvidenceLocation{Lat: 1, Lng: 2, Datum: models.DatumWGS84}}}}
	b, err := wgs.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "datum") {
		t.Errorf("a WGS-84 set's canonical form names a datum: %s", b)
	}
	if wgs.Verifications[0].Datum != models.DatumWGS84 || wgs.Evidence[0].Location.Datum != models.DatumWGS84 {
		t.Error("Canonical changed the set it encodes")
	}
	gcj := acceptance.EvidenceSet{Evidence: []models.Evidence{{ID: "e", Location: &models.EvidenceLocation{Lat: 1, Lng: 2, Datum: models.DatumGCJ02, OriginalLat: &orig, OriginalLng: &orig}}}}
	if b, _ := gcj.Canonical(); !strings.Contains(string(b), `"datum":"gcj02","original_lat":39.9`) {
		t.Errorf("a GCJ-02 fix's datum is missing from the canonical form: %s", b)
	}
}
