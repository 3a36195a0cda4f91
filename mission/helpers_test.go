package mission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// samplesDir locates the shared sample files: beside the checkout at
// ../shared/samples relative to the repository root, which is two levels up
// from this package.
func samplesDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "samples")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("samples directory %s absent: %v", dir, err)
	}
	return dir
}

// floatEq compares with a relative/absolute tolerance; NaN equals NaN.
func floatEq(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// itemDiff describes how two items differ, "" when equal.
func itemDiff(a, b Item) string {
	var d []string
	if a.Command != b.Command {
		d = append(d, fmt.Sprintf("command %d != %d", a.Command, b.Command))
	}
	if a.Frame != b.Frame {
		d = append(d, fmt.Sprintf("frame %d != %d", a.Frame, b.Frame))
	}
	if a.AutoContinue != b.AutoContinue {
		d = append(d, "autocontinue")
	}
	av := [...]float64{a.Param1, a.Param2, a.Param3, a.Param4, a.LatDeg, a.LonDeg, a.AltM}
	bv := [...]float64{b.Param1, b.Param2, b.Param3, b.Param4, b.LatDeg, b.LonDeg, b.AltM}
	for i := range av {
		if !floatEq(av[i], bv[i]) {
			d = append(d, fmt.Sprintf("param%d %v != %v", i+1, av[i], bv[i]))
		}
	}
	return strings.Join(d, ", ")
}

func posDiff(name string, a, b *Position) string {
	switch {
	case a == nil && b == nil:
		return ""
	case a == nil || b == nil:
		return fmt.Sprintf("%s: %v vs %v", name, a, b)
	case !floatEq(a.LatDeg, b.LatDeg) || !floatEq(a.LonDeg, b.LonDeg) || !floatEq(a.AltM, b.AltM):
		return fmt.Sprintf("%s: %+v vs %+v", name, *a, *b)
	}
	return ""
}

func jsonSame(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// planDiff lists the differences between two plans (empty when equal
// within float tolerance).
func planDiff(a, b *Plan) []string {
	var d []string
	if a.Vehicle != b.Vehicle {
		d = append(d, fmt.Sprintf("vehicle %+v vs %+v", a.Vehicle, b.Vehicle))
	}
	if s := posDiff("home", a.PlannedHome, b.PlannedHome); s != "" {
		d = append(d, s)
	}
	if !floatEq(a.CruiseSpeedMS, b.CruiseSpeedMS) || !floatEq(a.HoverSpeedMS, b.HoverSpeedMS) {
		d = append(d, "speeds")
	}
	if len(a.Items) != len(b.Items) {
		d = append(d, fmt.Sprintf("%d items vs %d", len(a.Items), len(b.Items)))
	} else {
		for i := range a.Items {
			if s := itemDiff(a.Items[i], b.Items[i]); s != "" {
				d = append(d, fmt.Sprintf("item %d: %s", i, s))
			}
			if !floatEq(a.Items[i].AltAboveTerrainM, b.Items[i].AltAboveTerrainM) {
				d = append(d, fmt.Sprintf("item %d: above terrain %v vs %v", i, a.Items[i].AltAboveTerrainM, b.Items[i].AltAboveTerrainM))
			}
		}
	}
	d = append(d, fenceDiff(a.Fence, b.Fence)...)
	if len(a.Rally) != len(b.Rally) {
		d = append(d, fmt.Sprintf("%d rally vs %d", len(a.Rally), len(b.Rally)))
	} else {
		for i := range a.Rally {
			ra, rb := a.Rally[i], b.Rally[i]
			if !floatEq(ra.LatDeg, rb.LatDeg) || !floatEq(ra.LonDeg, rb.LonDeg) || !floatEq(ra.AltM, rb.AltM) {
				d = append(d, fmt.Sprintf("rally %d: %+v vs %+v", i, ra, rb))
			}
		}
	}
	if len(a.Complex) != len(b.Complex) {
		d = append(d, fmt.Sprintf("%d complex vs %d", len(a.Complex), len(b.Complex)))
	} else {
		for i := range a.Complex {
			ca, cb := a.Complex[i], b.Complex[i]
			if ca.Type != cb.Type || ca.Index != cb.Index || ca.Count != cb.Count || !jsonSame(ca.JSON, cb.JSON) {
				d = append(d, fmt.Sprintf("complex %d differs", i))
			}
		}
	}
	return d
}

func fenceDiff(a, b Fence) []string {
	var d []string
	if s := posDiff("fence return", a.ReturnPoint, b.ReturnPoint); s != "" {
		d = append(d, s)
	}
	if len(a.Polygons) != len(b.Polygons) {
		d = append(d, fmt.Sprintf("%d fence polygons vs %d", len(a.Polygons), len(b.Polygons)))
	} else {
		for i := range a.Polygons {
			pa, pb := a.Polygons[i], b.Polygons[i]
			if pa.Inclusion != pb.Inclusion || len(pa.Vertices) != len(pb.Vertices) {
				d = append(d, fmt.Sprintf("fence polygon %d shape", i))
				continue
			}
			for j := range pa.Vertices {
				if !floatEq(pa.Vertices[j].LatDeg, pb.Vertices[j].LatDeg) || !floatEq(pa.Vertices[j].LonDeg, pb.Vertices[j].LonDeg) {
					d = append(d, fmt.Sprintf("fence polygon %d vertex %d", i, j))
				}
			}
		}
	}
	if len(a.Circles) != len(b.Circles) {
		d = append(d, fmt.Sprintf("%d fence circles vs %d", len(a.Circles), len(b.Circles)))
	} else {
		for i := range a.Circles {
			ca, cb := a.Circles[i], b.Circles[i]
			if ca.Inclusion != cb.Inclusion || !floatEq(ca.RadiusM, cb.RadiusM) ||
				!floatEq(ca.Center.LatDeg, cb.Center.LatDeg) || !floatEq(ca.Center.LonDeg, cb.Center.LonDeg) {
				d = append(d, fmt.Sprintf("fence circle %d: %+v vs %+v", i, ca, cb))
			}
		}
	}
	return d
}

// writePlanBytes writes p as .plan or fails the test.
func writePlanBytes(t testing.TB, p *Plan) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePlan(&buf, p); err != nil {
		t.Fatalf("WritePlan: %v", err)
	}
	return buf.Bytes()
}

// writeWPLBytes writes the mission, fence and rally parts as three WPL
// files.
func writeWPLBytes(t testing.TB, p *Plan) (mission, fence, rally []byte) {
	t.Helper()
	var m, f, r bytes.Buffer
	if err := WriteWaypoints(&m, p); err != nil {
		t.Fatalf("WriteWaypoints: %v", err)
	}
	if err := WriteFenceWaypoints(&f, p); err != nil {
		t.Fatalf("WriteFenceWaypoints: %v", err)
	}
	if err := WriteRallyWaypoints(&r, p); err != nil {
		t.Fatalf("WriteRallyWaypoints: %v", err)
	}
	return m.Bytes(), f.Bytes(), r.Bytes()
}

// wplRoundTrip writes p as WPL files and reads them back into one plan.
func wplRoundTrip(t testing.TB, p *Plan) *Plan {
	t.Helper()
	m, f, r := writeWPLBytes(t, p)
	back, err := ParseWaypoints(bytes.NewReader(m))
	if err != nil {
		t.Fatalf("re-parse mission WPL: %v\n%s", err, m)
	}
	fp, err := ParseWaypoints(bytes.NewReader(f))
	if err != nil {
		t.Fatalf("re-parse fence WPL: %v\n%s", err, f)
	}
	rp, err := ParseWaypoints(bytes.NewReader(r))
	if err != nil {
		t.Fatalf("re-parse rally WPL: %v\n%s", err, r)
	}
	back.Fence, back.Rally = fp.Fence, rp.Rally
	return back
}
