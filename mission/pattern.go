package mission

import (
	"fmt"
	"math"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// maxPatternWaypoints bounds generated missions; autopilots store a few
// hundred to a few thousand items, and a typo in a spacing must not make
// millions.
const maxPatternWaypoints = 5000

// endpointNudgeM pulls survey transect ends this far inside the area so
// rounding never puts a waypoint on the wrong side of the boundary.
const endpointNudgeM = 0.05

// planeTakeoffPitchDeg is the NAV_TAKEOFF minimum pitch for fixed wings.
const planeTakeoffPitchDeg = 15

// RouteOptions are the settings every pattern shares.
type RouteOptions struct {
	// Vehicle decides the takeoff item: NAV_TAKEOFF for copters, planes and
	// generic vehicles, NAV_VTOL_TAKEOFF for VTOLs, none for rovers, boats
	// and subs. It is stored in the plan.
	Vehicle VehicleInfo
	// Home becomes PlannedHome (AltM above mean sea level) and the takeoff
	// position; without it the takeoff is placed at the first waypoint.
	Home *Position
	// TakeoffAltM is the takeoff altitude above home; 0 means the pattern
	// altitude.
	TakeoffAltM float64
	// SpeedMS, when positive, is stored as the plan's cruise and hover speed.
	SpeedMS float64
	// ReturnToLaunch appends NAV_RETURN_TO_LAUNCH.
	ReturnToLaunch bool
}

// PerimeterOptions configures Perimeter.
type PerimeterOptions struct {
	RouteOptions
	AltM      float64 // above home
	InsetM    float64 // distance inside the boundary; 0 flies the boundary itself
	Clockwise bool    // direction seen from above
	Laps      int     // 0 or 1 flies once; more repeat with a DO_JUMP
}

// SurveyOptions configures Survey.
type SurveyOptions struct {
	RouteOptions
	AltM     float64 // above home
	SpacingM float64 // distance between transects
	// AngleDeg is the transect heading, degrees clockwise from north
	// (0: north-south lines).
	AngleDeg float64
	// TurnaroundM extends each transect beyond the area so the vehicle is
	// lined up before it enters; these points lie outside the area.
	TurnaroundM float64
	// TriggerDistM, when positive, adds DO_SET_CAM_TRIGG_DIST before the
	// first transect and turns triggering off after the last.
	TriggerDistM float64
}

// OrbitOptions configures Orbit.
type OrbitOptions struct {
	RouteOptions
	AltM            float64 // above home
	RadiusM         float64
	Turns           int     // 0 or 1 flies once; more repeat with a DO_JUMP
	PointsPerTurn   int     // waypoints on the circle; 0 means 16, minimum 3
	Clockwise       bool    // direction seen from above
	StartBearingDeg float64 // where on the circle to start, from north
}

// CorridorOptions configures Corridor.
type CorridorOptions struct {
	RouteOptions
	AltM     float64 // above home
	WidthM   float64 // total corridor width; 0 flies the centre line only
	SpacingM float64 // distance between passes
}

func patternErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrPattern}, args...)...)
}

// checkAlt validates the pattern altitude.
func (ro RouteOptions) checkAlt(altM float64) error {
	if !isFinite(altM) || altM < 0 || (ro.Vehicle.Class().Flies() && altM == 0) {
		return patternErr("altitude %v m invalid (must be above 0 for flying vehicles)", altM)
	}
	if !isFinite(ro.TakeoffAltM) || ro.TakeoffAltM < 0 {
		return patternErr("takeoff altitude %v m invalid", ro.TakeoffAltM)
	}
	if h := ro.Home; h != nil {
		if err := checkLatLon(h.LatDeg, h.LonDeg); err != nil {
			return patternErr("home: %v", err)
		}
		if !isFinite(h.AltM) {
			return patternErr("home altitude is not a number")
		}
	}
	if !isFinite(ro.SpeedMS) || ro.SpeedMS < 0 {
		return patternErr("speed %v m/s invalid", ro.SpeedMS)
	}
	return nil
}

// routeBuilder assembles takeoff, waypoints and the RTL.
type routeBuilder struct {
	ro   RouteOptions
	altM float64
	plan *Plan
}

func newRoute(ro RouteOptions, altM float64) *routeBuilder {
	p := &Plan{Vehicle: ro.Vehicle, CruiseSpeedMS: ro.SpeedMS, HoverSpeedMS: ro.SpeedMS}
	if ro.Home != nil {
		h := *ro.Home
		p.PlannedHome = &h
	}
	return &routeBuilder{ro: ro, altM: altM, plan: p}
}

// yawParam is NAV_WAYPOINT param4: PX4 reads 0 as "face north" and NaN as
// "keep the heading mode"; ArduPilot ignores it.
func (b *routeBuilder) yawParam() float64 {
	if b.ro.Vehicle.Firmware == FirmwarePX4 {
		return math.NaN()
	}
	return 0
}

// takeoff adds the takeoff item when the vehicle flies; first is the first
// pattern position (used when there is no home).
func (b *routeBuilder) takeoff(first LatLon) {
	class := b.ro.Vehicle.Class()
	if !class.Flies() {
		return
	}
	pos := first
	if h := b.ro.Home; h != nil {
		pos = LatLon{LatDeg: h.LatDeg, LonDeg: h.LonDeg}
	}
	alt := b.ro.TakeoffAltM
	if alt == 0 {
		alt = b.altM
	}
	it := Item{Command: CmdNavTakeoff, Frame: FrameGlobalRelativeAlt, AutoContinue: true,
		Param4: b.yawParam(), LatDeg: pos.LatDeg, LonDeg: pos.LonDeg, AltM: alt}
	switch class {
	case ClassPlane:
		it.Param1 = planeTakeoffPitchDeg
	case ClassVTOL:
		it.Command = CmdNavVTOLTakeoff
	}
	b.plan.Items = append(b.plan.Items, it)
}

func (b *routeBuilder) waypoint(ll LatLon) {
	b.plan.Items = append(b.plan.Items, Item{Command: CmdNavWaypoint, Frame: FrameGlobalRelativeAlt, AutoContinue: true,
		Param4: b.yawParam(), LatDeg: ll.LatDeg, LonDeg: ll.LonDeg, AltM: b.altM})
}

func (b *routeBuilder) command(cmd Command, p1, p2 float64) {
	b.plan.Items = append(b.plan.Items, Item{Command: cmd, Frame: FrameMission, AutoContinue: true, Param1: p1, Param2: p2})
}

func (b *routeBuilder) finish() *Plan {
	if b.ro.ReturnToLaunch {
		b.command(CmdNavReturnToLaunch, 0, 0)
	}
	return b.plan
}

// loopPlan flies pts as a closed loop laps times: pts..., pts[0], then a DO_JUMP
// back to pts[1] repeated laps-1 times.
func loopPlan(ro RouteOptions, altM float64, pts []LatLon, laps int) (*Plan, error) {
	if laps < 0 {
		return nil, patternErr("laps %d negative", laps)
	}
	if len(pts)+3 > maxPatternWaypoints {
		return nil, patternErr("%d waypoints, more than %d", len(pts), maxPatternWaypoints)
	}
	b := newRoute(ro, altM)
	b.takeoff(pts[0])
	second := len(b.plan.Items) + 1
	for _, ll := range pts {
		b.waypoint(ll)
	}
	b.waypoint(pts[0])
	if laps > 1 {
		b.command(CmdDoJump, float64(second), float64(laps-1))
	}
	return b.finish(), nil
}

// outerRingXY projects the outer ring of an area polygon, without the
// closing vertex and without repeated vertices, and returns its projection.
func outerRingXY(area orb.Polygon) (orb.Ring, enu, error) {
	if len(area) == 0 {
		return nil, enu{}, patternErr("area has no rings")
	}
	if err := checkPolygon(area); err != nil {
		return nil, enu{}, patternErr("area: %v", err)
	}
	var sumLat, sumLon float64
	for _, p := range area[0] {
		sumLat += p[1]
		sumLon += p[0]
	}
	n := float64(len(area[0]))
	proj := newENU(LatLon{LatDeg: sumLat / n, LonDeg: sumLon / n})
	ring := ringXYFromOrb(proj, area[0])
	if len(ring) < 3 || math.Abs(signedArea(ring)) < 1 {
		return nil, enu{}, patternErr("area is degenerate (under 1 m²)")
	}
	return ring, proj, nil
}

// ringXYFromOrb projects an orb ring, dropping the closing vertex and
// consecutive duplicates.
func ringXYFromOrb(proj enu, r orb.Ring) orb.Ring {
	out := make(orb.Ring, 0, len(r))
	for _, p := range r {
		q := proj.xy(pointLL(p))
		if len(out) > 0 && out[len(out)-1] == q {
			continue
		}
		out = append(out, q)
	}
	if len(out) > 1 && out[0] == out[len(out)-1] {
		out = out[:len(out)-1]
	}
	return out
}

// insetRing offsets a counter-clockwise ring inwards by d metres (mitred
// corners) and checks that the result is a proper ring inside the original
// at least d from every edge.
func insetRing(r orb.Ring, d float64) (orb.Ring, error) {
	n := len(r)
	out := make(orb.Ring, n)
	for i := 0; i < n; i++ {
		prev, cur, next := r[(i+n-1)%n], r[i], r[(i+1)%n]
		n1 := leftNormal(prev, cur)
		n2 := leftNormal(cur, next)
		// Intersect the two offset edge lines.
		p1 := orb.Point{prev[0] + n1[0]*d, prev[1] + n1[1]*d}
		d1 := orb.Point{cur[0] - prev[0], cur[1] - prev[1]}
		p2 := orb.Point{cur[0] + n2[0]*d, cur[1] + n2[1]*d}
		d2 := orb.Point{next[0] - cur[0], next[1] - cur[1]}
		den := d1[0]*d2[1] - d1[1]*d2[0]
		if math.Abs(den) < 1e-9*math.Hypot(d1[0], d1[1])*math.Hypot(d2[0], d2[1]) {
			out[i] = orb.Point{cur[0] + n2[0]*d, cur[1] + n2[1]*d}
			continue
		}
		t := ((p2[0]-p1[0])*d2[1] - (p2[1]-p1[1])*d2[0]) / den
		out[i] = orb.Point{p1[0] + t*d1[0], p1[1] + t*d1[1]}
	}
	if signedArea(out) <= 0 {
		return nil, patternErr("inset %.1f m collapses the area", d)
	}
	for i := 0; i < n; i++ {
		if !ringContains(r, out[i]) {
			return nil, patternErr("inset %.1f m is too large for the area", d)
		}
		for j := 0; j < n; j++ {
			if distToSegment(r[j], r[(j+1)%n], out[i]) < d-0.01 {
				return nil, patternErr("inset %.1f m is too large for the area", d)
			}
		}
		// Non-adjacent edges must not cross.
		for j := i + 2; j < n; j++ {
			if i == 0 && j == n-1 {
				continue
			}
			if segmentsCross(out[i], out[(i+1)%n], out[j], out[(j+1)%n]) {
				return nil, patternErr("inset %.1f m folds the area over itself", d)
			}
		}
	}
	return out, nil
}

// leftNormal is the unit normal to the left of a->b.
func leftNormal(a, b orb.Point) orb.Point {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l := math.Hypot(dx, dy)
	if l == 0 {
		return orb.Point{}
	}
	return orb.Point{-dy / l, dx / l}
}

// Perimeter patrols the boundary of area (its outer ring), InsetM inside
// it, starting at the first vertex, Laps times.
func Perimeter(area orb.Polygon, opts PerimeterOptions) (*Plan, error) {
	if err := opts.checkAlt(opts.AltM); err != nil {
		return nil, err
	}
	if !isFinite(opts.InsetM) || opts.InsetM < 0 {
		return nil, patternErr("inset %v m invalid", opts.InsetM)
	}
	ring, proj, err := outerRingXY(area)
	if err != nil {
		return nil, err
	}
	reversed := signedArea(ring) < 0
	if reversed {
		ring = reverseRing(ring)
	}
	if opts.InsetM > 0 {
		if ring, err = insetRing(ring, opts.InsetM); err != nil {
			return nil, err
		}
	}
	// ring is counter-clockwise now; restore the input's start vertex and
	// pick the direction asked for.
	if reversed {
		ring = reverseRing(ring)
	}
	ccw := signedArea(ring) > 0
	if ccw == opts.Clockwise {
		ring = append(orb.Ring{ring[0]}, reverseRing(ring[1:])...)
	}
	pts := make([]LatLon, len(ring))
	for i, q := range ring {
		pts[i] = proj.latLon(q)
	}
	return loopPlan(opts.RouteOptions, opts.AltM, pts, opts.Laps)
}

func reverseRing(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		out[len(r)-1-i] = p
	}
	return out
}

// Survey covers area with parallel transects (a lawnmower pattern) SpacingM
// apart at heading AngleDeg, clipped to the area (holes respected), flown
// alternately in opposite directions. Every transect waypoint lies inside
// the area; only the optional turnaround points lie outside.
func Survey(area orb.Polygon, opts SurveyOptions) (*Plan, error) {
	if err := opts.checkAlt(opts.AltM); err != nil {
		return nil, err
	}
	if !isFinite(opts.SpacingM) || opts.SpacingM <= 0 {
		return nil, patternErr("spacing %v m invalid", opts.SpacingM)
	}
	if !isFinite(opts.TurnaroundM) || opts.TurnaroundM < 0 || !isFinite(opts.AngleDeg) ||
		!isFinite(opts.TriggerDistM) || opts.TriggerDistM < 0 {
		return nil, patternErr("turnaround, angle or trigger distance invalid")
	}
	outer, proj, err := outerRingXY(area)
	if err != nil {
		return nil, err
	}
	rings := []orb.Ring{outer}
	for _, hole := range area[1:] {
		if h := ringXYFromOrb(proj, hole); len(h) >= 3 {
			rings = append(rings, h)
		}
	}
	th := opts.AngleDeg * degToRad
	dir := orb.Point{math.Sin(th), math.Cos(th)}   // along the transects
	perp := orb.Point{math.Cos(th), -math.Sin(th)} // across them
	along := func(p orb.Point) float64 { return p[0]*dir[0] + p[1]*dir[1] }
	across := func(p orb.Point) float64 { return p[0]*perp[0] + p[1]*perp[1] }
	toLL := func(u, v float64) LatLon {
		return proj.latLon(orb.Point{u*dir[0] + v*perp[0], u*dir[1] + v*perp[1]})
	}

	vmin, vmax := math.Inf(1), math.Inf(-1)
	for _, p := range outer {
		v := across(p)
		vmin, vmax = math.Min(vmin, v), math.Max(vmax, v)
	}
	width := vmax - vmin
	lines := int(math.Floor(width/opts.SpacingM)) + 1
	if lines*2 > maxPatternWaypoints {
		return nil, patternErr("%d transects, too many; increase the spacing", lines)
	}
	v0 := vmin + (width-float64(lines-1)*opts.SpacingM)/2

	type seg struct{ u0, u1 float64 }
	var route [][2]float64 // (u, v) waypoints
	var transect []int     // route index of the first point of each transect
	var lineStarts []int
	for k := 0; k < lines; k++ {
		v := v0 + float64(k)*opts.SpacingM
		var us []float64
		for _, r := range rings {
			n := len(r)
			for i := 0; i < n; i++ {
				a, b := r[i], r[(i+1)%n]
				va, vb := across(a), across(b)
				if (va > v) != (vb > v) {
					t := (v - va) / (vb - va)
					us = append(us, along(a)+t*(along(b)-along(a)))
				}
			}
		}
		sort.Float64s(us)
		var segs []seg
		for i := 0; i+1 < len(us); i += 2 {
			s := seg{us[i] + endpointNudgeM, us[i+1] - endpointNudgeM}
			if s.u1-s.u0 > endpointNudgeM {
				segs = append(segs, s)
			}
		}
		if len(segs) == 0 {
			continue
		}
		if len(lineStarts)%2 == 1 {
			for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
				segs[i], segs[j] = segs[j], segs[i]
			}
			for i := range segs {
				segs[i] = seg{segs[i].u1, segs[i].u0}
			}
		}
		lineStarts = append(lineStarts, len(route))
		sign := 1.0
		if segs[0].u1 < segs[0].u0 {
			sign = -1
		}
		if opts.TurnaroundM > 0 {
			route = append(route, [2]float64{segs[0].u0 - sign*opts.TurnaroundM, v})
		}
		for _, s := range segs {
			transect = append(transect, len(route))
			route = append(route, [2]float64{s.u0, v}, [2]float64{s.u1, v})
		}
		if opts.TurnaroundM > 0 {
			route = append(route, [2]float64{segs[len(segs)-1].u1 + sign*opts.TurnaroundM, v})
		}
	}
	if len(route) == 0 {
		return nil, patternErr("no transect fits in the area")
	}
	if len(route)+4 > maxPatternWaypoints {
		return nil, patternErr("%d waypoints, more than %d; increase the spacing", len(route), maxPatternWaypoints)
	}
	b := newRoute(opts.RouteOptions, opts.AltM)
	b.takeoff(toLL(route[0][0], route[0][1]))
	firstTransect := transect[0]
	for i, q := range route {
		if i == firstTransect && opts.TriggerDistM > 0 {
			b.command(CmdDoSetCamTriggDist, opts.TriggerDistM, 0)
		}
		b.waypoint(toLL(q[0], q[1]))
	}
	if opts.TriggerDistM > 0 {
		b.command(CmdDoSetCamTriggDist, 0, 0)
	}
	return b.finish(), nil
}

// Orbit circles center ({lon, lat}) at RadiusM with PointsPerTurn
// waypoints, Turns times. The points are computed on the sphere, so they
// sit at the radius to the centimetre.
func Orbit(center orb.Point, opts OrbitOptions) (*Plan, error) {
	if err := opts.checkAlt(opts.AltM); err != nil {
		return nil, err
	}
	if err := checkPoint(center); err != nil {
		return nil, patternErr("center: %v", err)
	}
	if !isFinite(opts.RadiusM) || opts.RadiusM <= 0 || opts.RadiusM > 100e3 {
		return nil, patternErr("radius %v m invalid", opts.RadiusM)
	}
	if !isFinite(opts.StartBearingDeg) {
		return nil, patternErr("start bearing invalid")
	}
	n := opts.PointsPerTurn
	switch {
	case n == 0:
		n = 16
	case n < 3:
		return nil, patternErr("%d points per turn, need at least 3", n)
	}
	if n > maxPatternWaypoints {
		return nil, patternErr("%d points per turn, more than %d", n, maxPatternWaypoints)
	}
	step := 360 / float64(n)
	if !opts.Clockwise {
		step = -step
	}
	pts := make([]LatLon, n)
	for i := range pts {
		pts[i] = pointLL(geo.PointAtBearingAndDistance(center, opts.StartBearingDeg+step*float64(i), opts.RadiusM))
	}
	return loopPlan(opts.RouteOptions, opts.AltM, pts, opts.Turns)
}

// Corridor flies passes parallel to line ({lon, lat} vertices) covering
// WidthM, SpacingM apart and centred on the line, alternating direction.
// Corners are mitred, or bevelled where the turn is sharp.
func Corridor(line orb.LineString, opts CorridorOptions) (*Plan, error) {
	if err := opts.checkAlt(opts.AltM); err != nil {
		return nil, err
	}
	if err := checkLine(line); err != nil {
		return nil, patternErr("line: %v", err)
	}
	if !isFinite(opts.WidthM) || opts.WidthM < 0 {
		return nil, patternErr("width %v m invalid", opts.WidthM)
	}
	if opts.WidthM > 0 && (!isFinite(opts.SpacingM) || opts.SpacingM <= 0) {
		return nil, patternErr("spacing %v m invalid", opts.SpacingM)
	}
	proj := newENU(pointLL(line[0]))
	var xy []orb.Point
	for _, p := range line {
		q := proj.xy(pointLL(p))
		if len(xy) > 0 && math.Hypot(q[0]-xy[len(xy)-1][0], q[1]-xy[len(xy)-1][1]) < 0.01 {
			continue
		}
		xy = append(xy, q)
	}
	if len(xy) < 2 {
		return nil, patternErr("line has no length")
	}
	passes := 1
	if opts.WidthM > 0 {
		passes = int(math.Floor(opts.WidthM/opts.SpacingM)) + 1
	}
	if passes*len(xy)*2+3 > maxPatternWaypoints {
		return nil, patternErr("%d passes of %d points, too many; increase the spacing", passes, len(xy))
	}
	var route []LatLon
	for k := 0; k < passes; k++ {
		off := -float64(passes-1)*opts.SpacingM/2 + float64(k)*opts.SpacingM
		if passes == 1 {
			off = 0
		}
		pass := offsetPolyline(xy, off)
		if k%2 == 1 {
			for i, j := 0, len(pass)-1; i < j; i, j = i+1, j-1 {
				pass[i], pass[j] = pass[j], pass[i]
			}
		}
		for _, q := range pass {
			route = append(route, proj.latLon(q))
		}
	}
	b := newRoute(opts.RouteOptions, opts.AltM)
	b.takeoff(route[0])
	for _, ll := range route {
		b.waypoint(ll)
	}
	return b.finish(), nil
}

// maxMiter is the longest mitre, as a multiple of the offset, before a
// corner is bevelled instead.
const maxMiter = 2.0

// offsetPolyline shifts a polyline sideways by off metres (positive: left).
func offsetPolyline(pts []orb.Point, off float64) []orb.Point {
	if off == 0 {
		return append([]orb.Point(nil), pts...)
	}
	n := len(pts)
	out := make([]orb.Point, 0, n+4)
	shift := func(p, nrm orb.Point) orb.Point { return orb.Point{p[0] + nrm[0]*off, p[1] + nrm[1]*off} }
	out = append(out, shift(pts[0], leftNormal(pts[0], pts[1])))
	for i := 1; i < n-1; i++ {
		n1, n2 := leftNormal(pts[i-1], pts[i]), leftNormal(pts[i], pts[i+1])
		bis := orb.Point{n1[0] + n2[0], n1[1] + n2[1]}
		cosHalf := math.Hypot(bis[0], bis[1]) / 2 // cos of half the turn
		if cosHalf < 1/maxMiter {
			out = append(out, shift(pts[i], n1), shift(pts[i], n2))
			continue
		}
		scale := 1 / (2 * cosHalf * cosHalf) // mitre length / |off| / |bis|
		out = append(out, orb.Point{pts[i][0] + bis[0]*scale*off, pts[i][1] + bis[1]*scale*off})
	}
	out = append(out, shift(pts[n-1], leftNormal(pts[n-2], pts[n-1])))
	return out
}
