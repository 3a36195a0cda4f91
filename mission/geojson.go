package mission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/paulmach/orb"
)

// circleExportVertices is how many vertices approximate a fence circle in
// GeoJSON and KML output.
const circleExportVertices = 64

// TrackPoint is one sample of a flown track; AltM is above mean sea level.
type TrackPoint struct {
	Time           time.Time
	LatDeg, LonDeg float64
	AltM           float64
}

// Feature is a GeoJSON Feature: an orb geometry (coordinates {lon, lat})
// and its properties. (github.com/paulmach/orb/geojson would fit, but it
// pulls in the MongoDB driver, which this module does not carry.)
type Feature struct {
	Geometry   orb.Geometry
	Properties map[string]any
}

// FeatureCollection is a GeoJSON FeatureCollection; json.Marshal writes it
// as RFC 7946 JSON.
type FeatureCollection struct {
	Features []Feature
}

// add appends a feature and returns its properties for filling in.
func (fc *FeatureCollection) add(g orb.Geometry, kind string) map[string]any {
	props := map[string]any{"kind": kind}
	fc.Features = append(fc.Features, Feature{Geometry: g, Properties: props})
	return props
}

// geometryJSON is the wire form of a geometry.
type geometryJSON struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

// MarshalJSON writes {"type":"Feature","geometry":...,"properties":...}.
func (f Feature) MarshalJSON() ([]byte, error) {
	var geom *geometryJSON
	switch g := f.Geometry.(type) {
	case nil:
	case orb.Point, orb.MultiPoint, orb.LineString, orb.MultiLineString, orb.Polygon, orb.MultiPolygon:
		// orb's types are nested float arrays: they marshal as coordinates.
		geom = &geometryJSON{Type: g.GeoJSONType(), Coordinates: g}
	case orb.Ring:
		geom = &geometryJSON{Type: "Polygon", Coordinates: orb.Polygon{g}}
	default:
		return nil, fmt.Errorf("mission: GeoJSON: unsupported geometry %T", f.Geometry)
	}
	props := f.Properties
	if props == nil {
		props = map[string]any{}
	}
	return json.Marshal(struct {
		Type       string         `json:"type"`
		Geometry   *geometryJSON  `json:"geometry"`
		Properties map[string]any `json:"properties"`
	}{"Feature", geom, props})
}

// MarshalJSON writes {"type":"FeatureCollection","features":[...]}.
func (fc FeatureCollection) MarshalJSON() ([]byte, error) {
	features := fc.Features
	if features == nil {
		features = []Feature{}
	}
	return json.Marshal(struct {
		Type     string    `json:"type"`
		Features []Feature `json:"features"`
	}{"FeatureCollection", features})
}

// geoJSONObject is any GeoJSON object, decoded loosely.
type geoJSONObject struct {
	Type        string            `json:"type"`
	Features    []json.RawMessage `json:"features"`
	Geometry    json.RawMessage   `json:"geometry"`
	Coordinates json.RawMessage   `json:"coordinates"`
	Geometries  []json.RawMessage `json:"geometries"`
}

// maxGeoJSONDepth bounds nesting of collections in hostile input.
const maxGeoJSONDepth = 8

// findArea walks a GeoJSON object and returns the first Polygon or
// LineString (a MultiPolygon of one polygon counts).
func findArea(raw json.RawMessage, depth int) (orb.Geometry, error) {
	if depth > maxGeoJSONDepth {
		return nil, errors.New("nested too deeply")
	}
	var o geoJSONObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, jsonErr(err)
	}
	switch o.Type {
	case "FeatureCollection":
		for i, f := range o.Features {
			g, err := findArea(f, depth+1)
			if err != nil {
				return nil, fmt.Errorf("feature %d: %w", i+1, err)
			}
			if g != nil {
				return g, nil
			}
		}
		return nil, nil
	case "Feature":
		if len(o.Geometry) == 0 || string(o.Geometry) == "null" {
			return nil, nil
		}
		return findArea(o.Geometry, depth+1)
	case "GeometryCollection":
		for _, g := range o.Geometries {
			found, err := findArea(g, depth+1)
			if err != nil || found != nil {
				return found, err
			}
		}
		return nil, nil
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(o.Coordinates, &rings); err != nil {
			return nil, fmt.Errorf("polygon coordinates: %w", jsonErr(err))
		}
		return polygonFromJSON(rings)
	case "MultiPolygon":
		var polys [][][][]float64
		if err := json.Unmarshal(o.Coordinates, &polys); err != nil {
			return nil, fmt.Errorf("MultiPolygon coordinates: %w", jsonErr(err))
		}
		if len(polys) != 1 {
			return nil, fmt.Errorf("MultiPolygon holds %d polygons; export one polygon", len(polys))
		}
		return polygonFromJSON(polys[0])
	case "LineString":
		var pos [][]float64
		if err := json.Unmarshal(o.Coordinates, &pos); err != nil {
			return nil, fmt.Errorf("LineString coordinates: %w", jsonErr(err))
		}
		ls, err := positionsFromJSON(pos)
		if err != nil {
			return nil, err
		}
		line := orb.LineString(ls)
		return line, checkLine(line)
	case "Point", "MultiPoint", "MultiLineString":
		return nil, nil
	case "":
		return nil, errors.New("not GeoJSON (no \"type\")")
	}
	return nil, fmt.Errorf("unknown GeoJSON type %q", o.Type)
}

func positionsFromJSON(pos [][]float64) ([]orb.Point, error) {
	out := make([]orb.Point, 0, len(pos))
	for j, p := range pos {
		if len(p) < 2 {
			return nil, fmt.Errorf("position %d has %d values, need lon, lat", j+1, len(p))
		}
		out = append(out, orb.Point{p[0], p[1]})
	}
	return out, nil
}

func polygonFromJSON(rings [][][]float64) (orb.Geometry, error) {
	poly := make(orb.Polygon, 0, len(rings))
	for _, r := range rings {
		pts, err := positionsFromJSON(r)
		if err != nil {
			return nil, err
		}
		poly = append(poly, orb.Ring(pts))
	}
	return poly, checkPolygon(poly)
}

// ParseArea reads an area or a path for the pattern generators from
// GeoJSON (a FeatureCollection, a Feature or a bare geometry) or KML. It
// returns the first Polygon (as orb.Polygon, holes kept) or LineString (as
// orb.LineString) it finds; a MultiPolygon counts when it holds exactly one
// polygon. Coordinates are orb order: {lon, lat}.
func ParseArea(r io.Reader) (orb.Geometry, error) {
	data, err := readAllLimited(r)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(data) > 0 && data[0] == '<' {
		return parseKMLArea(data)
	}
	g, err := findArea(data, 0)
	if err != nil {
		return nil, invalid("area: %v", err)
	}
	if g == nil {
		return nil, invalid("area: no Polygon or LineString found")
	}
	return g, nil
}

// checkPoint validates one {lon, lat} point.
func checkPoint(p orb.Point) error {
	return checkLatLon(p[1], p[0])
}

func checkPolygon(poly orb.Polygon) error {
	if len(poly) == 0 {
		return fmt.Errorf("polygon has no rings")
	}
	for k, ring := range poly {
		distinct := len(ring)
		if distinct > 1 && ring[0] == ring[len(ring)-1] {
			distinct--
		}
		if distinct < 3 {
			return fmt.Errorf("polygon ring %d has %d distinct vertices, need at least 3", k+1, distinct)
		}
		for j, p := range ring {
			if err := checkPoint(p); err != nil {
				return fmt.Errorf("polygon ring %d vertex %d: %w", k+1, j+1, err)
			}
		}
	}
	return nil
}

func checkLine(ls orb.LineString) error {
	if len(ls) < 2 {
		return fmt.Errorf("line has %d points, need at least 2", len(ls))
	}
	for j, p := range ls {
		if err := checkPoint(p); err != nil {
			return fmt.Errorf("line point %d: %w", j+1, err)
		}
	}
	return nil
}

// closedRing converts vertices to a closed orb ring (lon, lat).
func closedRing(vs []LatLon) orb.Ring {
	r := make(orb.Ring, 0, len(vs)+1)
	for _, v := range vs {
		r = append(r, llPoint(v))
	}
	if len(r) > 0 && r[0] != r[len(r)-1] {
		r = append(r, r[0])
	}
	return r
}

// pathPoints returns the positions the mission flies to, in item order,
// starting at home when it is known.
func pathPoints(p *Plan) []LatLon {
	var pts []LatLon
	if h := p.PlannedHome; h != nil && checkLatLon(h.LatDeg, h.LonDeg) == nil {
		pts = append(pts, LatLon{LatDeg: h.LatDeg, LonDeg: h.LonDeg})
	}
	for _, it := range p.Items {
		if it.hasFix() && it.Info().Travels && checkLatLon(it.LatDeg, it.LonDeg) == nil {
			pts = append(pts, LatLon{LatDeg: it.LatDeg, LonDeg: it.LonDeg})
		}
	}
	return pts
}

// finiteOrZero keeps JSON encodable values out of NaN altitudes.
func finiteOrZero(v float64) float64 {
	if isFinite(v) {
		return v
	}
	return 0
}

// PlanGeoJSON exports a plan for maps: the home point, the mission path as
// a LineString, every positioned item as a Point, fence zones as Polygons
// (circles approximated) and rally points as Points. Each feature has a
// "kind" property: home, path, item, fence, fence_return or rally.
func PlanGeoJSON(p *Plan) *FeatureCollection {
	fc := &FeatureCollection{}
	if p == nil {
		return fc
	}
	if h := p.PlannedHome; h != nil && checkLatLon(h.LatDeg, h.LonDeg) == nil {
		props := fc.add(orb.Point{h.LonDeg, h.LatDeg}, "home")
		props["alt_m"] = finiteOrZero(h.AltM)
	}
	pts := pathPoints(p)
	if len(pts) >= 2 {
		ls := make(orb.LineString, 0, len(pts))
		for _, pt := range pts {
			ls = append(ls, llPoint(pt))
		}
		props := fc.add(ls, "path")
		props["length_m"] = PathLengthM(p)
	}
	for i, it := range p.Items {
		if !it.hasFix() || checkLatLon(it.LatDeg, it.LonDeg) != nil {
			continue
		}
		props := fc.add(orb.Point{it.LonDeg, it.LatDeg}, "item")
		props["index"] = i
		props["number"] = i + 1
		props["command"] = it.Command.String()
		props["frame"] = int(it.Frame)
		props["alt_m"] = finiteOrZero(it.AltM)
	}
	for k, poly := range p.Fence.Polygons {
		if len(poly.Vertices) < 3 || anyBad(poly.Vertices) {
			continue
		}
		props := fc.add(orb.Polygon{closedRing(poly.Vertices)}, "fence")
		props["shape"] = "polygon"
		props["number"] = k + 1
		props["inclusion"] = poly.Inclusion
	}
	for k, c := range p.Fence.Circles {
		if checkLatLon(c.Center.LatDeg, c.Center.LonDeg) != nil || !isFinite(c.RadiusM) || c.RadiusM <= 0 {
			continue
		}
		props := fc.add(orb.Polygon{closedRing(circleLL(c.Center, c.RadiusM, circleExportVertices))}, "fence")
		props["shape"] = "circle"
		props["number"] = k + 1
		props["inclusion"] = c.Inclusion
		props["radius_m"] = c.RadiusM
		props["center"] = []float64{c.Center.LonDeg, c.Center.LatDeg}
	}
	if rp := p.Fence.ReturnPoint; rp != nil && checkLatLon(rp.LatDeg, rp.LonDeg) == nil {
		props := fc.add(orb.Point{rp.LonDeg, rp.LatDeg}, "fence_return")
		props["alt_m"] = finiteOrZero(rp.AltM)
	}
	for k, r := range p.Rally {
		if checkLatLon(r.LatDeg, r.LonDeg) != nil {
			continue
		}
		props := fc.add(orb.Point{r.LonDeg, r.LatDeg}, "rally")
		props["number"] = k + 1
		props["alt_m"] = finiteOrZero(r.AltM)
	}
	return fc
}

// validTrack drops samples without a usable position.
func validTrack(points []TrackPoint) []TrackPoint {
	out := make([]TrackPoint, 0, len(points))
	for _, pt := range points {
		if checkLatLon(pt.LatDeg, pt.LonDeg) == nil && !math.IsInf(pt.AltM, 0) {
			out = append(out, pt)
		}
	}
	return out
}

// TrackGeoJSON exports a flown track as one LineString feature (kind
// "track"). GeoJSON positions carry no time, so the feature's properties
// hold parallel arrays "times" (RFC 3339) and "alts_m" (AMSL), one entry
// per vertex. Samples without a valid position are skipped; a track with
// one sample becomes a Point.
func TrackGeoJSON(points []TrackPoint) *FeatureCollection {
	fc := &FeatureCollection{}
	pts := validTrack(points)
	if len(pts) == 0 {
		return fc
	}
	ls := make(orb.LineString, 0, len(pts))
	times := make([]string, 0, len(pts))
	alts := make([]float64, 0, len(pts))
	for _, pt := range pts {
		ls = append(ls, orb.Point{pt.LonDeg, pt.LatDeg})
		times = append(times, pt.Time.UTC().Format(time.RFC3339Nano))
		alts = append(alts, finiteOrZero(pt.AltM))
	}
	var g orb.Geometry = ls
	if len(ls) == 1 {
		g = ls[0]
	}
	props := fc.add(g, "track")
	props["times"] = times
	props["alts_m"] = alts
	return fc
}
