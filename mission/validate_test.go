package mission

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// testOrigin is a field near Zurich; offsets are in metres east/north.
var testOrigin = LatLon{LatDeg: 47.40, LonDeg: 8.55}

func offsetLL(eastM, northM float64) LatLon {
	return newENU(testOrigin).latLon([2]float64{eastM, northM})
}

func wp(eastM, northM, altM float64) Item {
	ll := offsetLL(eastM, northM)
	return Item{Command: CmdNavWaypoint, Frame: FrameGlobalRelativeAlt, LatDeg: ll.LatDeg, LonDeg: ll.LonDeg, AltM: altM, AutoContinue: true}
}

func takeoff(altM float64) Item {
	it := wp(0, 0, altM)
	it.Command = CmdNavTakeoff
	return it
}

func rtl() Item { return Item{Command: CmdNavReturnToLaunch, Frame: FrameMission, AutoContinue: true} }

// squarePlan flies a 100 m square from home at the origin.
func squarePlan() *Plan {
	return &Plan{
		Vehicle:      VehicleInfo{Firmware: FirmwareArduPilot, Type: VehicleQuadrotor},
		PlannedHome:  &Position{LatDeg: testOrigin.LatDeg, LonDeg: testOrigin.LonDeg, AltM: 400},
		HoverSpeedMS: 5,
		Items: []Item{
			takeoff(30),
			wp(0, 100, 30), wp(100, 100, 30), wp(100, 0, 30),
			rtl(),
		},
	}
}

func squareFence(inclusion bool, e0, n0, e1, n1 float64) FencePolygon {
	return FencePolygon{Inclusion: inclusion, Vertices: []LatLon{offsetLL(e0, n0), offsetLL(e1, n0), offsetLL(e1, n1), offsetLL(e0, n1)}}
}

// issuesWith returns the issues whose message contains s.
func issuesWith(r Report, s string) []Issue {
	var out []Issue
	for _, is := range r.Issues {
		if strings.Contains(is.Message, s) {
			out = append(out, is)
		}
	}
	return out
}

func expectIssue(t *testing.T, r Report, sev Severity, item int, msg string) {
	t.Helper()
	for _, is := range issuesWith(r, msg) {
		if is.Severity == sev && is.Item == item {
			return
		}
	}
	t.Fatalf("no %v at item %d containing %q; issues: %v", sev, item, msg, r.Issues)
}

func TestValidateGoodPlan(t *testing.T) {
	p := squarePlan()
	p.Fence.Polygons = []FencePolygon{squareFence(true, -50, -50, 150, 150), squareFence(false, 300, 300, 400, 400)}
	p.Fence.Circles = []FenceCircle{{Inclusion: false, Center: offsetLL(50, 50), RadiusM: 10}}
	p.Rally = []RallyPoint{{LatDeg: offsetLL(10, 10).LatDeg, LonDeg: offsetLL(10, 10).LonDeg, AltM: 20}}
	r := Validate(p, ValidateOptions{EnduranceS: 600})
	if len(r.Issues) != 0 || !r.OK() || r.Err() != nil {
		t.Fatalf("issues: %v", r.Issues)
	}
	if math.Abs(r.PathLengthM-400) > 1 {
		t.Errorf("path %v, want 400", r.PathLengthM)
	}
}

func TestValidateCoordinatesAndAltitude(t *testing.T) {
	p := squarePlan()
	p.Items[1].LatDeg = 123.4
	p.Items[2].LonDeg = math.NaN()
	p.Items[3].AltM = 150
	r := Validate(p, ValidateOptions{})
	expectIssue(t, r, SeverityError, 1, "latitude 123.4 out of range")
	expectIssue(t, r, SeverityError, 2, "longitude is missing")
	expectIssue(t, r, SeverityError, 3, "150.0 m above home exceeds the 120 m ceiling")
	if r.OK() || !errors.Is(r.Err(), ErrInvalidPlan) || !strings.Contains(r.Err().Error(), "item 2: NAV_WAYPOINT: latitude 123.4") {
		t.Fatalf("Err() = %v", r.Err())
	}

	// Configurable ceiling, disabled ceiling, AMSL frames measured from home.
	p = squarePlan()
	p.Items[3].AltM = 150
	if r := Validate(p, ValidateOptions{MaxAltAboveHomeM: 200}); !r.OK() {
		t.Fatalf("200 m ceiling: %v", r.Issues)
	}
	if r := Validate(p, ValidateOptions{MaxAltAboveHomeM: -1}); !r.OK() {
		t.Fatalf("no ceiling: %v", r.Issues)
	}
	p = squarePlan()
	p.Items[2].Frame, p.Items[2].AltM = FrameGlobal, 400+130 // AMSL: 130 m above the 400 m home
	p.Items[3].AltM = -5
	r = Validate(p, ValidateOptions{})
	expectIssue(t, r, SeverityError, 2, "130.0 m above home exceeds")
	expectIssue(t, r, SeverityWarning, 3, "-5.0 m is below home")
	if len(r.Issues) != 2 {
		t.Fatalf("issues %v", r.Issues)
	}
}

func TestValidateTakeoff(t *testing.T) {
	p := squarePlan()
	p.Items = p.Items[1:]
	expectIssue(t, Validate(p, ValidateOptions{}), SeverityError, 0, "copter mission does not start with a takeoff")

	// DO_ items before the takeoff are fine; a plane only gets a warning.
	p = squarePlan()
	p.Items = append([]Item{{Command: CmdDoChangeSpeed, Frame: FrameMission, Param2: 5}}, p.Items...)
	if r := Validate(p, ValidateOptions{}); !r.OK() {
		t.Fatalf("%v", r.Issues)
	}
	p = squarePlan()
	p.Vehicle.Type = VehicleFixedWing
	p.Items = p.Items[1:]
	r := Validate(p, ValidateOptions{})
	expectIssue(t, r, SeverityWarning, 0, "plane mission does not start with a takeoff")
	if !r.OK() {
		t.Fatalf("plane without takeoff must only warn: %v", r.Issues)
	}
	p.Vehicle.Type = VehicleGroundRover
	if r := Validate(p, ValidateOptions{}); len(issuesWith(r, "takeoff")) != 0 {
		t.Fatalf("rover: %v", r.Issues)
	}
}

func TestValidateDoJump(t *testing.T) {
	p := squarePlan()
	jump := func(target, repeat float64) Item {
		return Item{Command: CmdDoJump, Frame: FrameMission, Param1: target, Param2: repeat}
	}
	p.Items = append(p.Items[:4], jump(1, 2), jump(12, 1), jump(6, 1), jump(1, -1), jump(1, 0.5), rtl())
	r := Validate(p, ValidateOptions{EnduranceS: 3600})
	expectIssue(t, r, SeverityError, 5, "DO_JUMP target 13 does not exist (items 1-10)")
	expectIssue(t, r, SeverityError, 6, "DO_JUMP jumps to itself")
	expectIssue(t, r, SeverityWarning, 7, "DO_JUMP repeats forever")
	expectIssue(t, r, SeverityError, 8, "DO_JUMP repeat count 0.5 invalid")
	expectIssue(t, r, SeverityWarning, -1, "flight time cannot be bounded")
	if len(issuesWith(r, "item 5")) != 0 {
		t.Fatalf("valid jump flagged: %v", r.Issues)
	}
}

func TestValidateCommands(t *testing.T) {
	p := squarePlan()
	p.Items[2].Command = 4242
	p.Items[3].Command = CmdNavVTOLTakeoff
	p.Items = append(p.Items, Item{Command: CmdFenceVertexInclusion, Frame: FrameGlobal, LatDeg: 1, LonDeg: 1, Param1: 3})
	r := Validate(p, ValidateOptions{})
	expectIssue(t, r, SeverityError, 2, "unknown command 4242")
	expectIssue(t, r, SeverityError, 3, "NAV_VTOL_TAKEOFF is not supported by ArduPilot copter")
	expectIssue(t, r, SeverityError, 5, "belongs in the fence or rally points")

	p = squarePlan()
	p.Vehicle.Firmware = FirmwarePX4
	p.Items[2].Command = CmdNavSplineWaypoint
	expectIssue(t, Validate(p, ValidateOptions{}), SeverityError, 2, "NAV_SPLINE_WAYPOINT is not supported by PX4 copter")
	p.Vehicle = VehicleInfo{Firmware: FirmwareArduPilot, Type: VehicleQuadrotor}
	if r := Validate(p, ValidateOptions{}); !r.OK() {
		t.Fatalf("ArduPilot copter flies splines: %v", r.Issues)
	}
}

func TestValidateFence(t *testing.T) {
	// Inclusion zone too small: item 2 (100,100) is outside it.
	p := squarePlan()
	p.Fence.Polygons = []FencePolygon{squareFence(true, -50, -50, 150, 90)}
	r := Validate(p, ValidateOptions{})
	expectIssue(t, r, SeverityError, 1, "breaks the fence: outside inclusion polygon 1")
	expectIssue(t, r, SeverityError, 2, "breaks the fence: outside inclusion polygon 1")
	if len(issuesWith(r, "breaks the fence")) != 2 {
		t.Fatalf("%v", r.Issues)
	}

	// Exclusion polygon around a waypoint.
	p = squarePlan()
	p.Fence.Polygons = []FencePolygon{squareFence(false, 90, 90, 110, 110)}
	expectIssue(t, Validate(p, ValidateOptions{}), SeverityError, 2, "breaks the fence: exclusion polygon 1")

	// Exclusion polygon between two waypoints: both ends fine, the leg is not.
	p = squarePlan()
	p.Fence.Polygons = []FencePolygon{squareFence(false, 40, 90, 60, 110)}
	expectIssue(t, Validate(p, ValidateOptions{}), SeverityError, 2, "leg from item 2 to item 3 crosses the fence: exclusion polygon 1")

	// Exclusion circle the leg passes through, and one it misses.
	p = squarePlan()
	p.Fence.Circles = []FenceCircle{{Center: offsetLL(100, 50), RadiusM: 5}, {Center: offsetLL(50, 50), RadiusM: 5}}
	r = Validate(p, ValidateOptions{})
	expectIssue(t, r, SeverityError, 3, "leg from item 3 to item 4 crosses the fence: exclusion circle 1")
	if len(issuesWith(r, "circle 2")) != 0 {
		t.Fatalf("circle 2 is clear: %v", r.Issues)
	}

	// A concave (U-shaped) inclusion zone: every waypoint inside, but the
	// leg across the notch leaves the zone.
	p = squarePlan()
	u := []LatLon{offsetLL(-10, -10), offsetLL(110, -10), offsetLL(110, 110), offsetLL(90, 110), offsetLL(90, 20),
		offsetLL(10, 20), offsetLL(10, 110), offsetLL(-10, 110)}
	p.Fence.Polygons = []FencePolygon{{Inclusion: true, Vertices: u}}
	expectIssue(t, Validate(p, ValidateOptions{}), SeverityError, 2, "leg from item 2 to item 3 crosses the fence: outside inclusion polygon 1")

	// Two disjoint inclusion circles, one around each half: ArduPilot needs
	// the vehicle inside all inclusion zones, PX4 inside one.
	p = squarePlan()
	p.Items = []Item{takeoff(30), wp(0, 20, 30)}
	p.Fence.Circles = []FenceCircle{{Inclusion: true, Center: offsetLL(0, 0), RadiusM: 50}, {Inclusion: true, Center: offsetLL(500, 0), RadiusM: 50}}
	expectIssue(t, Validate(p, ValidateOptions{}), SeverityError, 1, "outside inclusion circle 2")
	p.Vehicle.Firmware = FirmwarePX4
	if r := Validate(p, ValidateOptions{}); !r.OK() {
		t.Fatalf("PX4 inside one of two inclusion zones: %v", r.Issues)
	}

	// Broken fence shapes.
	p = squarePlan()
	p.Fence.Polygons = []FencePolygon{{Inclusion: true, Vertices: []LatLon{{1, 1}, {1, 2}}}}
	p.Fence.Circles = []FenceCircle{{Center: LatLon{LatDeg: 1, LonDeg: 1}, RadiusM: -1}}
	p.Rally = []RallyPoint{{LatDeg: 99}}
	r = Validate(p, ValidateOptions{})
	expectIssue(t, r, SeverityError, -1, "fence polygon 1 has 2 vertices")
	expectIssue(t, r, SeverityError, -1, "fence circle 1: radius -1 invalid")
	expectIssue(t, r, SeverityError, -1, "rally point 1: latitude 99")
}

func TestValidateLegAndEndurance(t *testing.T) {
	p := squarePlan()
	p.Items = []Item{takeoff(30), wp(0, 6000, 30), rtl()}
	r := Validate(p, ValidateOptions{})
	expectIssue(t, r, SeverityError, 1, "leg from item 1 to item 2 is 6000 m, longer than the 5000 m limit")
	expectIssue(t, r, SeverityError, 2, "leg from item 2 to home is 6000 m")
	if r := Validate(p, ValidateOptions{MaxLegM: 7000}); !r.OK() {
		t.Fatalf("7 km limit: %v", r.Issues)
	}
	if r := Validate(p, ValidateOptions{MaxLegM: -1}); !r.OK() {
		t.Fatalf("no limit: %v", r.Issues)
	}

	// 400 m at 5 m/s = 80 s horizontal, plus a 12 s climb to 30 m.
	p = squarePlan()
	want := 80*time.Second + 12*time.Second
	if got := EstimatedFlightTime(p, 0); absDur(got-want) > time.Second {
		t.Fatalf("flight time %v, want %v", got, want)
	}
	expectIssue(t, Validate(p, ValidateOptions{EnduranceS: 100}), SeverityWarning, -1, "over 80% of the 1m40s endurance")
	expectIssue(t, Validate(p, ValidateOptions{EnduranceS: 60}), SeverityError, -1, "exceeds the 1m0s endurance")
	if r := Validate(p, ValidateOptions{EnduranceS: 60, SpeedMS: 20}); len(r.Issues) != 0 {
		t.Fatalf("at 20 m/s: %v (%v)", r.Issues, r.FlightTime)
	}
	p.Items = append(p.Items[:4], Item{Command: CmdNavLoiterUnlim, Frame: FrameGlobalRelativeAlt, LatDeg: p.Items[3].LatDeg, LonDeg: p.Items[3].LonDeg, AltM: 30})
	expectIssue(t, Validate(p, ValidateOptions{EnduranceS: 60}), SeverityWarning, -1, "loiters without limit")
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestPathLengthAndFlightTime(t *testing.T) {
	p := squarePlan()
	if got := PathLengthM(p); math.Abs(got-400) > 0.5 {
		t.Fatalf("path %v, want 400", got)
	}
	// Repeat the square twice more with a DO_JUMP: back from (100,0) to
	// (0,100) is 141.4 m, each lap 341.4 m more.
	p.Items = []Item{takeoff(30), wp(0, 100, 30), wp(100, 100, 30), wp(100, 0, 30),
		{Command: CmdDoJump, Frame: FrameMission, Param1: 1, Param2: 2}, rtl()}
	want := 400 + 2*(100*math.Sqrt2+200)
	if got := PathLengthM(p); math.Abs(got-want) > 0.5 {
		t.Fatalf("path with jumps %v, want %v", got, want)
	}
	// Loiter time and a speed change count.
	p = squarePlan()
	loiter := p.Items[2]
	loiter.Command, loiter.Param1 = CmdNavLoiterTime, 60
	p.Items = []Item{p.Items[0], p.Items[1], loiter, {Command: CmdDoChangeSpeed, Frame: FrameMission, Param2: 10}, p.Items[3], rtl()}
	// Climb 12 s, 100 m + 100 m at 5 m/s, 60 s loiter, 100 m at 10 m/s,
	// and the 100 m home at 10 m/s takes the 12 s descent from 30 m.
	want2 := 12*time.Second + 40*time.Second + 60*time.Second + 10*time.Second + 12*time.Second
	if got := EstimatedFlightTime(p, 0); absDur(got-want2) > time.Second {
		t.Fatalf("flight time %v, want %v", got, want2)
	}
	// Positions of 0,0 ("here") add no distance.
	p = squarePlan()
	p.Items[2].LatDeg, p.Items[2].LonDeg = 0, 0
	if got := PathLengthM(p); math.Abs(got-(100+100*math.Sqrt2+100)) > 0.5 {
		t.Fatalf("path %v", got)
	}
	if PathLengthM(nil) != 0 || EstimatedFlightTime(nil, 0) != 0 {
		t.Fatal("nil plan")
	}
}

func TestValidateMisc(t *testing.T) {
	r := Validate(&Plan{}, ValidateOptions{})
	expectIssue(t, r, SeverityWarning, -1, "plan is empty")
	r = Validate(nil, ValidateOptions{})
	if r.OK() {
		t.Fatal("nil plan OK")
	}
	p := squarePlan()
	p.Complex = []ComplexItem{{Type: "StructureScan", Index: 2, JSON: []byte(`{}`)}, {Type: "survey", Index: 9, Count: 3}}
	r = Validate(p, ValidateOptions{})
	expectIssue(t, r, SeverityWarning, -1, "complex item 1 (StructureScan) carries no generated mission items")
	expectIssue(t, r, SeverityError, -1, "complex item 2 (survey) does not match")

	if b, _ := json.Marshal(Issue{Severity: SeverityWarning, Item: 2}); !strings.Contains(string(b), `"Severity":"warning"`) {
		t.Fatalf("%s", b)
	}
	is := Issue{Severity: SeverityError, Item: 4, Message: "boom"}
	if is.String() != "error: item 5: boom" || (Issue{Severity: SeverityWarning, Item: -1, Message: "x"}).String() != "warning: plan: x" {
		t.Fatalf("%q", is.String())
	}
}
