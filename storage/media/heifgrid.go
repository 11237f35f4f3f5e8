package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"runtime"

	"github.com/disintegration/imaging"
)

// Phones store a HEIC photo as a grid of small HEVC-coded tiles (512×512
// on iPhones) that a 'grid' item lays out. libheif decodes the whole
// picture at once, in a WebAssembly memory of about 20 bytes a pixel, so
// a 24 or 48 megapixel photo would not fit the decode budget. A grid is
// instead decoded here one tile at a time, each tile wrapped in a HEIF
// file of its own, and shrunk by a whole factor into a reduced picture as
// it comes: the memory is one tile's decode and the reduced picture, and
// the reduced picture is still as large as the public copy (PublicSize),
// more than the thumbnail and the hashes need.

// heifGrid is a primary 'grid' item that can be decoded tile by tile.
type heifGrid struct {
	rows, cols    int
	width, height int // the grid's output size, before rotation
	tileW, tileH  int
	tiles         [][]byte // coded tile data, row by row
	hvcC, ispe    []byte   // the tiles' property boxes, whole
	// transforms are the grid's irot and imir properties, in order.
	transforms []box
}

// maxTiles bounds the tiles of a grid decoded here: each tile is a
// decoder instance of its own (some 70 ms of CPU), and a 50 MP photo in
// phones' 512×512 tiles has 191. A grid of more, smaller tiles goes to
// libheif whole, within the budget or refused.
const maxTiles = 256

// parseGrid returns the primary item's grid, or false when the primary
// item is not a grid of equal HEVC tiles this decoder can take apart
// (then the whole file goes to libheif as before).
func parseGrid(data []byte) (heifGrid, bool) {
	var g heifGrid
	meta, ok := find(boxes(data), "meta")
	if !ok {
		return g, false
	}
	mr := newReader(meta.body)
	mr.fullBox()
	children := boxes(mr.b)
	pitm, ok := find(children, "pitm")
	if !ok {
		return g, false
	}
	pr := newReader(pitm.body)
	var primary uint64
	if v, _ := pr.fullBox(); v == 0 {
		primary = pr.u16()
	} else {
		primary = pr.u32()
	}
	types := itemTypes(children)
	if !pr.ok || types[primary] != "grid" {
		return g, false
	}
	tileIDs := references(children, "dimg", primary)
	props, assoc := properties(children)
	desc, ok := itemBytes(data, children, primary, 64)
	if !ok || len(tileIDs) == 0 || len(tileIDs) > maxTiles {
		return g, false
	}
	dr := newReader(desc)
	dr.u8() // version
	flags := dr.u8()
	g.rows, g.cols = int(dr.u8())+1, int(dr.u8())+1
	if flags&1 != 0 {
		g.width, g.height = int(dr.u32()), int(dr.u32())
	} else {
		g.width, g.height = int(dr.u16()), int(dr.u16())
	}
	if !dr.ok || g.rows*g.cols != len(tileIDs) || g.width <= 0 || g.height <= 0 {
		return g, false
	}
	for _, i := range assoc[primary] {
		switch props[i].typ {
		case "irot", "imir":
			g.transforms = append(g.transforms, props[i])
		case "clap":
			return g, false // a crop: left to libheif
		}
	}
	for n, id := range tileIDs {
		if types[id] != "hvc1" {
			return g, false
		}
		var hvcC, ispe []byte
		for _, i := range assoc[id] {
			switch props[i].typ {
			case "hvcC":
				hvcC = boxBytes(props[i])
			case "ispe":
				ispe = boxBytes(props[i])
			case "irot", "imir", "clap":
				return g, false // transformed tiles: left to libheif
			}
		}
		if hvcC == nil || ispe == nil || n > 0 && (!bytes.Equal(hvcC, g.hvcC) || !bytes.Equal(ispe, g.ispe)) {
			return g, false
		}
		g.hvcC, g.ispe = hvcC, ispe
		tile, ok := itemBytes(data, children, id, len(data))
		if !ok {
			return g, false
		}
		g.tiles = append(g.tiles, tile)
	}
	ir := newReader(g.ispe[8:])
	ir.fullBox()
	g.tileW, g.tileH = int(ir.u32()), int(ir.u32())
	if !ir.ok || g.tileW <= 0 || g.tileH <= 0 || g.tileW > 8192 || g.tileH > 8192 ||
		g.cols*g.tileW < g.width || g.rows*g.tileH < g.height {
		return g, false
	}
	return g, true
}

// shown is the grid's size once rotated.
func (g heifGrid) shown() (int, int) {
	w, h := g.width, g.height
	for _, t := range g.transforms {
		if t.typ == "irot" && len(t.body) > 0 && t.body[0]&1 == 1 {
			w, h = h, w
		}
	}
	return w, h
}

// reduction is the whole factor by which a grid shown w×h is shrunk so
// that its longer side is at most limit.
func reduction(w, h, limit int) int {
	return max(1, (max(w, h)+limit-1)/limit)
}

// tileFile wraps one coded tile in a HEIF file of its own.
func (g heifGrid) tileFile(tile []byte) []byte {
	infe := fullBoxBytes("infe", 2, 0, be16(1), be16(0), []byte("hvc1"), []byte{0})
	ipco := boxOf("ipco", g.hvcC, g.ispe)
	ipma := fullBoxBytes("ipma", 0, 0, be32(1), be16(1), []byte{2, 0x80 | 1, 2})
	meta := func(offset uint32) []byte {
		iloc := fullBoxBytes("iloc", 0, 0, []byte{0x44, 0x00}, be16(1), be16(1), be16(0), be16(1), be32(offset), be32(uint32(len(tile))))
		return fullBoxBytes("meta", 0, 0,
			fullBoxBytes("hdlr", 0, 0, be32(0), []byte("pict"), make([]byte, 12), []byte{0}),
			fullBoxBytes("pitm", 0, 0, be16(1)),
			fullBoxBytes("iinf", 0, 0, be16(1), infe),
			iloc, boxOf("iprp", ipco, ipma))
	}
	ftyp := boxOf("ftyp", []byte("heic"), be32(0), []byte("mif1heic"))
	offset := uint32(len(ftyp) + len(meta(0)) + 8)
	return bytes.Join([][]byte{ftyp, meta(offset), boxOf("mdat", tile)}, nil)
}

// decodeReduced decodes the grid tile by tile into a picture 1/s of its
// size (each pixel the mean of an s×s block), then applies its rotation
// and mirroring: the picture as shown, reduced.
func (g heifGrid) decodeReduced(s int) (image.Image, error) {
	dw, dh := (g.width+s-1)/s, (g.height+s-1)/s
	sum := make([]uint32, 3*dw*dh)
	perTile := int64(g.tileW) * int64(g.tileH) * heicBytesPerPixel
	garbage := int64(0)
	for n, tile := range g.tiles {
		// Every tile's decode leaves its WebAssembly memory behind; left
		// to the pacer, a few grids decoding at once would let that
		// garbage grow as large as everything live. Collected every
		// tileGarbage bytes, the space is reused by the next tiles.
		if garbage += perTile; garbage > tileGarbage {
			runtime.GC()
			garbage = perTile
		}
		img, err := decodeHEIC(bytes.NewReader(g.tileFile(tile)))
		if err != nil {
			return nil, err
		}
		x0, y0 := n%g.cols*g.tileW, n/g.cols*g.tileH
		b := img.Bounds()
		ycc, _ := img.(*image.YCbCr)
		for y := 0; y < min(g.tileH, b.Dy(), g.height-y0); y++ {
			row := (y0 + y) / s * dw
			for x := 0; x < min(g.tileW, b.Dx(), g.width-x0); x++ {
				var r, gr, bl uint8
				if ycc != nil {
					yi, ci := ycc.YOffset(b.Min.X+x, b.Min.Y+y), ycc.COffset(b.Min.X+x, b.Min.Y+y)
					r, gr, bl = color.YCbCrToRGB(ycc.Y[yi], ycc.Cb[ci], ycc.Cr[ci])
				} else {
					c := color.RGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
					r, gr, bl = c.R, c.G, c.B
				}
				i := 3 * (row + (x0+x)/s)
				sum[i] += uint32(r)
				sum[i+1] += uint32(gr)
				sum[i+2] += uint32(bl)
			}
		}
	}
	out := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		bh := min(s, g.height-y*s)
		for x := range dw {
			n := uint32(bh * min(s, g.width-x*s))
			i, o := 3*(y*dw+x), out.PixOffset(x, y)
			out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = uint8(sum[i]/n), uint8(sum[i+1]/n), uint8(sum[i+2]/n), 255
		}
	}
	var img image.Image = out
	for _, t := range g.transforms {
		if len(t.body) == 0 {
			continue
		}
		if t.typ == "irot" {
			// Anti-clockwise, in quarter turns.
			switch t.body[0] & 3 {
			case 1:
				img = imaging.Rotate90(img)
			case 2:
				img = imaging.Rotate180(img)
			case 3:
				img = imaging.Rotate270(img)
			}
		} else if t.body[0]&1 == 0 {
			img = imaging.FlipH(img) // about the vertical axis
		} else {
			img = imaging.FlipV(img)
		}
	}
	return img, nil
}

// tileGarbage bounds the garbage of finished tile decodes that
// decodeReduced leaves before it collects it.
const tileGarbage = 32 << 20

// reducedCost is the memory decodeReduced takes: the sums and the reduced
// picture, a tile's decode (as decodeCost counts a HEIC) and its file,
// the garbage of the tiles before it, and the turned copy.
func (g heifGrid) reducedCost(s int) int64 {
	dpx := int64((g.width+s-1)/s) * int64((g.height+s-1)/s)
	tile := int64(g.tileW) * int64(g.tileH)
	largest := 0
	for _, t := range g.tiles {
		largest = max(largest, len(t))
	}
	return dpx*(12+4+4) + tile*heicBytesPerPixel + tileGarbage + 3*int64(largest+1024) + 4<<20
}

// itemTypes maps item ids to their types (iinf; infe versions 2 and 3).
func itemTypes(meta []box) map[uint64]string {
	out := map[uint64]string{}
	iinf, ok := find(meta, "iinf")
	if !ok {
		return out
	}
	r := newReader(iinf.body)
	if v, _ := r.fullBox(); v == 0 {
		r.u16()
	} else {
		r.u32()
	}
	for _, infe := range boxes(r.b) {
		ir := newReader(infe.body)
		v, _ := ir.fullBox()
		if infe.typ != "infe" || v < 2 {
			continue
		}
		var id uint64
		if v == 2 {
			id = ir.u16()
		} else {
			id = ir.u32()
		}
		ir.u16()
		if typ := ir.take(4); ir.ok {
			out[id] = string(typ)
		}
	}
	return out
}

// references lists the items that item from refers to with typ (iref),
// in order.
func references(meta []box, typ string, from uint64) []uint64 {
	iref, ok := find(meta, "iref")
	if !ok {
		return nil
	}
	r := newReader(iref.body)
	v, _ := r.fullBox()
	id := func(r *reader) uint64 {
		if v == 0 {
			return r.u16()
		}
		return r.u32()
	}
	for _, ref := range boxes(r.b) {
		rr := newReader(ref.body)
		if ref.typ != typ || id(rr) != from {
			continue
		}
		n := rr.u16()
		var out []uint64
		for i := uint64(0); i < n && rr.ok; i++ {
			out = append(out, id(rr))
		}
		if rr.ok {
			return out
		}
	}
	return nil
}

// properties returns the ipco properties and, for each item, the indexes
// into them of its properties (ipma), in order.
func properties(meta []box) ([]box, map[uint64][]int) {
	assoc := map[uint64][]int{}
	iprp, ok := find(meta, "iprp")
	if !ok {
		return nil, assoc
	}
	props := boxes(iprp.body)
	ipco, ok := find(props, "ipco")
	if !ok {
		return nil, assoc
	}
	list := boxes(ipco.body)
	for _, ipma := range props {
		if ipma.typ != "ipma" {
			continue
		}
		r := newReader(ipma.body)
		version, flags := r.fullBox()
		n := r.u32()
		for i := uint64(0); i < n && r.ok; i++ {
			var item uint64
			if version < 1 {
				item = r.u16()
			} else {
				item = r.u32()
			}
			count := r.u8()
			for j := uint64(0); j < count && r.ok; j++ {
				var index uint64
				if flags&1 != 0 {
					index = r.u16() & 0x7FFF
				} else {
					index = r.u8() & 0x7F
				}
				if index >= 1 && int(index) <= len(list) && r.ok {
					assoc[item] = append(assoc[item], int(index)-1)
				}
			}
		}
	}
	return list, assoc
}

func boxBytes(b box) []byte { return boxOf(b.typ, b.body) }

func boxOf(typ string, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	return append(append(be32(uint32(8+len(body))), typ...), body...)
}

func fullBoxBytes(typ string, version byte, flags uint32, parts ...[]byte) []byte {
	vf := be32(flags)
	vf[0] = version
	return boxOf(typ, append([][]byte{vf}, parts...)...)
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
