package mission

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image/color"
	"io"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	kml "github.com/twpayne/go-kml/v3"
)

// Style ids used in exported KML.
const (
	kmlStylePath      = "path"
	kmlStyleInclusion = "fenceInclusion"
	kmlStyleExclusion = "fenceExclusion"
	kmlStyleTrack     = "track"
)

// kmlAlt returns an item altitude for KML and the altitude mode to use:
// absolute when home is known (relative and terrain altitudes are raised by
// the home altitude, terrain being approximated by home), relative to the
// ground otherwise.
func kmlAlt(p *Plan, it Item) float64 {
	alt := finiteOrZero(it.AltM)
	if p.PlannedHome == nil {
		return alt
	}
	if it.Frame.AltRef() == AltRefAMSL {
		return alt
	}
	return alt + finiteOrZero(p.PlannedHome.AltM)
}

// WriteKML writes the plan for Google Earth and GIS tools: the mission path,
// a placemark per positioned item, fence zones (circles approximated) and
// rally points, each kind in its own folder.
func WriteKML(w io.Writer, p *Plan) error {
	if p == nil {
		return errors.New("mission: WriteKML: nil plan")
	}
	mode := kml.AltitudeModeRelativeToGround
	if p.PlannedHome != nil {
		mode = kml.AltitudeModeAbsolute
	}
	doc := kml.Document(
		kml.Name("osprey plan"),
		kml.SharedStyle(kmlStylePath, kml.LineStyle(kml.Color(color.RGBA{R: 255, G: 200, A: 255}), kml.Width(3))),
		kml.SharedStyle(kmlStyleInclusion,
			kml.LineStyle(kml.Color(color.RGBA{G: 200, A: 255}), kml.Width(2)),
			kml.PolyStyle(kml.Color(color.RGBA{G: 200, A: 48}))),
		kml.SharedStyle(kmlStyleExclusion,
			kml.LineStyle(kml.Color(color.RGBA{R: 220, A: 255}), kml.Width(2)),
			kml.PolyStyle(kml.Color(color.RGBA{R: 220, A: 64}))),
	)

	var coords []kml.Coordinate
	if h := p.PlannedHome; h != nil && checkLatLon(h.LatDeg, h.LonDeg) == nil {
		coords = append(coords, kml.Coordinate{Lon: h.LonDeg, Lat: h.LatDeg, Alt: finiteOrZero(h.AltM)})
		doc.Append(kml.Placemark(kml.Name("Home"),
			kml.Point(kml.AltitudeMode(kml.AltitudeModeAbsolute),
				kml.Coordinates(kml.Coordinate{Lon: h.LonDeg, Lat: h.LatDeg, Alt: finiteOrZero(h.AltM)}))))
	}
	items := kml.Folder(kml.Name("Items"))
	for i, it := range p.Items {
		if !it.hasFix() || checkLatLon(it.LatDeg, it.LonDeg) != nil {
			continue
		}
		c := kml.Coordinate{Lon: it.LonDeg, Lat: it.LatDeg, Alt: kmlAlt(p, it)}
		if it.Info().Travels {
			coords = append(coords, c)
		}
		items.Append(kml.Placemark(
			kml.Name(fmt.Sprintf("%d %s", i+1, it.Command)),
			kml.Point(kml.AltitudeMode(mode), kml.Coordinates(c)),
		))
	}
	if len(coords) >= 2 {
		doc.Append(kml.Placemark(kml.Name("Mission path"), kml.StyleURL("#"+kmlStylePath),
			kml.LineString(kml.AltitudeMode(mode), kml.Coordinates(coords...))))
	}
	doc.Append(items)

	fence := kml.Folder(kml.Name("Fence"))
	for k, poly := range p.Fence.Polygons {
		if len(poly.Vertices) < 3 || anyBad(poly.Vertices) {
			continue
		}
		fence.Append(fencePlacemark(fmt.Sprintf("Polygon %d", k+1), poly.Inclusion, poly.Vertices))
	}
	for k, c := range p.Fence.Circles {
		if checkLatLon(c.Center.LatDeg, c.Center.LonDeg) != nil || !isFinite(c.RadiusM) || c.RadiusM <= 0 {
			continue
		}
		fence.Append(fencePlacemark(fmt.Sprintf("Circle %d (%.0f m)", k+1, c.RadiusM), c.Inclusion,
			circleLL(c.Center, c.RadiusM, circleExportVertices)))
	}
	if rp := p.Fence.ReturnPoint; rp != nil && checkLatLon(rp.LatDeg, rp.LonDeg) == nil {
		fence.Append(kml.Placemark(kml.Name("Fence return point"),
			kml.Point(kml.Coordinates(kml.Coordinate{Lon: rp.LonDeg, Lat: rp.LatDeg}))))
	}
	doc.Append(fence)

	rally := kml.Folder(kml.Name("Rally points"))
	for k, r := range p.Rally {
		if checkLatLon(r.LatDeg, r.LonDeg) != nil {
			continue
		}
		rally.Append(kml.Placemark(kml.Name(fmt.Sprintf("Rally %d", k+1)),
			kml.Point(kml.AltitudeMode(kml.AltitudeModeRelativeToGround),
				kml.Coordinates(kml.Coordinate{Lon: r.LonDeg, Lat: r.LatDeg, Alt: finiteOrZero(r.AltM)}))))
	}
	doc.Append(rally)

	return kml.KML(doc).WriteIndent(w, "", "  ")
}

func fencePlacemark(name string, inclusion bool, vs []LatLon) kml.Element {
	style := kmlStyleExclusion
	if inclusion {
		name += " (inclusion)"
		style = kmlStyleInclusion
	} else {
		name += " (exclusion)"
	}
	ring := make([]kml.Coordinate, 0, len(vs)+1)
	for _, v := range vs {
		ring = append(ring, kml.Coordinate{Lon: v.LonDeg, Lat: v.LatDeg})
	}
	ring = append(ring, ring[0])
	return kml.Placemark(kml.Name(name), kml.StyleURL("#"+style),
		kml.Polygon(kml.Tessellate(true), kml.OuterBoundaryIs(kml.LinearRing(kml.Coordinates(ring...)))))
}

// WriteTrackKML writes a flown track as a gx:Track (time-stamped, for
// Google Earth's time slider) and a plain LineString for tools without gx
// support. Altitudes are absolute (AMSL).
func WriteTrackKML(w io.Writer, points []TrackPoint) error {
	pts := validTrack(points)
	track := kml.GxTrack(kml.AltitudeMode(kml.AltitudeModeAbsolute))
	coords := make([]kml.Coordinate, 0, len(pts))
	for _, pt := range pts {
		track.Append(kml.When(pt.Time.UTC()))
	}
	for _, pt := range pts {
		c := kml.Coordinate{Lon: pt.LonDeg, Lat: pt.LatDeg, Alt: finiteOrZero(pt.AltM)}
		track.Append(kml.GxCoord(c))
		coords = append(coords, c)
	}
	doc := kml.Document(
		kml.Name("osprey track"),
		kml.SharedStyle(kmlStyleTrack, kml.LineStyle(kml.Color(color.RGBA{R: 40, G: 120, B: 255, A: 255}), kml.Width(3))),
		kml.Placemark(kml.Name("Track (timed)"), kml.StyleURL("#"+kmlStyleTrack), track),
	)
	if len(coords) >= 2 {
		doc.Append(kml.Placemark(kml.Name("Track"), kml.StyleURL("#"+kmlStyleTrack),
			kml.LineString(kml.AltitudeMode(kml.AltitudeModeAbsolute), kml.Coordinates(coords...))))
	}
	return kml.GxKML(doc).WriteIndent(w, "", "  ")
}

// parseKMLArea finds the first Polygon (outer and inner rings) or
// LineString in a KML document.
func parseKMLArea(data []byte) (orb.Geometry, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []string
	var poly orb.Polygon
	inPolygon := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalid("KML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if t.Name.Local == "Polygon" && !inPolygon {
				inPolygon, poly = true, nil
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if t.Name.Local == "Polygon" && inPolygon {
				if len(poly) == 0 {
					return nil, invalid("KML: Polygon without outerBoundaryIs coordinates")
				}
				if err := checkPolygon(poly); err != nil {
					return nil, invalid("KML: %v", err)
				}
				return poly, nil
			}
		case xml.CharData:
			if len(stack) == 0 || stack[len(stack)-1] != "coordinates" {
				continue
			}
			pts, err := parseKMLCoords(string(t))
			if err != nil {
				return nil, invalid("KML: %v", err)
			}
			parent := ""
			if len(stack) >= 2 {
				parent = stack[len(stack)-2]
			}
			switch {
			case inPolygon && parent == "LinearRing" && within(stack, "outerBoundaryIs"):
				poly = append(orb.Polygon{orb.Ring(pts)}, poly...)
			case inPolygon && parent == "LinearRing" && within(stack, "innerBoundaryIs"):
				poly = append(poly, orb.Ring(pts))
			case !inPolygon && parent == "LineString":
				ls := orb.LineString(pts)
				if err := checkLine(ls); err != nil {
					return nil, invalid("KML: %v", err)
				}
				return ls, nil
			}
		}
	}
	return nil, invalid("KML: no Polygon or LineString found")
}

func within(stack []string, name string) bool {
	for _, s := range stack {
		if s == name {
			return true
		}
	}
	return false
}

// parseKMLCoords reads "lon,lat[,alt] lon,lat[,alt] ...".
func parseKMLCoords(s string) ([]orb.Point, error) {
	var pts []orb.Point
	for _, tuple := range strings.Fields(s) {
		parts := strings.Split(tuple, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Errorf("coordinate %q is not lon,lat[,alt]", tuple)
		}
		lon, err1 := strconv.ParseFloat(parts[0], 64)
		lat, err2 := strconv.ParseFloat(parts[1], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("coordinate %q is not lon,lat[,alt]", tuple)
		}
		if err := checkLatLon(lat, lon); err != nil {
			return nil, fmt.Errorf("coordinate %q: %w", tuple, err)
		}
		pts = append(pts, orb.Point{lon, lat})
	}
	return pts, nil
}
