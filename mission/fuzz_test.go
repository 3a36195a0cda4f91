package mission

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// seedSamples adds every sample file whose name matches one of the
// suffixes; it does nothing when the samples directory is absent.
func seedSamples(f *testing.F, suffixes ...string) {
	dir := filepath.Join("..", "..", "shared", "samples")
	for _, sub := range []string{"qgc", "ardupilot", "other"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			for _, s := range suffixes {
				if strings.HasSuffix(e.Name(), s) {
					if data, err := os.ReadFile(filepath.Join(dir, sub, e.Name())); err == nil {
						f.Add(data)
					}
				}
			}
		}
	}
}

func FuzzParsePlan(f *testing.F) {
	seedSamples(f, ".plan", ".mission")
	for _, s := range []string{
		simpleSquarePlan,
		`{"fileType":"Plan","version":1,"mission":{"version":2,"items":[]}}`,
		`{"fileType":"Plan","version":1,"mission":{"version":2,"items":[{"type":"SimpleItem","command":177,"frame":2,"doJumpId":1,"params":[1,-1,0,0,0,0,0]}]}}`,
		`{"fileType":"Plan","version":1,"mission":{"version":2,"items":[{"type":"ComplexItem","complexItemType":"survey","TransectStyleComplexItem":{"Items":[{"type":"SimpleItem","command":16,"frame":3,"params":[0,0,0,null,1,2,3]}]}}]},"geoFence":{"version":2,"polygons":[],"circles":[{"inclusion":true,"circle":{"center":[1,2],"radius":5}}],"breachReturn":[1,2,3]},"rallyPoints":{"version":2,"points":[[1,2,3]]}}`,
		`{"items":[{"type":"SimpleItem","command":16,"frame":3,"coordinate":[1,2,3],"params":[0,0,0,0]}],"version":1}`,
		`{"fileType":"Plan","version":1,"mission":{"version":2,"items":[],"plannedHomePosition":{"coordinate":[1,2,3]}},"geoFence":{"version":1,"polygon":[[1,2],[1,3],[2,3]]}}`,
		`{"fileType":"Plan"`, `[]`, `null`, `{"fileType":"Plan","version":1,"mission":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePlan(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WritePlan(&buf, p); err != nil {
			t.Fatalf("parsed plan does not write: %v", err)
		}
		back, err := ParsePlan(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("written plan does not parse: %v\n%s", err, buf.Bytes())
		}
		if len(back.Items) != len(p.Items) {
			t.Fatalf("%d items after a round trip, had %d", len(back.Items), len(p.Items))
		}
		// Complex items may carry their own doJumpIds, so exact equality is
		// only promised for plans without them.
		if len(p.Complex) == 0 {
			if d := planDiff(p, back); len(d) > 0 {
				t.Fatalf("round trip changed the plan: %v", d)
			}
		}
		// The other outputs must cope with anything a parse produced.
		_ = Validate(p, ValidateOptions{EnduranceS: 100})
		if _, err := json.Marshal(PlanGeoJSON(p)); err != nil {
			t.Fatalf("GeoJSON: %v", err)
		}
		if err := WriteKML(&bytes.Buffer{}, p); err != nil {
			t.Fatalf("KML: %v", err)
		}
		if _, err := ParseWaypoints(bytes.NewReader(mustWPL(t, p))); err != nil {
			t.Fatalf("converted to WPL does not parse: %v", err)
		}
	})
}

func mustWPL(t *testing.T, p *Plan) []byte {
	var buf bytes.Buffer
	if err := WriteWaypoints(&buf, p); err != nil {
		t.Fatalf("WriteWaypoints: %v", err)
	}
	return buf.Bytes()
}

func FuzzParseWaypoints(f *testing.F) {
	seedSamples(f, ".txt", ".waypoints")
	for _, s := range []string{
		copterMissionWPL,
		"QGC WPL 110\n0 0 0 5001 3 0 0 0 1 1 0 0\n1 0 0 5001 3 0 0 0 1 2 0 0\n2 0 0 5001 3 0 0 0 2 2 0 0\n3 0 0 5000 0 0 0 0 1.5 1.5 10 0\n",
		"QGC WPL 110\n0\t0\t3\t5100\t0\t0\t0\t0\t40\t-105\t30\t0\n",
		"QGC WPL 110\n0\t1\t5\t22\t0\t0\t0\t0\t47.39\t8.54\t15\t1\n1\t0\t2\t177\t0\t5\t0\t0\t0\t0\t0\t1",
		"QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t0\t0\t0\t1\n1\t0\t3\t16\tNaN\t0\t0\tnan\t1\t1\tNaN\t1\n",
		"QGC WPL 110\n1 2 3", "QGC WPL", "", "\xef\xbb\xbfQGC WPL 110\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseWaypoints(bytes.NewReader(data))
		if err != nil {
			return
		}
		back := wplRoundTrip(t, p)
		if d := planDiff(p, back); len(d) > 0 {
			t.Fatalf("round trip changed the plan: %v", d)
		}
		var buf bytes.Buffer
		if err := WritePlan(&buf, p); err != nil {
			t.Fatalf("WritePlan: %v", err)
		}
		if _, err := ParsePlan(&buf); err != nil {
			t.Fatalf("converted to .plan does not parse: %v", err)
		}
		_ = Validate(p, ValidateOptions{EnduranceS: 100})
	})
}

func FuzzParseArea(f *testing.F) {
	seedSamples(f, ".kml")
	for _, s := range []string{
		polygonJSON,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[8.5,47.4],[8.6,47.5]]}}]}`,
		`{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]],[[0.2,0.2],[0.4,0.2],[0.4,0.4],[0.2,0.2]]]]}}`,
		`<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>8.55,47.40 8.56,47.40 8.56,47.41 8.55,47.40</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>`,
		`{"type":"GeometryCollection","geometries":[{"type":"GeometryCollection","geometries":[]}]}`,
		`<kml><LineString><coordinates>1,2 3,4</coordinates></LineString></kml>`, `{`, `<`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseArea(bytes.NewReader(data))
		if err != nil {
			return
		}
		// What ParseArea returns is valid and survives export as GeoJSON.
		var fc FeatureCollection
		switch g := g.(type) {
		case orb.Polygon:
			if err := checkPolygon(g); err != nil {
				t.Fatal(err)
			}
		case orb.LineString:
			if err := checkLine(g); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("ParseArea returned %T", g)
		}
		fc.add(g, "area")
		out, err := json.Marshal(fc)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseArea(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
		if !orb.Equal(g, back) {
			t.Fatalf("round trip changed the geometry:\n%v\n%v", g, back)
		}
	})
}
