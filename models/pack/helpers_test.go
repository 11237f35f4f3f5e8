package pack_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/models/acceptance"
	"github.com/fieldsync/fieldsync/models/evidence"
	"github.com/fieldsync/fieldsync/models/pack"
)

const photos = "../../testdata/photos/"

// memBlobs is an in-memory BlobStore.
type memBlobs struct {
	mu sync.Mutex
	m  map[string][]byte
}

var _ models.BlobStore = (*memBlobs)(nil)

func (s *memBlobs) Put(_ context.Context, key string, r io.Reader, _ int64, ct string) (models.BlobInfo, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return models.BlobInfo{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = b
	return models.BlobInfo{Key: key, Size: int64(len(b)), ContentType: ct}, nil
}

func (s *memBlobs) Get(_ context.Context, key string) (io.ReadCloser, models.BlobInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key]
	if !ok {
		return nil, models.BlobInfo{}, fmt.Errorf("blob %s: %w", key, models.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), models.BlobInfo{Key: key, Size: int64(len(b))}, nil
}

func (s *memBlobs) Stat(ctx context.Context, key string) (models.BlobInfo, error) {
	_, info, err := s.Get(ctx, key)
	return info, err
}

func (s *memBlobs) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memBlobs) List(_ context.Context, prefix string, fn func(models.BlobInfo) error) error {
	s.mu.Lock()
	var keys []string
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	s.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(models.BlobInfo{Key: k, Size: int64(len(s.m[k]))}); err != nil {
			return err
		}
	}
	return nil
}

func (s *memBlobs) Ping(context.Context) error { return nil }

// fixture is a pack's contents built from the shared real photos.
type fixture struct {
	pack   acceptance.EvidencePack
	blobs  *memBlobs
	signer *pack.Signer
	writer *pack.Writer
}

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// shot is one of the shared photos with the facts its README gives.
type shot struct {
	file     string
	lat, lng float64
	taken    time.Time
	fix      *models.EvidenceLocation
	flags    models.Flags
}

var shots = []shot{
	{"DSCN0010.jpg", 43.4674483, 11.8851267, time.Date(2008, 10, 22, 16, 28, 39, 0, time.UTC),
		&models.EvidenceLocation{Lat: 43.46745, Lng: 11.88513, AccuracyM: 6}, nil},
	{"DSCN0012.jpg", 43.4671567, 11.8853950, time.Date(2008, 10, 22, 16, 29, 49, 0, time.UTC),
		&models.EvidenceLocation{Lat: 43.4679, Lng: 11.8870, AccuracyM: 12},
		models.Flags{{Code: evidence.FlagExifGPSMismatch, Value: 184.2, Unit: "m", Detail: "the photo's GPS is 184 m from the device's fix (accuracy 12 m)"}}},
	{"DSCN0021.jpg", 43.4670817, 11.8845383, time.Date(2008, 10, 22, 16, 38, 20, 0, time.UTC), nil, nil},
	{"DSCN0025.jpg", 43.4683650, 11.8816350, time.Date(2008, 10, 22, 16, 43, 21, 0, time.UTC),
		&models.EvidenceLocation{Lat: 43.46837, Lng: 11.88164, AccuracyM: 4, Mocked: true},
		models.Flags{{Code: evidence.FlagOutsideGeofence, Value: 294.1, Unit: "m", Detail: "taken 294 m from the site centre; the geofence radius is 100 m"},
			{Code: evidence.FlagMockedLocation, Value: 1, Detail: "the device reported a mock location"}}},
}

// newFixture builds an item with one task at a 100 m site around the
// photos' walk, a verification with the four photos, answers, a note and
// two decisions: an old one on other evidence and one on this.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{blobs: &memBlobs{}}
	ctx := context.Background()
	city := models.Unit{ID: "00000000-0000-4000-8000-000000000001", Code: "CITY", Name: "江城市", Kind: "city", Version: 1, CreatedAt: t0, UpdatedAt: t0}
	county := models.Unit{ID: "00000000-0000-4000-8000-000000000002", ParentID: &city.ID, Code: "CTY-A", Name: "临江县", Kind: "county", Version: 1, CreatedAt: t0, UpdatedAt: t0}
	insp := acceptance.Person{ID: "00000000-0000-4000-8000-0000000000a1", Username: "insp1", DisplayName: "王核查", Role: models.RoleInspector, UnitID: county.ID}
	sup := acceptance.Person{ID: "00000000-0000-4000-8000-0000000000a2", Username: "supa", DisplayName: "李督察", Role: models.RoleSupervisor, UnitID: county.ID}
	item := models.RectificationItem{ID: "00000000-0000-4000-8000-000000000010", Code: "A-1", Title: "黑臭水体整治 <临江>", Description: "排口污水直排入河",
		Source: "第二轮中央生态环境保护督察", Category: "黑臭水体", Area: "水环境", Target: "消除黑臭", Measures: "1. 截污纳管\n2. 清淤",
		ResponsibleUnitID: county.ID, CooperatingUnitIDs: models.StringList{city.ID}, FirstResponsible: "县长 张三", SpecificResponsible: "局长 李四",
		Deadline: t0.AddDate(0, 6, 0), SupervisionLevel: models.SupervisionKey, Status: models.ItemPendingAcceptance, Version: 3, CreatedAt: t0.AddDate(0, -2, 0), UpdatedAt: t0}
	site := models.Site{ID: "00000000-0000-4000-8000-000000000020", UnitID: county.ID, Name: "城南排口", Kind: "sewage_outfall", Address: "城南路 1 号",
		Lat: 43.4672, Lng: 11.8849, RadiusM: 100, Version: 1, CreatedAt: t0, UpdatedAt: t0}
	tmpl := models.ChecklistTemplate{ID: "00000000-0000-4000-8000-000000000030", Name: "核查表", Version: 1, CreatedAt: t0, UpdatedAt: t0,
		Questions: models.Questions{{ID: "q1", Text: "排口是否封堵", Type: models.QuestionYesNo, Required: true}, {ID: "q2", Text: "COD", Type: models.QuestionNumber, Unit: "mg/L"}}}
	task := models.InspectionTask{ID: "00000000-0000-4000-8000-000000000040", ItemID: item.ID, SiteID: site.ID, AssigneeID: &insp.ID, Kind: models.TaskAcceptanceCheck,
		TemplateID: tmpl.ID, WindowStart: t0.AddDate(0, 0, -7), DueAt: t0, Status: models.TaskCompleted, AssignedAt: ptr(t0.AddDate(0, 0, -7)),
		Reasons: models.StringList{}, Version: 4, CreatedAt: t0.AddDate(0, 0, -7), UpdatedAt: t0}
	ver := models.Verification{ID: "00000000-0000-4000-8000-000000000050", TaskID: task.ID, ItemID: item.ID, InspectorID: insp.ID, Conclusion: models.ConclusionRectified,
		Notes: "排口已封堵，河水无异味", Lat: 43.46722, Lng: 11.88495, AccuracyM: 5, RecordedAt: t0.Add(-2 * time.Hour), Version: 1, CreatedAt: t0, UpdatedAt: t0}
	es := acceptance.EvidenceSet{Item: item, Units: []models.Unit{city, county}, People: []acceptance.Person{insp}, Submissions: []models.Submission{},
		Tasks: []models.InspectionTask{task}, Sites: []models.Site{site}, Templates: []models.ChecklistTemplate{tmpl},
		Answers: []models.Answer{
			{ID: "00000000-0000-4000-8000-000000000061", TaskID: task.ID, QuestionID: "q1", InspectorID: insp.ID, Value: models.RawJSON("true"), Version: 1, CreatedAt: t0, UpdatedAt: t0},
			{ID: "00000000-0000-4000-8000-000000000062", TaskID: task.ID, QuestionID: "q2", InspectorID: insp.ID, Value: models.RawJSON("18.5"), Version: 1, CreatedAt: t0, UpdatedAt: t0},
		},
		Notes: []models.Note{{ID: "00000000-0000-4000-8000-000000000070", TaskID: task.ID, AuthorID: insp.ID, Text: "下游 200 m 处有新建截污管", Version: 1, CreatedAt: t0, UpdatedAt: t0}},
	}
	for i, s := range shots {
		data, err := os.ReadFile(photos + s.file)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("00000000-0000-4000-8000-0000000001%02d", i)
		sum := sha256.Sum256(data)
		e := models.Evidence{ID: id, TaskID: task.ID, VerificationID: &ver.ID, InspectorID: insp.ID, SiteID: site.ID, Kind: "photo", Status: models.EvidenceVerified,
			SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), ContentType: "image/jpeg", CapturedAt: ptr(t0.Add(-2 * time.Hour)), Location: s.fix,
			Media: &models.MediaSummary{ContentType: "image/jpeg", Width: 640, Height: 480, HasGPS: true, Lat: ptr(s.lat), Lng: ptr(s.lng), TakenAt: ptr(s.taken),
				Make: "NIKON", Model: "COOLPIX P6000", Orientation: 1, HasThumbnail: true},
			Flags: append(models.Flags{}, s.flags...), CompletedAt: ptr(t0.Add(-time.Hour)), ObjectKey: "evidence/" + id, ThumbKey: "thumbs/" + id + ".jpg",
			Version: 2, CreatedAt: t0, UpdatedAt: t0}
		f.blobs.Put(ctx, e.ObjectKey, bytes.NewReader(data), e.Size, e.ContentType)
		f.blobs.Put(ctx, e.ThumbKey, bytes.NewReader(thumbnail(t, data)), -1, "image/jpeg")
		es.Evidence = append(es.Evidence, e)
		ver.EvidenceIDs = append(ver.EvidenceIDs, id)
	}
	// A photo still waiting for its bytes: listed, with no file.
	es.Evidence = append(es.Evidence, models.Evidence{ID: "00000000-0000-4000-8000-000000000199", TaskID: task.ID, InspectorID: insp.ID, SiteID: site.ID,
		Kind: "photo", Status: models.EvidencePending, Flags: models.Flags{}, Version: 1, CreatedAt: t0, UpdatedAt: t0})
	es.Verifications = []models.Verification{ver}
	digest, err := es.Digest()
	if err != nil {
		t.Fatal(err)
	}
	f.pack = acceptance.EvidencePack{Set: es, GeneratedAt: t0, Deciders: []acceptance.Person{sup}, Decisions: []models.Decision{
		{ID: "00000000-0000-4000-8000-000000000081", ItemID: item.ID, Kind: models.DecisionReject, FromStatus: models.ItemPendingAcceptance, ToStatus: models.ItemRejected,
			DeciderID: sup.ID, Comment: "照片不足", Reasons: models.StringList{"缺少排口近景"}, RequiredEvidence: "排口近景照片", FlagAcks: models.FlagAcks{},
			EvidenceDigest: strings.Repeat("ab", 32), Version: 1, CreatedAt: t0.AddDate(0, 0, -10), UpdatedAt: t0.AddDate(0, 0, -10)},
		{ID: "00000000-0000-4000-8000-000000000082", ItemID: item.ID, Kind: models.DecisionAccept, FromStatus: models.ItemPendingAcceptance, ToStatus: models.ItemAccepted,
			DeciderID: sup.ID, Comment: "整改到位，同意销号", Reasons: models.StringList{}, FlagAcks: models.FlagAcks{
				{EvidenceID: es.Evidence[3].ID, Code: evidence.FlagOutsideGeofence, Comment: "拍摄下游截污管，位置合理"}},
			EvidenceDigest: digest, Version: 1, CreatedAt: t0.Add(-30 * time.Minute), UpdatedAt: t0.Add(-30 * time.Minute)},
	}}
	signer, err := pack.NewSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f.signer = signer
	f.writer = &pack.Writer{Blobs: f.blobs, Signer: signer, Server: "fieldsync test"}
	return f
}

// thumbnail scales a JPEG down to at most 160 px, nearest neighbour.
func thumbnail(t testing.TB, data []byte) []byte {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	w, h := 160, 160*b.Dy()/b.Dx()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.Set(x, y, img.At(b.Min.X+x*b.Dx()/w, b.Min.Y+y*b.Dy()/h))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// write makes the fixture's pack.
func (f *fixture) write(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f.writer.Write(context.Background(), &buf, f.pack); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
