package mission

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

const polygonJSON = `{"type":"Polygon","coordinates":[[[8.55,47.40],[8.56,47.40],[8.56,47.41],[8.55,47.41],[8.55,47.40]]]}`

func TestParseArea(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // "polygon" or "line"
		points   int
	}{
		{"bare polygon", polygonJSON, "polygon", 5},
		{"feature", `{"type":"Feature","properties":{},"geometry":` + polygonJSON + `}`, "polygon", 5},
		{"collection skips points", `{"type":"FeatureCollection","features":[
			{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[8.5,47.4]}},
			{"type":"Feature","properties":{},"geometry":null},
			{"type":"Feature","properties":{"name":"route"},"geometry":{"type":"LineString","coordinates":[[8.5,47.4,500],[8.6,47.5,510]]}}]}`, "line", 2},
		{"single multipolygon", `{"type":"MultiPolygon","coordinates":[[[[8.55,47.40],[8.56,47.40],[8.56,47.41],[8.55,47.40]]]]}`, "polygon", 4},
		{"geometry collection", `{"type":"GeometryCollection","geometries":[` + polygonJSON + `]}`, "polygon", 5},
		{"kml polygon", `<kml><Document><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>
			8.55,47.40,0 8.56,47.40,0 8.56,47.41,0 8.55,47.40,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>`, "polygon", 4},
		{"kml line", `<?xml version="1.0"?><kml><Placemark><LineString><coordinates>8.5,47.4 8.6,47.5 8.7,47.5</coordinates></LineString></Placemark></kml>`, "line", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := ParseArea(strings.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			switch g := g.(type) {
			case orb.Polygon:
				if c.want != "polygon" || len(g[0]) != c.points || g[0][1] != (orb.Point{8.56, 47.40}) {
					t.Fatalf("polygon %v", g)
				}
			case orb.LineString:
				if c.want != "line" || len(g) != c.points || g[1][0] != 8.6 {
					t.Fatalf("line %v", g)
				}
			default:
				t.Fatalf("%T", g)
			}
		})
	}
	bad := []struct{ name, in, want string }{
		{"broken JSON", `{"type":`, "broken JSON"},
		{"no type", `{"coordinates":[]}`, "no \"type\""},
		{"points only", `{"type":"Point","coordinates":[1,2]}`, "no Polygon or LineString"},
		{"two polygons", `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[0,0],[1,0],[1,1],[0,0]]]]}`, "holds 2 polygons"},
		{"too few vertices", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`, "2 distinct vertices"},
		{"latitude", `{"type":"LineString","coordinates":[[0,95],[1,1]]}`, "latitude 95 out of range"},
		{"short position", `{"type":"LineString","coordinates":[[0],[1,1]]}`, "position 1 has 1 values"},
		{"unknown type", `{"type":"Circle"}`, `unknown GeoJSON type "Circle"`},
		{"kml garbage coords", `<kml><LineString><coordinates>a,b</coordinates></LineString></kml>`, "not lon,lat"},
		{"kml empty", `<kml></kml>`, "no Polygon or LineString"},
		{"kml broken", `<kml><Polygon>`, "KML"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseArea(strings.NewReader(c.in))
			if !errors.Is(err, ErrInvalidFile) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestPlanGeoJSON(t *testing.T) {
	p := squarePlan()
	p.Fence.Polygons = []FencePolygon{squareFence(true, -50, -50, 150, 150)}
	p.Fence.Circles = []FenceCircle{{Center: offsetLL(50, 50), RadiusM: 10}}
	p.Fence.ReturnPoint = &Position{LatDeg: testOrigin.LatDeg, LonDeg: testOrigin.LonDeg, AltM: 30}
	p.Rally = []RallyPoint{{LatDeg: 47.401, LonDeg: 8.551, AltM: 25}}
	data, err := json.Marshal(PlanGeoJSON(p))
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Type     string `json:"type"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" {
		t.Fatal(fc.Type)
	}
	kinds := map[string]int{}
	for _, f := range fc.Features {
		if f.Type != "Feature" {
			t.Fatal(f.Type)
		}
		kind := f.Properties["kind"].(string)
		kinds[kind]++
		switch kind {
		case "path":
			var ls [][]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &ls); err != nil || f.Geometry.Type != "LineString" || len(ls) != 5 {
				t.Fatalf("path %s %s", f.Geometry.Type, f.Geometry.Coordinates)
			}
			if ls[2][0] != p.Items[1].LonDeg || ls[2][1] != p.Items[1].LatDeg {
				t.Fatalf("path vertex order lon,lat: %v", ls[2])
			}
		case "fence":
			var rings [][][]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &rings); err != nil || f.Geometry.Type != "Polygon" {
				t.Fatal(err)
			}
			r := rings[0]
			if r[0][0] != r[len(r)-1][0] || r[0][1] != r[len(r)-1][1] {
				t.Fatal("ring not closed")
			}
			if f.Properties["shape"] == "circle" {
				c := offsetLL(50, 50)
				for _, v := range r {
					if d := geo.DistanceHaversine(orb.Point{c.LonDeg, c.LatDeg}, orb.Point{v[0], v[1]}); math.Abs(d-10) > 0.01 {
						t.Fatalf("circle vertex at %.3f m", d)
					}
				}
			}
		}
	}
	want := map[string]int{"home": 1, "path": 1, "item": 4, "fence": 2, "fence_return": 1, "rally": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %q features, want %d (%v)", kinds[k], k, n, kinds)
		}
	}
	// The exported area reads back through ParseArea as the path.
	g, err := ParseArea(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if ls, ok := g.(orb.LineString); !ok || len(ls) != 5 {
		t.Fatalf("%T %v", g, g)
	}
	if b, _ := json.Marshal(PlanGeoJSON(nil)); string(b) != `{"type":"FeatureCollection","features":[]}` {
		t.Fatalf("nil plan: %s", b)
	}
}

func trackPoints() []TrackPoint {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return []TrackPoint{
		{Time: t0, LatDeg: 47.40, LonDeg: 8.55, AltM: 410},
		{Time: t0.Add(time.Second), LatDeg: math.NaN(), LonDeg: 8.55, AltM: 411}, // dropped
		{Time: t0.Add(2 * time.Second), LatDeg: 47.401, LonDeg: 8.551, AltM: 430},
		{Time: t0.Add(3 * time.Second), LatDeg: 47.402, LonDeg: 8.552, AltM: math.NaN()},
	}
}

func TestTrackGeoJSON(t *testing.T) {
	data, err := json.Marshal(TrackGeoJSON(trackPoints()))
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Geometry struct {
				Type        string      `json:"type"`
				Coordinates [][]float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties struct {
				Kind  string    `json:"kind"`
				Times []string  `json:"times"`
				Alts  []float64 `json:"alts_m"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	f := fc.Features[0]
	if len(fc.Features) != 1 || f.Geometry.Type != "LineString" || len(f.Geometry.Coordinates) != 3 ||
		len(f.Properties.Times) != 3 || len(f.Properties.Alts) != 3 || f.Properties.Times[1] != "2025-03-01T12:00:02Z" ||
		f.Properties.Alts[1] != 430 || f.Properties.Kind != "track" {
		t.Fatalf("%s", data)
	}
}

func TestWriteKML(t *testing.T) {
	p := squarePlan()
	p.Fence.Polygons = []FencePolygon{squareFence(true, -50, -50, 150, 150)}
	p.Fence.Circles = []FenceCircle{{Inclusion: false, Center: offsetLL(50, 50), RadiusM: 10}}
	p.Rally = []RallyPoint{{LatDeg: 47.401, LonDeg: 8.551, AltM: 25}}
	var buf bytes.Buffer
	if err := WriteKML(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "<?xml") {
		t.Fatalf("%s", out)
	}
	dec := xml.NewDecoder(strings.NewReader(out))
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
	// home + 4 items + rally points; path; fence polygon + circle.
	if counts["Placemark"] != 1+1+4+2+1 || counts["Point"] != 6 || counts["LineString"] != 1 || counts["Polygon"] != 2 {
		t.Fatalf("counts %v\n%s", counts, out)
	}
	// The path reads back through ParseArea with absolute altitudes
	// (relative 30 m + home 400 m).
	g, err := ParseArea(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if ls, ok := g.(orb.LineString); !ok || len(ls) != 5 || ls[1] != (orb.Point{p.Items[0].LonDeg, p.Items[0].LatDeg}) {
		t.Fatalf("%v", g)
	}
	if !strings.Contains(out, ",430 ") || !strings.Contains(out, "<altitudeMode>absolute</altitudeMode>") {
		t.Fatalf("altitudes not absolute:\n%s", out)
	}
	if WriteKML(&buf, nil) == nil {
		t.Fatal("nil plan")
	}
}

func TestWriteTrackKML(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTrackKML(&buf, trackPoints()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Count(out, "<when>") != 3 || strings.Count(out, "<gx:coord>") != 3 ||
		!strings.Contains(out, "<when>2025-03-01T12:00:02Z</when>") || !strings.Contains(out, "<gx:coord>8.551 47.401 430</gx:coord>") ||
		!strings.Contains(out, `xmlns:gx="http://www.google.com/kml/ext/2.2"`) {
		t.Fatalf("%s", out)
	}
	var doc struct{}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
}
