package media

import (
	"bytes"
	"image/jpeg"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/fieldsync/fieldsync/models"
)

// gridHEIC lays coded HEVC tiles (hvcC and ispe property boxes shared by
// all) out as a HEIC whose primary item is a rows×cols grid of output
// size w×h, with the grid properties props (irot, imir) after its ispe:
// the structure phones write. Tiles are used in turn when there are
// fewer than the grid needs; tiles are hidden items, and the grid
// descriptor is stored in mdat.
// testdata/photos/grid-24mp.heic was made with it (README).
func gridHEIC(hvcC, ispe []byte, tiles [][]byte, rows, cols, w, h int, props ...[]byte) []byte {
	n := rows * cols
	desc := append([]byte{0, 1, byte(rows - 1), byte(cols - 1)}, append(be32(uint32(w)), be32(uint32(h))...)...)
	// Items: 1 the grid, 2.. the tiles; data in mdat in that order.
	infes := [][]byte{be16(uint16(n + 1)), fullBox("infe", 2, 0, be16(1), be16(0), []byte("grid"), []byte{0})}
	dimg := [][]byte{be16(1), be16(uint16(n))}
	var data [][]byte
	data = append(data, desc)
	for i := range n {
		infes = append(infes, fullBox("infe", 2, 1, be16(uint16(i+2)), be16(0), []byte("hvc1"), []byte{0}))
		dimg = append(dimg, be16(uint16(i+2)))
		data = append(data, tiles[i%len(tiles)])
	}
	ipco := append([][]byte{hvcC, ispe, fullBox("ispe", 0, 0, be32(uint32(w)), be32(uint32(h)))}, props...)
	gridProps := []byte{byte(1 + len(props)), 3}
	for i := range props {
		gridProps = append(gridProps, byte(4+i))
	}
	ipma := [][]byte{be32(uint32(n + 1)), be16(1), gridProps}
	for i := range n {
		ipma = append(ipma, be16(uint16(i+2)), []byte{2, 0x80 | 1, 2})
	}
	meta := func(base uint32) []byte {
		iloc := [][]byte{{0x44, 0x00}, be16(uint16(n + 1))}
		off := base
		for i, d := range data {
			iloc = append(iloc, be16(uint16(i+1)), be16(0), be16(1), be32(off), be32(uint32(len(d))))
			off += uint32(len(d))
		}
		return fullBox("meta", 0, 0,
			fullBox("hdlr", 0, 0, be32(0), []byte("pict"), make([]byte, 12), []byte{0}),
			fullBox("pitm", 0, 0, be16(1)),
			fullBox("iinf", 0, 0, infes...),
			fullBox("iref", 0, 0, bmffBox("dimg", dimg...)),
			fullBox("iloc", 0, 0, iloc...),
			bmffBox("iprp", bmffBox("ipco", ipco...), fullBox("ipma", 0, 0, ipma...)))
	}
	ft := ftyp("heic", "mif1", "heic")
	base := uint32(len(ft) + len(meta(0)) + 8)
	return bytes.Join([][]byte{ft, meta(base), bmffBox("mdat", data...)}, nil)
}

// regrid lays the tiles of a grid HEIC out again as a rows×cols grid of
// w×h, with props.
func regrid(t testing.TB, file []byte, rows, cols, w, h int, props ...[]byte) []byte {
	t.Helper()
	g, ok := parseGrid(file)
	if !ok {
		t.Fatal("not a grid")
	}
	return gridHEIC(g.hvcC, g.ispe, g.tiles, rows, cols, w, h, props...)
}

// TestHEICGridReduced: a 24-megapixel phone-style HEIC (a 12×8 grid of
// 512×512 tiles) and a 48-megapixel one turned a quarter (irot) are
// analysed and rendered public within the default budget — each admitted
// at a small part of it — with the size they are shown at; the reduced
// picture is the whole one shrunk (tiles in their places), and its hashes
// match the whole picture's.
func TestHEICGridReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes a 24-megapixel HEIC whole")
	}
	grid24 := readPhoto(t, "grid-24mp.heic")
	grid48 := regrid(t, grid24, 12, 16, 8000, 6000, bmffBox("irot", []byte{1}))
	for _, c := range []struct {
		name        string
		file        []byte
		w, h, s     int
		publicW, h2 int
	}{
		{"24 MP", grid24, 6000, 4000, 3, 2000, 1334},
		{"48 MP turned", grid48, 6000, 8000, 4, 1500, 2000},
	} {
		a := New()
		info, err := analyze(t, a, c.file)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if info.ContentType != ContentTypeHEIC || info.Width != c.w || info.Height != c.h || info.Thumbnail == nil || info.PHash == nil {
			t.Errorf("%s: %s %d×%d, thumbnail %v, hash %v", c.name, info.ContentType, info.Width, info.Height, info.Thumbnail != nil, info.PHash != nil)
		}
		g, _ := parseGrid(c.file)
		_, peak := a.DecodeMemory()
		if peak != g.reducedCost(c.s) || peak > DefaultDecodeBudget/3 {
			t.Errorf("%s: admitted %d MB, the reduced decode costs %d MB", c.name, peak>>20, g.reducedCost(c.s)>>20)
		}
		pub, err := a.RenderPublic(bytes.NewReader(c.file), 1)
		if err != nil {
			t.Fatalf("%s public: %v", c.name, err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(pub))
		if err != nil || cfg.Width != c.publicW || cfg.Height != c.h2 {
			t.Errorf("%s public copy: %d×%d, %v; want %d×%d", c.name, cfg.Width, cfg.Height, err, c.publicW, c.h2)
		}
	}

	// The reduced picture against the whole one, decoded by libheif and
	// shrunk alike: tiles in their places, colours kept.
	g, _ := parseGrid(grid24)
	reduced, err := g.decodeReduced(3)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := decodeHEIC(bytes.NewReader(grid24))
	if err != nil {
		t.Fatal(err)
	}
	shrunk := imaging.Resize(whole, 2000, 1334, imaging.Box)
	if d := meanAbsDiff(blockLuma(reduced, 16, 12), blockLuma(shrunk, 16, 12)); d > 2 {
		t.Errorf("the reduced picture differs from the whole one by %.1f levels a block", d)
	}
	_, hr, err := New().thumbnailAndHash(reduced, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, hw, err := New().thumbnailAndHash(whole, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := HammingDistance(hr[0], hw[0]); d > 2 {
		t.Errorf("the reduced picture's hash is %d bits from the whole one's", d)
	}
}

// TestHEICGridRefused: grids this decoder cannot take apart go to libheif
// whole, as before, and what does not fit the budget there is still
// media_too_large; a grid whose tiles are not HEVC is unreadable.
func TestHEICGridRefused(t *testing.T) {
	grid24 := readPhoto(t, "grid-24mp.heic")
	g, _ := parseGrid(grid24)
	for name, file := range map[string][]byte{
		"a cropped grid (clap)":      regrid(t, grid24, 8, 12, 6000, 4000, bmffBox("clap", make([]byte, 32))),
		"too few tiles for its size": gridHEIC(g.hvcC, g.ispe, g.tiles, 2, 2, 6000, 4000),
	} {
		if _, ok := parseGrid(file); ok {
			t.Errorf("%s: taken apart", name)
		}
		_, err := analyze(t, New(), file)
		wantCode(t, err, models.CodeMediaTooLarge)
	}
	// Tiles that are not HEVC: libheif's own error, unreadable.
	junk := gridHEIC(g.hvcC, g.ispe, [][]byte{[]byte("not a coded picture")}, 8, 12, 6000, 4000)
	_, err := analyze(t, New(), junk)
	wantCode(t, err, models.CodeMediaUnreadable)
}
