package media

import (
	"bytes"
	"encoding/binary"
)

// A minimal ISO BMFF / HEIF reader (ISO/IEC 14496-12, 23008-12): enough to
// find the primary item's ispe (pixel size) and the Exif item's bytes. It
// never decodes pixels. Every read is bounds-checked; anything malformed
// just leaves the field unknown.

type heifInfo struct {
	width, height int
	exif          []byte // TIFF blob, or nil
}

type box struct {
	typ  string
	body []byte // contents after the header
}

// boxes splits data into consecutive boxes. A malformed box ends the list.
func boxes(data []byte) []box {
	var out []box
	for len(data) >= 8 && len(out) < 10000 {
		size := uint64(binary.BigEndian.Uint32(data))
		typ := string(data[4:8])
		hdr := uint64(8)
		switch size {
		case 0: // to the end
			size = uint64(len(data))
		case 1: // 64-bit size follows
			if len(data) < 16 {
				return out
			}
			size, hdr = binary.BigEndian.Uint64(data[8:16]), 16
		}
		if size < hdr || size > uint64(len(data)) {
			return out
		}
		out = append(out, box{typ: typ, body: data[hdr:size]})
		data = data[size:]
	}
	return out
}

func find(bs []box, typ string) (box, bool) {
	for _, b := range bs {
		if b.typ == typ {
			return b, true
		}
	}
	return box{}, false
}

// reader is a bounds-checked big-endian cursor; after any short read ok is
// false and every further read returns 0.
type reader struct {
	b  []byte
	ok bool
}

func newReader(b []byte) *reader { return &reader{b: b, ok: true} }

func (r *reader) take(n int) []byte {
	if !r.ok || n < 0 || n > len(r.b) {
		r.ok = false
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint64 {
	if b := r.take(1); b != nil {
		return uint64(b[0])
	}
	return 0
}

func (r *reader) u16() uint64 {
	if b := r.take(2); b != nil {
		return uint64(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *reader) u32() uint64 {
	if b := r.take(4); b != nil {
		return uint64(binary.BigEndian.Uint32(b))
	}
	return 0
}

// uN reads an n-byte unsigned integer, n in {0, 4, 8} (iloc field sizes).
func (r *reader) uN(n uint64) uint64 {
	switch n {
	case 0:
		return 0
	case 4:
		return r.u32()
	case 8:
		if b := r.take(8); b != nil {
			return binary.BigEndian.Uint64(b)
		}
		return 0
	}
	r.ok = false
	return 0
}

// fullBox reads the version and flags of a FullBox.
func (r *reader) fullBox() (version uint64, flags uint64) {
	v := r.u32()
	return v >> 24, v & 0xFFFFFF
}

func parseHEIF(data []byte) heifInfo {
	var h heifInfo
	meta, ok := find(boxes(data), "meta")
	if !ok {
		return h
	}
	mr := newReader(meta.body)
	mr.fullBox()
	if !mr.ok {
		return h
	}
	children := boxes(mr.b)

	primary, hasPrimary := uint64(0), false
	if pitm, ok := find(children, "pitm"); ok {
		r := newReader(pitm.body)
		if v, _ := r.fullBox(); v == 0 {
			primary = r.u16()
		} else {
			primary = r.u32()
		}
		hasPrimary = r.ok
	}

	h.width, h.height = primarySize(children, primary, hasPrimary)

	if id, ok := exifItem(children); ok {
		if payload, ok := itemData(data, children, id); ok {
			h.exif = heifExifBlob(payload)
		}
	}
	return h
}

// primarySize returns the ispe of the primary item; without a usable
// pitm/ipma, the largest ispe in the file.
func primarySize(meta []box, primary uint64, hasPrimary bool) (int, int) {
	list, assoc := properties(meta)
	ispe := func(i int) (int, int, bool) {
		if i < 0 || i >= len(list) || list[i].typ != "ispe" {
			return 0, 0, false
		}
		r := newReader(list[i].body)
		r.fullBox()
		w, h := r.u32(), r.u32()
		if !r.ok || w == 0 || h == 0 || w > 1<<30 || h > 1<<30 {
			return 0, 0, false
		}
		return int(w), int(h), true
	}
	if hasPrimary {
		for _, i := range assoc[primary] {
			if w, h, ok := ispe(i); ok {
				return w, h
			}
		}
	}
	var bw, bh int
	for i := range list {
		if w, h, ok := ispe(i); ok && int64(w)*int64(h) > int64(bw)*int64(bh) {
			bw, bh = w, h
		}
	}
	return bw, bh
}

// exifItem finds the item ID of type "Exif" in iinf.
func exifItem(meta []box) (uint64, bool) {
	iinf, ok := find(meta, "iinf")
	if !ok {
		return 0, false
	}
	r := newReader(iinf.body)
	if v, _ := r.fullBox(); v == 0 {
		r.u16()
	} else {
		r.u32()
	}
	if !r.ok {
		return 0, false
	}
	for _, infe := range boxes(r.b) {
		if infe.typ != "infe" {
			continue
		}
		ir := newReader(infe.body)
		v, _ := ir.fullBox()
		if v < 2 {
			continue // versions 0 and 1 carry no item_type
		}
		var id uint64
		if v == 2 {
			id = ir.u16()
		} else {
			id = ir.u32()
		}
		ir.u16() // item_protection_index
		typ := ir.take(4)
		if ir.ok && string(typ) == "Exif" {
			return id, true
		}
	}
	return 0, false
}

// itemData returns the bytes of the Exif item id: at most maxExifBytes+64.
func itemData(file []byte, meta []box, id uint64) ([]byte, bool) {
	return itemBytes(file, meta, id, maxExifBytes+64)
}

// itemBytes returns the bytes of item id from iloc (construction method 0,
// file offsets, or 1, offsets into idat), joining its extents; at most
// limit bytes.
func itemBytes(file []byte, meta []box, id uint64, limit int) ([]byte, bool) {
	iloc, ok := find(meta, "iloc")
	if !ok {
		return nil, false
	}
	r := newReader(iloc.body)
	version, _ := r.fullBox()
	sizes := r.u16()
	offSize, lenSize, baseSize := sizes>>12, (sizes>>8)&0xF, (sizes>>4)&0xF
	idxSize := uint64(0)
	if version == 1 || version == 2 {
		idxSize = sizes & 0xF
	}
	var count uint64
	if version < 2 {
		count = r.u16()
	} else {
		count = r.u32()
	}
	for i := uint64(0); i < count && r.ok; i++ {
		var item, method uint64
		if version < 2 {
			item = r.u16()
		} else {
			item = r.u32()
		}
		if version == 1 || version == 2 {
			method = r.u16() & 0xF
		}
		r.u16() // data_reference_index
		base := r.uN(baseSize)
		extents := r.u16()
		if offSize+lenSize+idxSize == 0 && extents > 1 {
			return nil, false // extents that read nothing: refuse, do not spin
		}
		var out []byte
		for e := uint64(0); e < extents && r.ok; e++ {
			r.uN(idxSize)
			off, n := r.uN(offSize), r.uN(lenSize)
			if item != id || !r.ok {
				continue
			}
			src := file
			if method == 1 {
				idat, ok := find(meta, "idat")
				if !ok {
					return nil, false
				}
				src = idat.body
			} else if method != 0 {
				return nil, false
			}
			start := base + off
			if n == 0 { // the rest of the source
				if start > uint64(len(src)) {
					return nil, false
				}
				n = uint64(len(src)) - start
			}
			if start > uint64(len(src)) || n > uint64(len(src))-start ||
				uint64(len(out))+n > uint64(limit) {
				return nil, false
			}
			out = append(out, src[start:start+n]...)
		}
		if item == id {
			return out, r.ok && len(out) > 0
		}
	}
	return nil, false
}

// heifExifBlob strips the Exif item header: a 32-bit offset to the TIFF
// header (which usually skips an "Exif\0\0" prefix).
func heifExifBlob(payload []byte) []byte {
	if len(payload) < 4 {
		return nil
	}
	off := uint64(binary.BigEndian.Uint32(payload))
	if off > uint64(len(payload)-4) {
		return nil
	}
	blob := payload[4+off:]
	blob = bytes.TrimPrefix(blob, []byte("Exif\x00\x00"))
	if bytes.HasPrefix(blob, []byte("II*\x00")) || bytes.HasPrefix(blob, []byte("MM\x00*")) {
		return blob
	}
	return nil
}
