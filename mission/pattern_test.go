package mission

import (
	"errors"
	"math"
	"sort"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
)

var copter = VehicleInfo{Firmware: FirmwareArduPilot, Type: VehicleQuadrotor}

func testHome() *Position {
	return &Position{LatDeg: testOrigin.LatDeg, LonDeg: testOrigin.LonDeg, AltM: 410}
}

// areaFromOffsets builds a polygon (closed ring, lon/lat) from metre offsets
// around the test origin.
func areaFromOffsets(offsets ...[2]float64) orb.Polygon {
	ring := orb.Ring{}
	for _, o := range offsets {
		ring = append(ring, llPoint(offsetLL(o[0], o[1])))
	}
	ring = append(ring, ring[0])
	return orb.Polygon{ring}
}

// localXY projects a lon/lat point to metres around the test origin (an
// independent check of the generator's own projection).
func localXY(p orb.Point) orb.Point {
	const m = 6378137.0 * math.Pi / 180
	return orb.Point{(p[0] - testOrigin.LonDeg) * m * math.Cos(testOrigin.LatDeg*math.Pi/180), (p[1] - testOrigin.LatDeg) * m}
}

func ringLocal(poly orb.Polygon) orb.Ring {
	var r orb.Ring
	for _, p := range poly[0] {
		r = append(r, localXY(p))
	}
	return r
}

// distToBoundary is the distance in metres from p to the polygon's outer
// ring.
func distToBoundary(poly orb.Polygon, p orb.Point) float64 {
	r := ringLocal(poly)
	q := localXY(p)
	best := math.Inf(1)
	for i := 0; i+1 < len(r); i++ {
		best = math.Min(best, planar.DistanceFromSegment(r[i], r[i+1], q))
	}
	return best
}

// waypoints returns the NAV_WAYPOINT positions of a plan.
func waypoints(p *Plan) []orb.Point {
	var out []orb.Point
	for _, it := range p.Items {
		if it.Command == CmdNavWaypoint {
			out = append(out, orb.Point{it.LonDeg, it.LatDeg})
		}
	}
	return out
}

func mustValidate(t *testing.T, p *Plan) {
	t.Helper()
	r := Validate(p, ValidateOptions{})
	if !r.OK() {
		t.Fatalf("generated plan fails validation: %v", r.Issues)
	}
	for _, is := range r.Issues {
		t.Errorf("unexpected warning: %v", is)
	}
}

var (
	square200 = areaFromOffsets([2]float64{0, 0}, [2]float64{200, 0}, [2]float64{200, 200}, [2]float64{0, 200})
	// lShape is concave: a 200x200 square without its north-east quarter.
	lShape = areaFromOffsets([2]float64{0, 0}, [2]float64{200, 0}, [2]float64{200, 100}, [2]float64{100, 100},
		[2]float64{100, 200}, [2]float64{0, 200})
)

func TestPerimeter(t *testing.T) {
	for _, clockwise := range []bool{false, true} {
		p, err := Perimeter(square200, PerimeterOptions{
			RouteOptions: RouteOptions{Vehicle: copter, Home: testHome(), ReturnToLaunch: true},
			AltM:         40, InsetM: 10, Clockwise: clockwise, Laps: 3,
		})
		if err != nil {
			t.Fatal(err)
		}
		mustValidate(t, p)
		// takeoff, 4 corners, closing corner, DO_JUMP, RTL
		if len(p.Items) != 8 || p.Items[0].Command != CmdNavTakeoff || p.Items[7].Command != CmdNavReturnToLaunch {
			t.Fatalf("items %+v", p.Items)
		}
		jump := p.Items[6]
		if jump.Command != CmdDoJump || jump.Param1 != 2 || jump.Param2 != 2 {
			t.Fatalf("jump %+v: want target index 2 (second corner), 2 repeats", jump)
		}
		pts := waypoints(p)
		for i, q := range pts {
			if !planar.PolygonContains(square200, q) {
				t.Fatalf("corner %d outside the area", i)
			}
			if d := distToBoundary(square200, q); math.Abs(d-10) > 0.2 {
				t.Fatalf("corner %d is %.2f m from the boundary, want 10", i, d)
			}
		}
		if pts[0] != pts[4] {
			t.Fatal("loop not closed")
		}
		// Direction: shoelace sign of the corners in a local frame.
		var ring orb.Ring
		for _, q := range pts[:4] {
			ring = append(ring, localXY(q))
		}
		if (signedArea(ring) < 0) != clockwise {
			t.Fatalf("clockwise=%v but signed area %v", clockwise, signedArea(ring))
		}
		// Three laps of the 180 m square plus getting there and back.
		laps := 3 * 4 * 180.0
		there := distanceM(testOrigin, pointLL(pts[0]))
		if got := PathLengthM(p); math.Abs(got-(laps+2*there)) > 2 {
			t.Fatalf("path %.1f m, want %.1f", got, laps+2*there)
		}
	}
}

func TestPerimeterConcaveAndErrors(t *testing.T) {
	p, err := Perimeter(lShape, PerimeterOptions{RouteOptions: RouteOptions{Vehicle: copter}, AltM: 30, InsetM: 20})
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, p)
	// Mitred offset: convex corners end up exactly 20 m from the boundary;
	// at the reflex corner the nearest boundary point is the corner itself,
	// 20·√2 m away.
	for i, q := range waypoints(p) {
		d := distToBoundary(lShape, q)
		if !planar.PolygonContains(lShape, q) || d < 20-0.2 || d > 20*math.Sqrt2+0.2 {
			t.Fatalf("vertex %d at %.2f m from the boundary", i, d)
		}
	}
	if len(waypoints(p)) != 7 {
		t.Fatalf("%d waypoints, want 6 corners + closing", len(waypoints(p)))
	}
	for _, c := range []struct {
		name string
		area orb.Polygon
		opts PerimeterOptions
	}{
		{"inset too large", square200, PerimeterOptions{AltM: 30, InsetM: 120}},
		{"inset folds the L", lShape, PerimeterOptions{AltM: 30, InsetM: 60}},
		{"negative inset", square200, PerimeterOptions{AltM: 30, InsetM: -1}},
		{"no altitude", square200, PerimeterOptions{}},
		{"NaN altitude", square200, PerimeterOptions{AltM: math.NaN()}},
		{"negative laps", square200, PerimeterOptions{AltM: 30, Laps: -2}},
		{"empty area", orb.Polygon{}, PerimeterOptions{AltM: 30}},
		{"degenerate", areaFromOffsets([2]float64{0, 0}, [2]float64{100, 0}, [2]float64{200, 0}), PerimeterOptions{AltM: 30}},
		{"bad home", square200, PerimeterOptions{AltM: 30, RouteOptions: RouteOptions{Home: &Position{LatDeg: 100}}}},
	} {
		if _, err := Perimeter(c.area, c.opts); !errors.Is(err, ErrPattern) {
			t.Errorf("%s: error %v", c.name, err)
		}
	}
}

// transects groups survey waypoints into lines: each transect is a pair of
// consecutive waypoints with the same across-track coordinate.
func surveyLines(t *testing.T, pts []orb.Point, angleDeg float64) (along [][2]float64, across []float64) {
	t.Helper()
	th := angleDeg * math.Pi / 180
	for i := 0; i+1 < len(pts); i += 2 {
		a, b := localXY(pts[i]), localXY(pts[i+1])
		va := a[0]*math.Cos(th) - a[1]*math.Sin(th)
		vb := b[0]*math.Cos(th) - b[1]*math.Sin(th)
		if math.Abs(va-vb) > 0.05 {
			t.Fatalf("waypoints %d,%d are not on one transect (%.3f vs %.3f)", i, i+1, va, vb)
		}
		ua := a[0]*math.Sin(th) + a[1]*math.Cos(th)
		ub := b[0]*math.Sin(th) + b[1]*math.Cos(th)
		along = append(along, [2]float64{ua, ub})
		across = append(across, va)
	}
	return along, across
}

func TestSurvey(t *testing.T) {
	for _, angle := range []float64{0, 30, 90, -45} {
		p, err := Survey(square200, SurveyOptions{
			RouteOptions: RouteOptions{Vehicle: copter, Home: testHome(), ReturnToLaunch: true},
			AltM:         50, SpacingM: 25, AngleDeg: angle,
		})
		if err != nil {
			t.Fatal(err)
		}
		mustValidate(t, p)
		pts := waypoints(p)
		for i, q := range pts {
			if !planar.PolygonContains(square200, q) {
				t.Fatalf("angle %v: waypoint %d outside the area", angle, i)
			}
		}
		along, across := surveyLines(t, pts, angle)
		for i := 1; i < len(across); i++ {
			if d := math.Abs(across[i] - across[i-1]); math.Abs(d-25) > 0.1 {
				t.Fatalf("angle %v: transects %d and %d are %.3f m apart, want 25", angle, i-1, i, d)
			}
			// Boustrophedon: consecutive transects run opposite ways.
			if (along[i][1]-along[i][0])*(along[i-1][1]-along[i-1][0]) >= 0 {
				t.Fatalf("angle %v: transects %d and %d run the same way", angle, i-1, i)
			}
		}
		// Coverage: the outermost transects are within half a spacing of
		// the area's extent across the lines.
		th := angle * math.Pi / 180
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, q := range ringLocal(square200) {
			v := q[0]*math.Cos(th) - q[1]*math.Sin(th)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		sorted := append([]float64(nil), across...)
		sort.Float64s(sorted)
		if sorted[0]-lo > 12.5+0.1 || hi-sorted[len(sorted)-1] > 12.5+0.1 {
			t.Fatalf("angle %v: edges not covered: %.2f..%.2f vs area %.2f..%.2f", angle, sorted[0], sorted[len(sorted)-1], lo, hi)
		}
		if angle == 0 && len(across) != 8 {
			t.Fatalf("%d transects over 200 m at 25 m, want 8", len(across))
		}
	}
}

func TestSurveyConcaveHoleTurnaroundTrigger(t *testing.T) {
	// L-shape: transects north-south cross the notch, so some lines hold
	// two segments; a hole in the middle of the western leg is skipped.
	hole := areaFromOffsets([2]float64{30, 30}, [2]float64{70, 30}, [2]float64{70, 70}, [2]float64{30, 70})[0]
	area := orb.Polygon{lShape[0], hole}
	p, err := Survey(area, SurveyOptions{RouteOptions: RouteOptions{Vehicle: copter}, AltM: 40, SpacingM: 10, AngleDeg: 90})
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, p)
	for i, q := range waypoints(p) {
		if !planar.PolygonContains(area, q) {
			t.Fatalf("waypoint %d outside the area or inside the hole", i)
		}
	}

	// Turnaround points lie TurnaroundM beyond the transect ends, outside;
	// the camera trigger brackets the transects.
	p, err = Survey(square200, SurveyOptions{RouteOptions: RouteOptions{Vehicle: copter}, AltM: 40, SpacingM: 50, TurnaroundM: 15, TriggerDistM: 8})
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, p)
	pts := waypoints(p)
	if len(pts)%4 != 0 {
		t.Fatalf("%d waypoints, want 4 per transect", len(pts))
	}
	for i := 0; i < len(pts); i += 4 {
		for _, k := range []int{0, 3} {
			if planar.PolygonContains(square200, pts[i+k]) {
				t.Fatalf("turnaround point %d inside the area", i+k)
			}
		}
		if d := geo.DistanceHaversine(pts[i], pts[i+1]); math.Abs(d-15) > 0.2 {
			t.Fatalf("turnaround %.2f m, want 15", d)
		}
	}
	if p.Items[1].Command != CmdNavWaypoint || p.Items[2].Command != CmdDoSetCamTriggDist || p.Items[2].Param1 != 8 {
		t.Fatalf("trigger not before the first transect: %+v", p.Items[:3])
	}
	if last := p.Items[len(p.Items)-1]; last.Command != CmdDoSetCamTriggDist || last.Param1 != 0 {
		t.Fatalf("trigger not stopped: %+v", last)
	}

	for _, o := range []SurveyOptions{{AltM: 40}, {AltM: 40, SpacingM: -1}, {AltM: 40, SpacingM: 0.001}, {AltM: 40, SpacingM: 10, TurnaroundM: math.Inf(1)}} {
		if _, err := Survey(square200, o); !errors.Is(err, ErrPattern) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestOrbit(t *testing.T) {
	center := llPoint(offsetLL(300, 200))
	for _, clockwise := range []bool{true, false} {
		p, err := Orbit(center, OrbitOptions{
			RouteOptions: RouteOptions{Vehicle: copter, Home: testHome(), ReturnToLaunch: true},
			AltM:         60, RadiusM: 150, Turns: 3, PointsPerTurn: 12, Clockwise: clockwise, StartBearingDeg: 90,
		})
		if err != nil {
			t.Fatal(err)
		}
		mustValidate(t, p)
		pts := waypoints(p)
		if len(pts) != 13 {
			t.Fatalf("%d waypoints, want 12 + closing", len(pts))
		}
		for i, q := range pts {
			if d := geo.DistanceHaversine(center, q); math.Abs(d-150) > 1 {
				t.Fatalf("point %d at %.3f m from the centre, want 150 ± 1", i, d)
			}
		}
		if b := geo.Bearing(center, pts[0]); math.Abs(b-90) > 0.1 {
			t.Fatalf("start bearing %.2f, want 90", b)
		}
		turn := geo.Bearing(center, pts[1]) - geo.Bearing(center, pts[0])
		if (turn > 0) != clockwise {
			t.Fatalf("clockwise=%v but bearing step %.1f", clockwise, turn)
		}
		if j := p.Items[len(p.Items)-2]; j.Command != CmdDoJump || j.Param2 != 2 || p.Items[int(j.Param1)].LatDeg != pts[1][1] {
			t.Fatalf("jump %+v", j)
		}
	}
	for _, o := range []OrbitOptions{{AltM: 60}, {AltM: 60, RadiusM: -3}, {AltM: 60, RadiusM: 50, PointsPerTurn: 2}, {AltM: 60, RadiusM: 50, Turns: -1}} {
		if _, err := Orbit(center, o); !errors.Is(err, ErrPattern) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := Orbit(orb.Point{200, 0}, OrbitOptions{AltM: 60, RadiusM: 50}); !errors.Is(err, ErrPattern) {
		t.Errorf("bad centre: %v", err)
	}
}

// distToLine is the distance in metres from p to the polyline.
func distToLine(line orb.LineString, p orb.Point) float64 {
	q := localXY(p)
	best := math.Inf(1)
	for i := 0; i+1 < len(line); i++ {
		best = math.Min(best, planar.DistanceFromSegment(localXY(line[i]), localXY(line[i+1]), q))
	}
	return best
}

func TestCorridor(t *testing.T) {
	line := orb.LineString{llPoint(offsetLL(0, 0)), llPoint(offsetLL(600, 300)), llPoint(offsetLL(1000, 300))}
	p, err := Corridor(line, CorridorOptions{
		RouteOptions: RouteOptions{Vehicle: copter, Home: testHome(), ReturnToLaunch: true},
		AltM:         45, WidthM: 60, SpacingM: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, p)
	pts := waypoints(p)
	if len(pts) != 4*3 {
		t.Fatalf("%d waypoints, want 4 passes of 3", len(pts))
	}
	wantOffsets := []float64{30, 10, 10, 30}
	for k := 0; k < 4; k++ {
		for j := 0; j < 3; j++ {
			if d := distToLine(line, pts[k*3+j]); math.Abs(d-wantOffsets[k]) > 1 {
				t.Fatalf("pass %d point %d at %.2f m from the centre line, want %.0f", k, j, d, wantOffsets[k])
			}
		}
	}
	// Passes alternate: pass 1 starts at the far end.
	if geo.DistanceHaversine(pts[3], line[2]) > geo.DistanceHaversine(pts[3], line[0]) {
		t.Fatal("second pass does not start at the far end")
	}

	// A closed, circular corridor path (QGroundControl's polyline.kml):
	// passes stay within half the width (mitres add a little at corners).
	circle := orb.LineString{{11.32613, 46.47522}, {11.32704, 46.47493}, {11.32754, 46.47422}, {11.32704, 46.47351},
		{11.32613, 46.47322}, {11.32522, 46.47351}, {11.32472, 46.47422}, {11.32522, 46.47493}, {11.32613, 46.47522}}
	p, err = Corridor(circle, CorridorOptions{RouteOptions: RouteOptions{Vehicle: copter}, AltM: 30, WidthM: 40, SpacingM: 20})
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, p)
	for i, q := range waypoints(p) {
		if dl := distToLineAt(circle, q); dl > 20*1.1+0.5 {
			t.Fatalf("point %d is %.2f m from the path, half width is 20", i, dl)
		}
	}

	// Width 0: the centre line itself.
	p, err = Corridor(line, CorridorOptions{AltM: 30, RouteOptions: RouteOptions{Vehicle: VehicleInfo{Type: VehicleGroundRover}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Items[0].Command != CmdNavWaypoint || len(p.Items) != 3 {
		t.Fatalf("rover centre line: %+v", p.Items)
	}
	for _, o := range []CorridorOptions{{AltM: 30, WidthM: 10}, {AltM: 30, WidthM: -1}, {AltM: 30, WidthM: 100, SpacingM: 0.01}} {
		if _, err := Corridor(line, o); !errors.Is(err, ErrPattern) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := Corridor(orb.LineString{line[0]}, CorridorOptions{AltM: 30}); !errors.Is(err, ErrPattern) {
		t.Errorf("one-point line: %v", err)
	}
}

// distToLineAt is distToLine with a projection centred on the line itself
// (the circular path is far from the test origin).
func distToLineAt(line orb.LineString, p orb.Point) float64 {
	proj := newENU(pointLL(line[0]))
	q := proj.xy(pointLL(p))
	best := math.Inf(1)
	for i := 0; i+1 < len(line); i++ {
		best = math.Min(best, planar.DistanceFromSegment(proj.xy(pointLL(line[i])), proj.xy(pointLL(line[i+1])), q))
	}
	return best
}

func TestPatternVehicles(t *testing.T) {
	cases := []struct {
		v           VehicleInfo
		first       Command
		pitch, yawN bool
	}{
		{VehicleInfo{Firmware: FirmwareArduPilot, Type: VehicleQuadrotor}, CmdNavTakeoff, false, false},
		{VehicleInfo{Firmware: FirmwarePX4, Type: VehicleHexarotor}, CmdNavTakeoff, false, true},
		{VehicleInfo{Firmware: FirmwareArduPilot, Type: VehicleFixedWing}, CmdNavTakeoff, true, false},
		{VehicleInfo{Firmware: FirmwarePX4, Type: VehicleVTOLTailsitterQuad}, CmdNavVTOLTakeoff, false, true},
		{VehicleInfo{Firmware: FirmwareArduPilot, Type: VehicleGroundRover}, CmdNavWaypoint, false, false},
		{VehicleInfo{}, CmdNavTakeoff, false, false},
	}
	for _, c := range cases {
		p, err := Orbit(llPoint(testOrigin), OrbitOptions{RouteOptions: RouteOptions{Vehicle: c.v, SpeedMS: 7, TakeoffAltM: 15}, AltM: 40, RadiusM: 80})
		if err != nil {
			t.Fatal(err)
		}
		first := p.Items[0]
		if first.Command != c.first || (first.Param1 == planeTakeoffPitchDeg) != c.pitch || math.IsNaN(first.Param4) != c.yawN {
			t.Errorf("%+v: first item %+v", c.v, first)
		}
		if c.first != CmdNavWaypoint && first.AltM != 15 {
			t.Errorf("%+v: takeoff altitude %v, want 15", c.v, first.AltM)
		}
		if p.Vehicle != c.v || p.CruiseSpeedMS != 7 || p.HoverSpeedMS != 7 {
			t.Errorf("%+v: plan %+v", c.v, p)
		}
		if r := Validate(p, ValidateOptions{}); !r.OK() {
			t.Errorf("%+v: %v", c.v, r.Issues)
		}
	}
}
