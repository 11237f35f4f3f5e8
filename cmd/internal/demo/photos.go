package demo

import (
	"embed"
	"fmt"
	"time"

	"github.com/fieldsync/fieldsync/cmd/internal/exifjpeg"
)

// photoFiles are small real photos (downscaled copies of the CC BY-SA
// test photos; photos/README.md gives source, author and licence). They
// carry no EXIF: the loader stamps each upload with the EXIF its phone
// would have written at the visit.
//
//go:embed photos/*.jpg
var photoFiles embed.FS

// Photos of the demo, by file name.
const (
	photoOutfall   = "DSCN0010.jpg"
	photoRiverbank = "DSCN0012.jpg"
	photoYard      = "DSCN0021.jpg"
	photoStreet    = "DSCN0025.jpg"
	photoHarbour   = "HMD_Nokia_8.3_5G.jpg"
	photoShore     = "jolla.jpg"
	photoLandfill  = "orientation_landscape_6.jpg"
)

// cameras says which phone took each photo, as its EXIF will say.
var cameras = map[string]exifjpeg.Camera{
	photoOutfall:   {Make: "NIKON", Model: "COOLPIX P6000"},
	photoRiverbank: {Make: "NIKON", Model: "COOLPIX P6000"},
	photoYard:      {Make: "NIKON", Model: "COOLPIX P6000"},
	photoStreet:    {Make: "NIKON", Model: "COOLPIX P6000"},
	photoHarbour:   {Make: "HMD Global", Model: "Nokia 8.3 5G"},
	photoShore:     {Make: "Jolla", Model: "Jolla"},
	photoLandfill:  {Make: "Xiaomi", Model: "Redmi Note 12"},
}

// stampedPhoto returns a shipped photo with the EXIF of a shot taken at
// (lat, lng) at taken.
func stampedPhoto(name string, lat, lng float64, taken time.Time) ([]byte, error) {
	raw, err := photoFiles.ReadFile("photos/" + name)
	if err != nil {
		return nil, fmt.Errorf("demo: photo %s: %w", name, err)
	}
	return exifjpeg.Stamp(raw, cameras[name], lat, lng, taken)
}
