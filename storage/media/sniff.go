package media

import (
	"bytes"
	"encoding/binary"
	"net/http"

	"github.com/fieldsync/fieldsync/models"
)

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// HEIF brands. heicBrands name HEVC-coded HEIF; heifBrands are the generic
// image / image-sequence brands that any HEIF (also AVIF) carries.
var (
	heicBrands = []string{"heic", "heix", "heim", "heis", "hevc", "hevx"}
	heifBrands = []string{"mif1", "msf1"}
	avifBrands = []string{"avif", "avis"}
)

// sniff returns the content type of data from its first bytes, or a
// CodeMediaUnsupported error naming what was found instead.
func sniff(data []byte) (string, error) {
	if len(data) == 0 {
		return "", models.Errorf(models.CodeMediaUnsupported, "the file is empty")
	}
	switch {
	case bytes.HasPrefix(data, jpegMagic):
		return ContentTypeJPEG, nil
	case bytes.HasPrefix(data, pngMagic):
		return ContentTypePNG, nil
	}
	if brands, ok := ftypBrands(data); ok {
		switch {
		case hasAny(brands, heicBrands):
			return ContentTypeHEIC, nil
		case hasAny(brands, avifBrands):
			return "", unsupported("image/avif")
		case hasAny(brands, heifBrands):
			return ContentTypeHEIF, nil
		}
		return "", unsupported("an ISO media file (brands " + joinBrands(brands) + ")")
	}
	if bytes.HasPrefix(data, []byte("II*\x00")) || bytes.HasPrefix(data, []byte("MM\x00*")) {
		return "", unsupported("image/tiff")
	}
	return "", unsupported(http.DetectContentType(data))
}

func unsupported(found string) error {
	return models.Errorf(models.CodeMediaUnsupported,
		"the file is %s; only JPEG, PNG and HEIC photos are accepted", found)
}

// ftypBrands reads the major and compatible brands of a leading ISO BMFF
// ftyp box. ok is false when data does not start with one.
func ftypBrands(data []byte) (brands []string, ok bool) {
	if len(data) < 16 || string(data[4:8]) != "ftyp" {
		return nil, false
	}
	size := int(binary.BigEndian.Uint32(data[:4]))
	if size < 16 || size > len(data) || size > 4096 {
		// 0 (to end of file) and 1 (64-bit size) are never used for ftyp.
		return nil, false
	}
	brands = append(brands, string(data[8:12])) // major brand
	// Compatible brands follow the 4-byte minor version.
	for off := 16; off+4 <= size; off += 4 {
		brands = append(brands, string(data[off:off+4]))
	}
	return brands, true
}

func hasAny(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

func joinBrands(brands []string) string {
	var b bytes.Buffer
	for i, s := range brands {
		if i > 0 {
			b.WriteByte(',')
		}
		for _, c := range []byte(s) {
			if c < 0x20 || c > 0x7e {
				c = '?'
			}
			b.WriteByte(c)
		}
		if b.Len() > 80 {
			b.WriteString("…")
			break
		}
	}
	return b.String()
}
