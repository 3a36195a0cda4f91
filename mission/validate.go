package mission

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// ErrInvalidPlan is wrapped by Report.Err when validation found errors.
var ErrInvalidPlan = errors.New("mission: plan failed validation")

// Severity grades an Issue.
type Severity uint8

// Severities.
const (
	// SeverityWarning: the plan can fly, but the pilot should look.
	SeverityWarning Severity = iota + 1
	// SeverityError: the plan must not be uploaded as it is.
	SeverityError
)

// String names the severity.
func (s Severity) String() string {
	switch s {
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("severity %d", uint8(s))
}

// MarshalText writes the severity as its name, so JSON shows "warning"
// and "error".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Issue is one validation finding.
type Issue struct {
	Severity Severity
	// Item is the 0-based index into Plan.Items, or -1 for the plan as a
	// whole (home, fence, rally, totals).
	Item    int
	Message string
}

// String formats the issue with the item numbered as ground stations show
// it (first item = 1).
func (i Issue) String() string {
	if i.Item < 0 {
		return fmt.Sprintf("%s: plan: %s", i.Severity, i.Message)
	}
	return fmt.Sprintf("%s: item %d: %s", i.Severity, i.Item+1, i.Message)
}

// Report is the outcome of Validate.
type Report struct {
	Issues []Issue
	// PathLengthM and FlightTime are the estimates the endurance check
	// used (see PathLengthM and EstimatedFlightTime).
	PathLengthM float64
	FlightTime  time.Duration
}

// OK reports whether there are no errors (warnings allowed).
func (r Report) OK() bool {
	for _, is := range r.Issues {
		if is.Severity == SeverityError {
			return false
		}
	}
	return true
}

// Err returns nil when OK, otherwise an error wrapping ErrInvalidPlan that
// lists every error.
func (r Report) Err() error {
	var msgs []string
	for _, is := range r.Issues {
		if is.Severity == SeverityError {
			msgs = append(msgs, is.String())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidPlan, strings.Join(msgs, "; "))
}

// Defaults for ValidateOptions zero values.
const (
	DefaultMaxAltAboveHomeM = 120.0  // the common regulatory ceiling
	DefaultMaxLegM          = 5000.0 // longer legs are usually a typo
	defaultCopterSpeedMS    = 5.0
	defaultPlaneSpeedMS     = 15.0
	defaultVerticalSpeedMS  = 2.5 // ArduPilot WPNAV_SPEED_UP default
	enduranceWarnFraction   = 0.8
)

// ValidateOptions tunes Validate. The zero value applies the defaults.
type ValidateOptions struct {
	// MaxAltAboveHomeM is the altitude ceiling; 0 means 120 m, negative
	// disables the check. Terrain-frame altitudes are compared as they are.
	MaxAltAboveHomeM float64
	// MaxLegM is the longest allowed leg between positions; 0 means
	// 5 km, negative disables the check.
	MaxLegM float64
	// EnduranceS is the battery endurance in seconds; 0 skips the check.
	// The estimated flight time is a warning above 80 % of it and an error
	// above 100 %.
	EnduranceS float64
	// SpeedMS overrides the plan's cruise/hover speed for the estimate.
	SpeedMS float64
}

// unsupportedCommand reports, per firmware and class, commands the autopilot
// drops silently (ArduPilot's mission command documentation; PX4's mission
// feasibility checks). It is deliberately small: only commands known to be
// ignored are listed.
func unsupportedCommand(v VehicleInfo, c Command) bool {
	switch v.Firmware {
	case FirmwareArduPilot:
		switch v.Class() {
		case ClassCopter:
			switch c {
			case 30, CmdNavVTOLTakeoff, CmdNavVTOLLand, 191, 210, 3000:
				return true
			}
		case ClassPlane, ClassVTOL:
			switch c {
			case CmdNavSplineWaypoint, 94:
				return true
			}
		case ClassRover, ClassBoat, ClassSub:
			switch c {
			case CmdNavTakeoff, CmdNavVTOLTakeoff, CmdNavVTOLLand, 30, 191, 210, 3000:
				return true
			}
		}
	case FirmwarePX4:
		switch c {
		case CmdNavSplineWaypoint, CmdJumpTag, CmdDoJumpTag, 215, 216, 217, 218:
			return true
		case CmdNavVTOLTakeoff, CmdNavVTOLLand, 3000:
			return v.Class() != ClassVTOL
		}
	}
	return false
}

// Validate checks a plan before upload. It never modifies p.
func Validate(p *Plan, opts ValidateOptions) Report {
	var rep Report
	add := func(sev Severity, item int, format string, args ...any) {
		rep.Issues = append(rep.Issues, Issue{Severity: sev, Item: item, Message: fmt.Sprintf(format, args...)})
	}
	if p == nil {
		add(SeverityError, -1, "no plan")
		return rep
	}
	class := p.Vehicle.Class()
	ceiling := opts.MaxAltAboveHomeM
	if ceiling == 0 {
		ceiling = DefaultMaxAltAboveHomeM
	}
	maxLeg := opts.MaxLegM
	if maxLeg == 0 {
		maxLeg = DefaultMaxLegM
	}

	if h := p.PlannedHome; h != nil {
		if err := checkLatLon(h.LatDeg, h.LonDeg); err != nil {
			add(SeverityError, -1, "home: %v", err)
		} else if !isFinite(h.AltM) {
			add(SeverityError, -1, "home: altitude is not a number")
		}
	}
	if len(p.Items) == 0 {
		if p.Fence.Empty() && len(p.Rally) == 0 {
			add(SeverityWarning, -1, "plan is empty")
		} else {
			add(SeverityWarning, -1, "mission has no items")
		}
	}

	// Per-item checks.
	for i, it := range p.Items {
		info, known := LookupCommand(it.Command)
		if !known {
			add(SeverityError, i, "unknown command %d", uint16(it.Command))
			continue
		}
		if it.Frame > frameMax {
			add(SeverityError, i, "%s: unknown frame %d", info.Name, uint8(it.Frame))
			continue
		}
		for k, v := range [...]float64{it.Param1, it.Param2, it.Param3, it.Param4, it.LatDeg, it.LonDeg, it.AltM} {
			if math.IsInf(v, 0) {
				add(SeverityError, i, "%s: param %d is infinite", info.Name, k+1)
			}
		}
		if isFenceCommand(it.Command) || it.Command == CmdNavRallyPoint {
			add(SeverityError, i, "%s belongs in the fence or rally points, not the mission", info.Name)
			continue
		}
		if unsupportedCommand(p.Vehicle, it.Command) {
			add(SeverityError, i, "%s is not supported by %s %s", info.Name, p.Vehicle.Firmware, class)
		}
		if info.Positional && !it.Frame.IsGlobal() && it.Frame != FrameMission {
			add(SeverityWarning, i, "%s in non-global frame %d: position not checked", info.Name, uint8(it.Frame))
		}
		if it.HasPosition() {
			if err := checkLatLon(it.LatDeg, it.LonDeg); err != nil {
				add(SeverityError, i, "%s: %v", info.Name, err)
				continue
			}
			if math.IsNaN(it.AltM) {
				switch {
				case it.AltAboveTerrainM != 0:
					add(SeverityError, i, "%s: sea-level altitude was never computed for this QGroundControl \"calculated above terrain\" item (%.0f m above terrain); recompute it in QGroundControl or set an altitude",
						info.Name, it.AltAboveTerrainM)
				case info.Travels && it.Command != CmdNavLand && it.Command != CmdNavVTOLLand:
					add(SeverityError, i, "%s: altitude is missing", info.Name)
				}
				continue
			}
			if class.Flies() && info.Travels && it.Command != CmdNavLand && it.Command != CmdNavVTOLLand {
				if rel, ok := relAltM(p, it); ok {
					if ceiling > 0 && rel > ceiling {
						add(SeverityError, i, "%s: altitude %.1f m above home exceeds the %.0f m ceiling", info.Name, rel, ceiling)
					}
					if rel < 0 {
						add(SeverityWarning, i, "%s: altitude %.1f m is below home", info.Name, rel)
					}
				}
			}
		}
		if it.Command == CmdDoJump {
			checkJump(p, i, add)
		}
	}

	checkTakeoff(p, class, add)
	checkComplex(p, add)
	checkFenceShape(p, add)

	sim := simulate(p, opts.SpeedMS)
	rep.PathLengthM, rep.FlightTime = sim.pathM, durationS(sim.timeS)
	if maxLeg > 0 {
		for _, l := range sim.legs {
			if d := distanceM(l.a, l.b); d > maxLeg {
				add(SeverityError, l.at, "%s is %.0f m, longer than the %.0f m limit", legName(l), d, maxLeg)
			}
		}
	}
	checkFenceContainment(p, sim.legs, add)

	if opts.EnduranceS > 0 {
		switch {
		case sim.unbounded:
			add(SeverityWarning, -1, "flight time cannot be bounded (%s); endurance not checked", sim.why)
		case sim.timeS > opts.EnduranceS:
			add(SeverityError, -1, "estimated flight time %s exceeds the %s endurance",
				rep.FlightTime.Round(time.Second), secs(opts.EnduranceS))
		case sim.timeS > enduranceWarnFraction*opts.EnduranceS:
			add(SeverityWarning, -1, "estimated flight time %s is over %.0f%% of the %s endurance",
				rep.FlightTime.Round(time.Second), enduranceWarnFraction*100, secs(opts.EnduranceS))
		}
	}
	return rep
}

func secs(s float64) time.Duration { return durationS(s).Round(time.Second) }

// durationS converts seconds to a Duration, saturating instead of
// overflowing for absurd plans.
func durationS(s float64) time.Duration {
	if !(s < float64(math.MaxInt64)/float64(time.Second)) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

// legName describes a leg with items numbered as users see them.
func legName(l leg) string {
	name := func(i int) string {
		if i < 0 {
			return "home"
		}
		return fmt.Sprintf("item %d", i+1)
	}
	return "leg from " + name(l.from) + " to " + name(l.to)
}

// relAltM returns the item altitude above home, when it can be known.
func relAltM(p *Plan, it Item) (float64, bool) {
	switch it.Frame.AltRef() {
	case AltRefHome, AltRefTerrain:
		return it.AltM, true
	case AltRefAMSL:
		if p.PlannedHome != nil {
			return it.AltM - p.PlannedHome.AltM, true
		}
	}
	return 0, false
}

func checkJump(p *Plan, i int, add func(Severity, int, string, ...any)) {
	it := p.Items[i]
	t := it.Param1
	switch {
	case !wholeNumber(t, 0, float64(len(p.Items)-1)):
		add(SeverityError, i, "DO_JUMP target %v does not exist (items 1-%d)", displayIndex(t), len(p.Items))
	case int(t) == i:
		add(SeverityError, i, "DO_JUMP jumps to itself")
	}
	switch r := it.Param2; {
	case r == -1:
		add(SeverityWarning, i, "DO_JUMP repeats forever")
	case !wholeNumber(r, 0, math.MaxInt32):
		add(SeverityError, i, "DO_JUMP repeat count %v invalid", r)
	}
}

// displayIndex turns a 0-based index into the number users see.
func displayIndex(v float64) float64 { return v + 1 }

// firstNav returns the index of the first item that moves the vehicle.
func firstNav(p *Plan) int {
	for i, it := range p.Items {
		if it.Info().Travels || it.Command == CmdNavReturnToLaunch {
			return i
		}
	}
	return -1
}

func checkTakeoff(p *Plan, class VehicleClass, add func(Severity, int, string, ...any)) {
	var sev Severity
	switch class {
	case ClassCopter:
		sev = SeverityError
	case ClassPlane, ClassVTOL:
		sev = SeverityWarning
	default:
		return
	}
	i := firstNav(p)
	if i < 0 {
		return
	}
	if c := p.Items[i].Command; c != CmdNavTakeoff && c != CmdNavVTOLTakeoff {
		add(sev, i, "%s mission does not start with a takeoff (first navigation item is %s)", class, c)
	}
}

func checkComplex(p *Plan, add func(Severity, int, string, ...any)) {
	next := 0
	for k, c := range p.Complex {
		if c.Index < next || c.Count < 0 || c.Index+c.Count > len(p.Items) {
			add(SeverityError, -1, "complex item %d (%s) does not match the mission items", k+1, c.Type)
			continue
		}
		next = c.Index + c.Count
		if c.Count == 0 {
			add(SeverityWarning, -1, "complex item %d (%s) carries no generated mission items and will not fly; regenerate it in QGroundControl",
				k+1, c.Type)
		}
	}
}

func checkFenceShape(p *Plan, add func(Severity, int, string, ...any)) {
	for k, poly := range p.Fence.Polygons {
		if len(poly.Vertices) < 3 {
			add(SeverityError, -1, "fence polygon %d has %d vertices, need at least 3", k+1, len(poly.Vertices))
		}
		for j, v := range poly.Vertices {
			if err := checkLatLon(v.LatDeg, v.LonDeg); err != nil {
				add(SeverityError, -1, "fence polygon %d vertex %d: %v", k+1, j+1, err)
			}
		}
	}
	for k, c := range p.Fence.Circles {
		if err := checkLatLon(c.Center.LatDeg, c.Center.LonDeg); err != nil {
			add(SeverityError, -1, "fence circle %d: %v", k+1, err)
		}
		if !isFinite(c.RadiusM) || c.RadiusM <= 0 {
			add(SeverityError, -1, "fence circle %d: radius %v invalid", k+1, c.RadiusM)
		}
	}
	if rp := p.Fence.ReturnPoint; rp != nil {
		if err := checkLatLon(rp.LatDeg, rp.LonDeg); err != nil {
			add(SeverityError, -1, "fence return point: %v", err)
		}
	}
	for k, r := range p.Rally {
		if err := checkLatLon(r.LatDeg, r.LonDeg); err != nil {
			add(SeverityError, -1, "rally point %d: %v", k+1, err)
		}
	}
}

// fenceGeom is the fence projected to the plane, usable zones only.
type fenceGeom struct {
	proj                  enu
	inPolys, exPolys      []orb.Ring
	inPolyNum, exPolyNum  []int
	inCircles, exCircles  []circleXY
	inCircNum, exCircNum  []int
	requireAllInclusions  bool
	haveInclusion, usable bool
}

type circleXY struct {
	c orb.Point
	r float64
}

func newFenceGeom(p *Plan) fenceGeom {
	var g fenceGeom
	var ref *LatLon
	for _, poly := range p.Fence.Polygons {
		if len(poly.Vertices) > 0 {
			ref = &poly.Vertices[0]
			break
		}
	}
	if ref == nil && len(p.Fence.Circles) > 0 {
		ref = &p.Fence.Circles[0].Center
	}
	if ref == nil {
		return g
	}
	g.proj = newENU(*ref)
	// ArduPilot breaches when outside any inclusion zone; PX4 and others
	// accept being inside one of them.
	g.requireAllInclusions = p.Vehicle.Firmware == FirmwareArduPilot
	for k, poly := range p.Fence.Polygons {
		if len(poly.Vertices) < 3 || anyBad(poly.Vertices) {
			continue
		}
		r := g.proj.ringXY(poly.Vertices)
		if poly.Inclusion {
			g.inPolys, g.inPolyNum = append(g.inPolys, r), append(g.inPolyNum, k+1)
		} else {
			g.exPolys, g.exPolyNum = append(g.exPolys, r), append(g.exPolyNum, k+1)
		}
	}
	for k, c := range p.Fence.Circles {
		if checkLatLon(c.Center.LatDeg, c.Center.LonDeg) != nil || !isFinite(c.RadiusM) || c.RadiusM <= 0 {
			continue
		}
		cx := circleXY{c: g.proj.xy(c.Center), r: c.RadiusM}
		if c.Inclusion {
			g.inCircles, g.inCircNum = append(g.inCircles, cx), append(g.inCircNum, k+1)
		} else {
			g.exCircles, g.exCircNum = append(g.exCircles, cx), append(g.exCircNum, k+1)
		}
	}
	g.haveInclusion = len(g.inPolys)+len(g.inCircles) > 0
	g.usable = g.haveInclusion || len(g.exPolys)+len(g.exCircles) > 0
	return g
}

func anyBad(vs []LatLon) bool {
	for _, v := range vs {
		if checkLatLon(v.LatDeg, v.LonDeg) != nil {
			return true
		}
	}
	return false
}

// insidePolygon reports whether segment ab (a point when a == b) stays
// inside ring r.
func (g fenceGeom) insidePolygon(r orb.Ring, a, b orb.Point) bool {
	return ringContains(r, a) && ringContains(r, b) && (a == b || !segmentCrossesRing(a, b, r))
}

// insideCircle reports whether segment ab stays inside circle c (a disc is
// convex, so both ends inside suffice).
func (g fenceGeom) insideCircle(c circleXY, a, b orb.Point) bool {
	return math.Hypot(a[0]-c.c[0], a[1]-c.c[1]) <= c.r && math.Hypot(b[0]-c.c[0], b[1]-c.c[1]) <= c.r
}

// violation describes how segment ab breaks the fence, or "" when it does
// not.
func (g fenceGeom) violation(a, b orb.Point) string {
	for k, r := range g.exPolys {
		if ringContains(r, a) || ringContains(r, b) || (a != b && segmentCrossesRing(a, b, r)) {
			return fmt.Sprintf("exclusion polygon %d", g.exPolyNum[k])
		}
	}
	for k, c := range g.exCircles {
		if distToSegment(a, b, c.c) < c.r {
			return fmt.Sprintf("exclusion circle %d", g.exCircNum[k])
		}
	}
	if !g.haveInclusion {
		return ""
	}
	var outside []string
	for k, r := range g.inPolys {
		if !g.insidePolygon(r, a, b) {
			outside = append(outside, fmt.Sprintf("inclusion polygon %d", g.inPolyNum[k]))
		}
	}
	for k, c := range g.inCircles {
		if !g.insideCircle(c, a, b) {
			outside = append(outside, fmt.Sprintf("inclusion circle %d", g.inCircNum[k]))
		}
	}
	zones := len(g.inPolys) + len(g.inCircles)
	if len(outside) == 0 || (!g.requireAllInclusions && len(outside) < zones) {
		return ""
	}
	return "outside " + strings.Join(outside, ", ")
}

func checkFenceContainment(p *Plan, legs []leg, add func(Severity, int, string, ...any)) {
	g := newFenceGeom(p)
	if !g.usable {
		return
	}
	if h := p.PlannedHome; h != nil && checkLatLon(h.LatDeg, h.LonDeg) == nil {
		hp := g.proj.xy(LatLon{LatDeg: h.LatDeg, LonDeg: h.LonDeg})
		if v := g.violation(hp, hp); v != "" {
			add(SeverityWarning, -1, "home breaks the fence (%s); the vehicle may refuse to arm", v)
		}
	}
	for i, it := range p.Items {
		if !it.hasFix() || !it.Info().Travels || checkLatLon(it.LatDeg, it.LonDeg) != nil {
			continue
		}
		pt := g.proj.xy(LatLon{LatDeg: it.LatDeg, LonDeg: it.LonDeg})
		if v := g.violation(pt, pt); v != "" {
			add(SeverityError, i, "%s breaks the fence: %s", it.Command, v)
		}
	}
	for _, l := range legs {
		a, b := g.proj.xy(l.a), g.proj.xy(l.b)
		// Endpoints were reported above; report legs whose ends are fine.
		if g.violation(a, a) != "" || g.violation(b, b) != "" {
			continue
		}
		if v := g.violation(a, b); v != "" {
			add(SeverityError, l.at, "%s crosses the fence: %s", legName(l), v)
		}
	}
	for k, r := range p.Rally {
		if checkLatLon(r.LatDeg, r.LonDeg) != nil {
			continue
		}
		pt := g.proj.xy(LatLon{LatDeg: r.LatDeg, LonDeg: r.LonDeg})
		if v := g.violation(pt, pt); v != "" {
			add(SeverityWarning, -1, "rally point %d breaks the fence: %s", k+1, v)
		}
	}
}

// leg is one straight flight segment between positions.
type leg struct {
	from, to int // item indexes; -1 is home
	at       int // the item that flies the leg (the RTL for legs home)
	a, b     LatLon
}

// simResult is the outcome of walking the mission as the autopilot would.
type simResult struct {
	legs      []leg // unique legs in first-flown order
	pathM     float64
	timeS     float64
	unbounded bool
	why       string
}

// maxSimSteps bounds the walk (nested jump repeats can multiply).
const maxSimSteps = 200000

// planSpeed picks the horizontal speed for estimates.
func planSpeed(p *Plan, speedMS float64) float64 {
	if speedMS > 0 && isFinite(speedMS) {
		return speedMS
	}
	switch p.Vehicle.Class() {
	case ClassCopter, ClassGeneric:
		if p.HoverSpeedMS > 0 {
			return p.HoverSpeedMS
		}
		if p.Vehicle.Class() == ClassCopter || p.CruiseSpeedMS == 0 {
			return defaultCopterSpeedMS
		}
		return p.CruiseSpeedMS
	default:
		if p.CruiseSpeedMS > 0 {
			return p.CruiseSpeedMS
		}
		if p.Vehicle.Class() == ClassPlane || p.Vehicle.Class() == ClassVTOL {
			return defaultPlaneSpeedMS
		}
		return defaultCopterSpeedMS
	}
}

// simulate walks the items in execution order: DO_JUMPs are followed with
// their repeat counts, RTL flies home and ends the mission, positions of 0,0
// ("here") add no leg. Loops that never end are walked once and flagged.
func simulate(p *Plan, speedMS float64) simResult {
	var res simResult
	speed := planSpeed(p, speedMS)
	var pos *LatLon
	posItem := -1
	alt := 0.0
	if h := p.PlannedHome; h != nil && checkLatLon(h.LatDeg, h.LonDeg) == nil {
		pos = &LatLon{LatDeg: h.LatDeg, LonDeg: h.LonDeg}
	}
	seen := map[[2]int]bool{}
	remaining := map[int]int{}
	fly := func(at, to int, dst LatLon, dstAlt float64, hasAlt bool) {
		h := 0.0
		if pos != nil {
			h = distanceM(*pos, dst)
			if h > 0 {
				key := [2]int{posItem, to}
				if !seen[key] {
					seen[key] = true
					res.legs = append(res.legs, leg{from: posItem, to: to, at: at, a: *pos, b: dst})
				}
			}
		}
		dz := 0.0
		if hasAlt {
			dz = math.Abs(dstAlt - alt)
			alt = dstAlt
		}
		res.pathM += h
		res.timeS += math.Max(h/speed, dz/defaultVerticalSpeedMS)
		d := dst
		pos, posItem = &d, to
	}
	unbounded := func(why string) {
		if !res.unbounded {
			res.unbounded, res.why = true, why
		}
	}
	for i, steps := 0, 0; i < len(p.Items); steps++ {
		if steps > maxSimSteps {
			unbounded("too many jump repeats to walk")
			break
		}
		it := p.Items[i]
		info := it.Info()
		next := i + 1
		switch {
		case it.Command == CmdDoJump:
			t := it.Param1
			if !wholeNumber(t, 0, float64(len(p.Items)-1)) || int(t) == i {
				break
			}
			if it.Param2 == -1 {
				unbounded(fmt.Sprintf("item %d jumps forever", i+1))
				break
			}
			if !wholeNumber(it.Param2, 0, maxSimSteps) {
				break
			}
			// Counters are not reset once used up, as in ArduPilot.
			left, ok := remaining[i]
			if !ok {
				left = int(it.Param2)
			}
			if left > 0 {
				remaining[i] = left - 1
				next = int(t)
			}
		case it.Command == CmdNavReturnToLaunch:
			if h := p.PlannedHome; h != nil && checkLatLon(h.LatDeg, h.LonDeg) == nil {
				fly(i, -1, LatLon{LatDeg: h.LatDeg, LonDeg: h.LonDeg}, 0, true)
			}
			next = len(p.Items)
		case it.Command == CmdDoChangeSpeed:
			if it.Param2 > 0 && isFinite(it.Param2) {
				speed = it.Param2
			}
		case it.Command == CmdNavDelay:
			if it.Param1 > 0 && isFinite(it.Param1) {
				res.timeS += it.Param1
			}
		case info.Travels && it.HasPosition() && checkLatLon(it.LatDeg, it.LonDeg) == nil:
			rel, hasAlt := relAltM(p, it)
			hasAlt = hasAlt && isFinite(rel)
			if it.hasFix() {
				fly(i, i, LatLon{LatDeg: it.LatDeg, LonDeg: it.LonDeg}, rel, hasAlt)
			} else if hasAlt && !(rel == 0 && it.Command == CmdNavWaypoint) {
				// "Here" at a new altitude (takeoff, loiter): climb only.
				res.timeS += math.Abs(rel-alt) / defaultVerticalSpeedMS
				alt = rel
			}
			switch it.Command {
			case CmdNavLoiterTime:
				if it.Param1 > 0 && isFinite(it.Param1) {
					res.timeS += it.Param1
				}
			case CmdNavLoiterTurns:
				if it.Param1 > 0 && isFinite(it.Param1) && isFinite(it.Param3) {
					d := it.Param1 * 2 * math.Pi * math.Abs(it.Param3)
					res.pathM += d
					res.timeS += d / speed
				}
			case CmdNavLoiterUnlim:
				unbounded(fmt.Sprintf("item %d loiters without limit", i+1))
				next = len(p.Items)
			}
		}
		i = next
	}
	return res
}

// PathLengthM is the horizontal length in metres of the path the mission
// flies: from home (when known) through every position in execution order,
// DO_JUMP repeats included, loiter circles included, back home on RTL.
// Positions of 0,0 mean "where the vehicle is" and add nothing; a jump that
// repeats forever is counted once.
func PathLengthM(p *Plan) float64 {
	if p == nil {
		return 0
	}
	return simulate(p, 0).pathM
}

// EstimatedFlightTime estimates the mission duration at speedMS (0 or less:
// the plan's hover speed for multirotors, cruise speed otherwise, then
// 5 m/s or 15 m/s). Each leg takes the longer of its horizontal time and
// its climb at 2.5 m/s; loiter times, loiter turns, NAV_DELAY and
// DO_CHANGE_SPEED are honoured. Unending loops count once.
func EstimatedFlightTime(p *Plan, speedMS float64) time.Duration {
	if p == nil {
		return 0
	}
	return durationS(simulate(p, speedMS).timeS)
}
